"""Orders recorded at the same time never use a voucher, a code or a usage limit twice.

The recordOrder calls go through the API at once (asyncio.gather), as a busy shop's would.
Marked ``concurrency``: it runs on PostgreSQL and is skipped on SQLite, where one writer
at a time could not lose these races.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from loyalty_gql.api.core.ids import from_global_id
from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import (
    CouponCodeRow,
    LedgerEntryRow,
    OfferCustomerUseRow,
    OfferRow,
    OrderOfferRow,
    OrderRow,
    VoucherRow,
)
from loyalty_gql.services.points.verify import verify_ledger
from tests.api.helpers import create_site, register
from tests.conftest import GraphQLClient

pytestmark = pytest.mark.concurrency

RECORD = """
mutation($input: RecordOrderInput!) {
  recordOrder(input: $input) {
    order {
      orderId pointsEarned
      quote {
        total { amount }
        appliedOffers { offerId origin code amount { amount } }
        rejectedOffers { offerId origin code reason }
      }
    }
    userErrors { field code message }
  }
}
"""
CREATE = """
mutation($input: CreateOfferInput!) {
  createOffer(input: $input) { offer { id } userErrors { field code message } }
}
"""
PUBLISH = """
mutation($input: OfferActionInput!) { publishOffer(input: $input) { userErrors { code } } }
"""
GENERATE = """
mutation($input: GenerateCouponCodesInput!) { generateCouponCodes(input: $input) { codes } }
"""
CANCEL = """
mutation($input: OrderInput!) { cancelOrder(input: $input) { userErrors { field code } } }
"""
GRANT = """
mutation($input: GrantPointsInput!) { grantPoints(input: $input) { userErrors { code } } }
"""
REDEEM = """
mutation($input: RedeemOfferInput!) {
  redeemOffer(input: $input) { voucher { code } userErrors { code message } }
}
"""
LINES = [{"productId": "p1", "quantity": 1, "unitPrice": "40.00", "category": "shoes"}]


class Shop:
    """A site, its tokens and what the tests need to set it up."""

    def __init__(self, gql: GraphQLClient, site_id: str) -> None:
        self.gql = gql
        self.site_id = site_id
        self.admin = gql.token("admin", "shop-a")
        self.service = gql.token("service", "shop-a")

    async def offer(self, kind: str, **terms: Any) -> str:
        body = await self.gql.execute(
            CREATE,
            {"input": {"siteId": self.site_id, "kind": kind, "terms": terms}},
            token=self.admin,
        )
        assert body["data"]["createOffer"]["userErrors"] == []
        offer_id: str = body["data"]["createOffer"]["offer"]["id"]
        await self.gql.execute(PUBLISH, {"input": {"offerId": offer_id}}, token=self.admin)
        return offer_id

    async def record(self, order_id: str, customer_id: str | None, **basket: Any) -> dict[str, Any]:
        customer = {"customerId": customer_id} if customer_id else {}
        body = await self.gql.execute(
            RECORD,
            {"input": {"siteId": self.site_id, "orderId": order_id, "lines": LINES,
                       **customer, **basket}},
            token=self.service,
        )  # fmt: skip
        payload: dict[str, Any] = body["data"]["recordOrder"]
        assert payload["userErrors"] == [], payload
        order: dict[str, Any] = payload["order"]
        return order


async def _shop(gql: GraphQLClient) -> Shop:
    return Shop(gql, await create_site(gql, "shop-a"))


def _uses_of(order: dict[str, Any], code: str) -> bool:
    return any(a["code"] == code for a in order["quote"]["appliedOffers"])


def _refusals_of(order: dict[str, Any], code: str) -> list[str]:
    return [r["reason"] for r in order["quote"]["rejectedOffers"] if r["code"] == code]


async def _scalar(db: Database, query: Any) -> int:
    async with db.read_sessions() as session:
        return int(await session.scalar(query) or 0)


async def test_one_voucher_in_two_concurrent_orders_is_used_once(
    gql: GraphQLClient, db: Database
) -> None:
    # given: ann owns one 5.00 voucher
    shop = await _shop(gql)
    ann = (await register(gql, "shop-a", shop.site_id, "ann", enroll=True))["id"]
    await gql.execute(
        GRANT, {"input": {"customerId": ann, "points": 100, "reason": "t"}}, token=shop.admin
    )
    reward = await shop.offer(
        "REWARD", name="5 off", valueType="FIXED_AMOUNT", value="5", loyaltyPrice=100
    )
    bought = await gql.execute(
        REDEEM,
        {"input": {"offerId": reward}},
        token=gql.token("customer", "shop-a", subject="ann"),
    )
    code = bought["data"]["redeemOffer"]["voucher"]["code"]
    # when: two orders use it at the same moment
    orders = await asyncio.gather(
        shop.record("o-1", ann, vouchers=[code]), shop.record("o-2", ann, vouchers=[code])
    )
    # then: one order has it, the other was recorded without it
    winners = [o for o in orders if _uses_of(o, code)]
    losers = [o for o in orders if not _uses_of(o, code)]
    assert len(winners) == 1
    assert len(losers) == 1
    assert winners[0]["quote"]["total"]["amount"] == "35.00"
    assert losers[0]["quote"]["total"]["amount"] == "40.00"
    assert _refusals_of(losers[0], code) == ["ALREADY_USED"]
    assert _refusals_of(winners[0], code) == []
    assert sorted(o["pointsEarned"] for o in orders) == [350, 400]
    async with db.read_sessions() as session:
        statuses = list(await session.scalars(select(VoucherRow.status)))
        used_in = await session.scalar(
            select(func.count())
            .select_from(OrderOfferRow)
            .where(OrderOfferRow.voucher_id.is_not(None))
        )
    assert statuses == ["USED"]
    assert used_in == 1
    assert await verify_ledger(db) == []


async def test_a_coupon_with_5_uses_is_used_by_exactly_5_of_20_concurrent_orders(
    gql: GraphQLClient, db: Database
) -> None:
    # given
    shop = await _shop(gql)
    coupon = await shop.offer(
        "COUPON", name="Ten", valueType="PERCENT", value="10", couponCode="TEN", maxUses=5
    )
    # when: 20 guests use the code at once
    orders = await asyncio.gather(
        *(shop.record(f"o-{n}", None, couponCodes=["TEN"]) for n in range(20))
    )
    # then
    with_it = [o for o in orders if _uses_of(o, "TEN")]
    without = [o for o in orders if not _uses_of(o, "TEN")]
    assert len(with_it) == 5
    assert {o["quote"]["total"]["amount"] for o in with_it} == {"36.00"}
    assert {o["quote"]["total"]["amount"] for o in without} == {"40.00"}
    assert all(_refusals_of(o, "TEN") == ["LIMIT_REACHED"] for o in without)
    _, pk = from_global_id(coupon)
    assert await _scalar(db, select(OfferRow.uses).where(OfferRow.id == pk)) == 5
    assert await _scalar(db, select(func.count()).select_from(OrderRow)) == 20
    assert (
        await _scalar(
            db, select(func.count()).select_from(OrderOfferRow).where(OrderOfferRow.offer_id == pk)
        )
        == 5
    )


async def test_a_single_use_code_in_5_concurrent_orders_is_used_once(
    gql: GraphQLClient, db: Database
) -> None:
    # given
    shop = await _shop(gql)
    coupon = await shop.offer("COUPON", name="Once", valueType="FIXED_AMOUNT", value="7.50")
    body = await gql.execute(GENERATE, {"input": {"offerId": coupon, "count": 3}}, token=shop.admin)
    code, *others = body["data"]["generateCouponCodes"]["codes"]
    # when
    orders = await asyncio.gather(
        *(shop.record(f"o-{n}", None, couponCodes=[code.lower()]) for n in range(5))
    )
    # then
    with_it = [o for o in orders if _uses_of(o, code)]
    assert len(with_it) == 1
    assert with_it[0]["quote"]["total"]["amount"] == "32.50"
    without = [o for o in orders if not _uses_of(o, code)]
    assert all(_refusals_of(o, code) == ["ALREADY_USED"] for o in without)
    async with db.read_sessions() as session:
        rows = await session.execute(select(CouponCodeRow.code, CouponCodeRow.used_at))
        used = {c: u is not None for c, u in rows}
    assert used == {code: True, **dict.fromkeys(others, False)}
    _, pk = from_global_id(coupon)
    assert await _scalar(db, select(OfferRow.uses).where(OfferRow.id == pk)) == 1


@pytest.mark.parametrize("enrolled", [True, False], ids=["enrolled", "not-enrolled"])
async def test_a_per_customer_limit_holds_for_concurrent_orders_of_one_customer(
    gql: GraphQLClient, db: Database, enrolled: bool
) -> None:
    # given: a code good for 2 uses per customer; a registered customer (enrolled or not:
    # both may use codes, only the enrolled earn points)
    shop = await _shop(gql)
    coupon = await shop.offer(
        "COUPON", name="Twice", valueType="PERCENT", value="10", couponCode="TWICE",
        maxUsesPerCustomer=2,
    )  # fmt: skip
    customer = (await register(gql, "shop-a", shop.site_id, "ann", enroll=enrolled))["id"]
    # when: the customer places 6 orders with the code at once
    orders = await asyncio.gather(
        *(shop.record(f"o-{n}", customer, couponCodes=["TWICE"]) for n in range(6))
    )
    # then: 2 of them got it
    assert sum(_uses_of(o, "TWICE") for o in orders) == 2
    assert sorted(r for o in orders for r in _refusals_of(o, "TWICE")) == ["LIMIT_REACHED"] * 4
    _, pk = from_global_id(coupon)
    async with db.read_sessions() as session:
        per_customer = list(
            await session.scalars(
                select(OfferCustomerUseRow.uses).where(OfferCustomerUseRow.offer_id == pk)
            )
        )
    assert per_customer == [2]
    assert await _scalar(db, select(OfferRow.uses).where(OfferRow.id == pk)) == 2


async def test_one_order_id_sent_20_times_at_once_is_recorded_once(
    gql: GraphQLClient, db: Database
) -> None:
    # given
    shop = await _shop(gql)
    ann = (await register(gql, "shop-a", shop.site_id, "ann", enroll=True))["id"]
    await shop.offer(
        "COUPON", name="Ten", valueType="PERCENT", value="10", couponCode="TEN", maxUses=3
    )
    # when: the shop retries one order 20 times at once
    orders = await asyncio.gather(
        *(shop.record("o-1", ann, couponCodes=["TEN"]) for _ in range(20))
    )
    # then: one order, one use of the code, its points once
    assert all(o == orders[0] for o in orders)
    assert orders[0]["pointsEarned"] == 360
    assert await _scalar(db, select(func.count()).select_from(OrderRow)) == 1
    assert await _scalar(db, select(OfferRow.uses).where(OfferRow.coupon_code == "TEN")) == 1
    assert await _scalar(db, select(func.count()).select_from(LedgerEntryRow)) == 1
    assert await verify_ledger(db) == []


async def test_orders_recorded_while_others_are_cancelled_all_go_through(
    gql: GraphQLClient, db: Database
) -> None:
    # given: a promotion applied first (priority 10) and a limited coupon after it; 6 orders
    # used both
    shop = await _shop(gql)
    promo = await shop.offer("PROMOTION", name="Five", valueType="PERCENT", value="5", priority=10)
    coupon = await shop.offer(
        "COUPON", name="Ten", valueType="PERCENT", value="10", couponCode="TEN", maxUses=1000
    )
    for n in range(6):
        await shop.record(f"old-{n}", None, couponCodes=["TEN"])

    async def call(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        return await gql.execute(query, variables, token=shop.service, expect_errors=True)

    # when: the 6 are cancelled while 6 new orders use the same offers
    calls = []
    for n in range(6):
        new = {"siteId": shop.site_id, "orderId": f"new-{n}", "lines": LINES,
               "couponCodes": ["TEN"]}  # fmt: skip
        calls.append(call(CANCEL, {"input": {"siteId": shop.site_id, "orderId": f"old-{n}"}}))
        calls.append(call(RECORD, {"input": new}))
    results = await asyncio.gather(*calls)
    # then: every call succeeded, and the counters add up
    assert [r.get("errors") for r in results if r.get("errors")] == []
    assert all(not next(iter(r["data"].values()))["userErrors"] for r in results)
    for offer in (promo, coupon):
        _, pk = from_global_id(offer)
        assert await _scalar(db, select(OfferRow.uses).where(OfferRow.id == pk)) == 6
