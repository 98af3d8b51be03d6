"""What the insight tests share: the queries, moments of 2026, a shop on a timeline,
and a migration round trip."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.migrate import downgrade, upgrade
from tests.conftest import DatabaseBackend
from tests.support.clock import Clock
from tests.support.shop import Shop

STATS = """
query($s: ID!, $from: Date!, $to: Date!) {
  programStats(siteId: $s, from: $from, to: $to) {
    from to members newMembers activeMembers
    pointsIssued pointsRedeemed pointsExpired pointsOutstanding
    liability { amount currencyCode } redemptionRate
    memberOrders { ...G } guestOrders { ...G }
    offers { offer { name } orders uses discountGiven { amount } }
    tiers { tier { name } members }
  }
}
fragment G on OrderStats {
  orders customers repeatCustomers repeatPurchaseRate
  revenue { amount } averageOrderValue { amount } discount { amount }
}
"""
SERIES = """
query($s: ID!, $from: Date!, $to: Date!, $m: InsightMetric!) {
  programSeries(siteId: $s, from: $from, to: $to, metric: $m) { day value }
}
"""
INSIGHT = """
query($id: ID!) {
  customer(id: $id) {
    insight {
      orderCount firstOrderAt lastOrderAt averageDaysBetweenOrders
      averageOrderValue { amount } totalSpent { amount currencyCode }
      topCategories { category quantity spent { amount } }
      topProducts { productId quantity spent { amount } }
    }
  }
}
"""
PERFORMANCE = """
query($id: ID!) {
  offer(id: $id) {
    performance {
      redemptions uniqueCustomers discountGiven { amount } ordersInfluenced
      revenueInfluenced { amount }
    }
  }
}
"""


def at(month: int, day: int, hour: int = 10) -> datetime:
    """A moment of 2026, UTC."""
    return datetime(2026, month, day, hour, tzinfo=UTC)


class Timeline:
    """A shop whose orders happen at given moments: each step sets the clock first."""

    def __init__(self, shop: Shop, clock: Clock) -> None:
        self.shop = shop
        self.clock = clock

    async def order(
        self, when: datetime, order_id: str, customer: str | None, *lines: dict[str, Any],
        **extra: Any,
    ) -> dict[str, Any]:  # fmt: skip
        """recordOrder at ``when``; the order."""
        self.clock.now = when
        payload = await self.shop.record(order_id, customer, lines=list(lines), **extra)
        assert payload["userErrors"] == [], payload
        order: dict[str, Any] = payload["order"]
        return order

    async def step(
        self, when: datetime, mutation: str, order_id: str, **extra: Any
    ) -> dict[str, Any]:
        """completeOrder, cancelOrder or refundOrder at ``when``; the order."""
        self.clock.now = when
        payload = await self.shop.step(mutation, order_id, **extra)
        assert payload["userErrors"] == [], payload
        order: dict[str, Any] = payload["order"]
        return order


async def migrate_round_trip(database: Database, backend: DatabaseBackend) -> None:
    """Migrate the test database back to before insight (0009), then to the head again."""
    await database.engine.dispose()
    try:
        await downgrade(backend.url, "0009")
    finally:
        await upgrade(backend.url)
        await database.engine.dispose()  # no connection keeps statements of the old tables
