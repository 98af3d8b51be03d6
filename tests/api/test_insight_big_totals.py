"""Totals beyond 32 bits: a site's points add up past 2^31-1 (BigInt), while one customer
holds at most MAX_POINTS_BALANCE points, so each balance stays an Int."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.domain.points import MAX_POINTS_BALANCE, MAX_POINTS_PER_ENTRY
from loyalty_gql.services.points.expiry import expire_points
from loyalty_gql.services.points.verify import verify_ledger
from tests.api.insight_helpers import SERIES, STATS
from tests.conftest import GraphQLClient
from tests.support.clock import Clock
from tests.support.operations import CANCEL_ORDER, GRANT_POINTS, RECORD_ACTIVITY
from tests.support.shop import Shop, line

BALANCE = """
query($id: ID!) {
  customer(id: $id) { balance { available pending lifetimeEarned lifetimeExpired } }
}
"""
MARCH = {"from": "2026-03-01", "to": "2026-03-31"}
MARCH_AND_APRIL = {"from": "2026-03-01", "to": "2026-04-30"}


async def _fill(shop: Shop, external_id: str) -> None:
    """Grant the customer points up to the cap, in the largest grants allowed."""
    await shop.register(external_id, enroll=True)
    for _ in range(MAX_POINTS_BALANCE // MAX_POINTS_PER_ENTRY):
        await shop.grant(external_id, MAX_POINTS_PER_ENTRY)


async def _grant(shop: Shop, external_id: str, points: int) -> list[dict[str, Any]]:
    body = await shop.gql.execute(
        GRANT_POINTS,
        {"input": {"customerId": shop.customers[external_id], "points": points,
                   "reason": "test"}},
        token=shop.admin,
    )  # fmt: skip
    errors: list[dict[str, Any]] = body["data"]["grantPoints"]["userErrors"]
    return errors


async def _balance(shop: Shop, external_id: str) -> dict[str, Any]:
    body = await shop.gql.execute(BALANCE, {"id": shop.customers[external_id]}, token=shop.admin)
    assert "errors" not in body, body
    balance: dict[str, Any] = body["data"]["customer"]["balance"]
    return balance


async def test_program_stats_of_three_billion_points_outstanding_and_expired(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given: three customers at the cap of 1,000,000,000 points each, on 2 March
    clock.now = datetime(2026, 3, 2, 10, tzinfo=UTC)
    shop = await Shop.open(gql, pointValue="0.01", validityPolicy="FIXED_DAYS", validityDays=30)
    for name in ("ann", "bob", "cid"):
        await _fill(shop, name)

    # when: March's numbers
    body = await gql.execute(STATS, {"s": shop.site_id, **MARCH}, token=shop.admin)

    # then: 3,000,000,000 points issued and held (beyond Int's 2,147,483,647), worth
    # 30,000,000.00 EUR at 0.01 a point
    assert "errors" not in body, body
    stats = body["data"]["programStats"]
    assert (stats["pointsIssued"], stats["pointsOutstanding"]) == (3_000_000_000, 3_000_000_000)
    assert (stats["pointsRedeemed"], stats["pointsExpired"]) == (0, 0)
    assert stats["liability"] == {"amount": "30000000.00", "currencyCode": "EUR"}
    assert stats["members"] == 3
    assert await _balance(shop, "ann") == {
        "available": 1_000_000_000, "pending": 0, "lifetimeEarned": 1_000_000_000,
        "lifetimeExpired": 0,
    }  # fmt: skip

    # when: the points, valid through 1 April (30 days), expire on 2 April
    clock.now = datetime(2026, 4, 2, 11, tzinfo=UTC)
    assert await expire_points(db, clock=clock) == 3
    body = await gql.execute(STATS, {"s": shop.site_id, **MARCH_AND_APRIL}, token=shop.admin)
    series = await gql.execute(
        SERIES, {"s": shop.site_id, **MARCH_AND_APRIL, "m": "POINTS_EXPIRED"}, token=shop.admin
    )

    # then: 3,000,000,000 expired, none held; the day's series value is exact too
    stats = body["data"]["programStats"]
    assert (stats["pointsIssued"], stats["pointsExpired"]) == (3_000_000_000, 3_000_000_000)
    assert stats["pointsOutstanding"] == 0
    days = {d["day"]: d["value"] for d in series["data"]["programSeries"]}
    assert days["2026-04-02"] == "3000000000"
    assert (await _balance(shop, "bob"))["lifetimeExpired"] == 1_000_000_000
    assert await verify_ledger(db) == []


async def test_a_customer_holds_at_most_a_billion_points_whatever_gives_them(
    gql: GraphQLClient, clock: Clock
):
    # given: ann holds 999,999,990 points; orders earn 1 point per euro, pending
    clock.now = datetime(2026, 3, 2, 10, tzinfo=UTC)
    shop = await Shop.open(gql, earnRate="1", orderPointsPending=True)
    await shop.register("ann", enroll=True)
    for _ in range(9):
        await shop.grant("ann", MAX_POINTS_PER_ENTRY)
    assert await _grant(shop, "ann", MAX_POINTS_PER_ENTRY - 10) == []

    # when: an order earns 10 pending points: 1,000,000,000 held, the cap exactly
    first = await shop.record("o-1", "ann", lines=[line("p", 1, "10.00")])
    assert first["userErrors"] == [], first

    # then: one more point, by a grant or by an order, is refused and changes nothing
    assert await _grant(shop, "ann", 1) == [{"code": "BALANCE_LIMIT_REACHED"}]
    second = await shop.record("o-2", "ann", lines=[line("p", 1, "1.00")])
    assert [e["code"] for e in second["userErrors"]] == ["BALANCE_LIMIT_REACHED"]
    assert second["order"] is None
    assert await _balance(shop, "ann") == {
        "available": 999_999_990, "pending": 10, "lifetimeEarned": 999_999_990,
        "lifetimeExpired": 0,
    }  # fmt: skip

    # when: 10 points are taken away, 10 more fit again
    assert await _grant(shop, "ann", -10) == []
    assert await _grant(shop, "ann", 10) == []
    assert (await _balance(shop, "ann"))["available"] == 999_999_990


async def test_at_the_cap_an_activity_and_a_cancel_giving_points_back_are_refused(
    gql: GraphQLClient, clock: Clock
):
    # given: ann paid 100 points on an order, then was granted up to 999,999,998
    clock.now = datetime(2026, 3, 2, 10, tzinfo=UTC)
    shop = await Shop.open(
        gql, earnRate="0", pointValue="0.01", newsletterSignupPoints=5, orderPointsPending=False
    )
    await shop.register("ann", enroll=True)
    await shop.grant("ann", 100)
    paid = await shop.record("o-1", "ann", lines=[line("p", 1, "10.00")], payWithPoints=100)
    assert paid["userErrors"] == [], paid
    for _ in range(9):
        await shop.grant("ann", MAX_POINTS_PER_ENTRY)
    assert await _grant(shop, "ann", MAX_POINTS_PER_ENTRY - 2) == []

    # when: the newsletter sign-up (5 points) and cancelling the order (100 back)
    body = await gql.execute(
        RECORD_ACTIVITY,
        {"input": {"customerId": shop.customers["ann"], "activity": "NEWSLETTER_SIGNUP"}},
        token=shop.service,
    )
    cancel = await shop.step(CANCEL_ORDER, "o-1")

    # then: both would go beyond 1,000,000,000: refused, the order stays as it was
    errors = body["data"]["recordActivity"]["userErrors"]
    assert [e["code"] for e in errors] == ["BALANCE_LIMIT_REACHED"]
    assert [e["code"] for e in cancel["userErrors"]] == ["BALANCE_LIMIT_REACHED"]
    assert (await shop.order("o-1"))["status"] == "PLACED"
    assert (await _balance(shop, "ann"))["available"] == 999_999_998
    # and with 100 points removed first, the cancel gives them back: 999,999,998 again
    assert await _grant(shop, "ann", -100) == []
    cancel = await shop.step(CANCEL_ORDER, "o-1")
    assert cancel["userErrors"] == [], cancel
    assert (await _balance(shop, "ann"))["available"] == 999_999_998
