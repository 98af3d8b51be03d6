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
    OfferUseCountRow,
    OrderOfferRow,
    OrderRow,
    VoucherRow,
)
from loyalty_gql.services.points.verify import verify_ledger
from tests.conftest import GraphQLClient
from tests.support.operations import CANCEL_ORDER, RECORD_ORDER
from tests.support.shop import Shop

pytestmark = pytest.mark.concurrency

LINES = [{"productId": "p1", "quantity": 1, "unitPrice": "40.00", "category": "shoes"}]


async def _shop(gql: GraphQLClient) -> Shop:
    return await Shop.open(gql)


async def _record(shop: Shop, order_id: str, customer: str | None, **basket: Any) -> dict[str, Any]:
    """recordOrder of LINES, which must be recorded; the order."""
    payload = await shop.record(order_id, customer, lines=LINES, **basket)
    assert payload["userErrors"] == [], payload
    order: dict[str, Any] = payload["order"]
    return order


def _uses_of(order: dict[str, Any], code: str) -> bool:
    return any(a["code"] == code for a in order["quote"]["appliedOffers"])


def _refusals_of(order: dict[str, Any], code: str) -> list[str]:
    return [r["reason"] for r in order["quote"]["rejectedOffers"] if r["code"] == code]


def _uses() -> Any:
    """An offer's uses: its row's and, while it has no limit, its shards' (orders count
    there, db/models OfferUseCountRow)."""
    shards = (
        select(func.coalesce(func.sum(OfferUseCountRow.uses), 0))
        .where(OfferUseCountRow.offer_id == OfferRow.id)
        .scalar_subquery()
    )
    return select(OfferRow.uses + shards)


async def _scalar(db: Database, query: Any) -> int:
    async with db.read_sessions() as session:
        return int(await session.scalar(query) or 0)


async def test_one_voucher_in_two_concurrent_orders_is_used_once(
    gql: GraphQLClient, db: Database
) -> None:
    # given: ann owns one 5.00 voucher
    shop = await _shop(gql)
    await shop.register("ann", enroll=True)
    await shop.grant("ann", 100)
    reward = await shop.offer(
        "REWARD", name="5 off", valueType="FIXED_AMOUNT", value="5", loyaltyPrice=100
    )
    code = await shop.voucher("ann", reward)
    # when: two orders use it at the same moment
    orders = await asyncio.gather(
        _record(shop, "o-1", "ann", vouchers=[code]), _record(shop, "o-2", "ann", vouchers=[code])
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
        *(_record(shop, f"o-{n}", None, couponCodes=["TEN"]) for n in range(20))
    )
    # then
    with_it = [o for o in orders if _uses_of(o, "TEN")]
    without = [o for o in orders if not _uses_of(o, "TEN")]
    assert len(with_it) == 5
    assert {o["quote"]["total"]["amount"] for o in with_it} == {"36.00"}
    assert {o["quote"]["total"]["amount"] for o in without} == {"40.00"}
    assert all(_refusals_of(o, "TEN") == ["LIMIT_REACHED"] for o in without)
    _, pk = from_global_id(coupon)
    assert await _scalar(db, _uses().where(OfferRow.id == pk)) == 5
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
    code, *others = await shop.codes(coupon, 3)
    # when
    orders = await asyncio.gather(
        *(_record(shop, f"o-{n}", None, couponCodes=[code.lower()]) for n in range(5))
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
    assert await _scalar(db, _uses().where(OfferRow.id == pk)) == 1


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
    await shop.register("ann", enroll=enrolled)
    # when: the customer places 6 orders with the code at once
    orders = await asyncio.gather(
        *(_record(shop, f"o-{n}", "ann", couponCodes=["TWICE"]) for n in range(6))
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
    assert await _scalar(db, _uses().where(OfferRow.id == pk)) == 2


async def test_one_order_id_sent_20_times_at_once_is_recorded_once(
    gql: GraphQLClient, db: Database
) -> None:
    # given
    shop = await _shop(gql)
    await shop.register("ann", enroll=True)
    await shop.offer(
        "COUPON", name="Ten", valueType="PERCENT", value="10", couponCode="TEN", maxUses=3
    )
    # when: the shop retries one order 20 times at once
    orders = await asyncio.gather(
        *(_record(shop, "o-1", "ann", couponCodes=["TEN"]) for _ in range(20))
    )
    # then: one order, one use of the code, its points once
    assert all(o == orders[0] for o in orders)
    assert orders[0]["pointsEarned"] == 360
    assert await _scalar(db, select(func.count()).select_from(OrderRow)) == 1
    assert await _scalar(db, _uses().where(OfferRow.coupon_code == "TEN")) == 1
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
        await _record(shop, f"old-{n}", None, couponCodes=["TEN"])

    async def call(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        return await gql.execute(query, variables, token=shop.service, expect_errors=True)

    # when: the 6 are cancelled while 6 new orders use the same offers
    calls = []
    for n in range(6):
        new = {"siteId": shop.site_id, "orderId": f"new-{n}", "lines": LINES,
               "couponCodes": ["TEN"]}  # fmt: skip
        calls.append(call(CANCEL_ORDER, {"input": {"siteId": shop.site_id, "orderId": f"old-{n}"}}))
        calls.append(call(RECORD_ORDER, {"input": new}))
    results = await asyncio.gather(*calls)
    # then: every call succeeded, and the counters add up
    assert [r.get("errors") for r in results if r.get("errors")] == []
    assert all(not next(iter(r["data"].values()))["userErrors"] for r in results)
    for offer in (promo, coupon):
        _, pk = from_global_id(offer)
        assert await _scalar(db, _uses().where(OfferRow.id == pk)) == 6
