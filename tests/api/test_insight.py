"""Insight over a scripted month: every number of programStats, programSeries, a
customer's insight and an offer's performance, checked exactly.

The month is November 2026. Before it (October) ann orders once and bob is granted
points; in it members join, leave, order, redeem, cancel, refund, and points expire;
after it (December) more happens, which must not leak into November's numbers.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from loyalty_gql.db.engine import Database
from loyalty_gql.services.points.expiry import expire_points
from loyalty_gql.services.points.verify import verify_ledger
from tests.api.insight_helpers import (
    INSIGHT,
    PERFORMANCE,
    SERIES,
    STATS,
    Timeline,
    at,
    migrate_round_trip,
)
from tests.conftest import DatabaseBackend, GraphQLClient
from tests.support.clock import Clock
from tests.support.operations import CANCEL_ORDER, CREATE_TIER, LEAVE_PROGRAM, REFUND_ORDER
from tests.support.shop import Shop, create_site, line

NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


class Month(Timeline):
    """The scripted shop, its ids, and the clock to move."""

    def __init__(self, shop: Shop, clock: Clock) -> None:
        super().__init__(shop, clock)
        self.offers: dict[str, str] = {}


@pytest.fixture
async def month(gql: GraphQLClient, clock: Clock, db: Database) -> Month:
    """October to December 2026, as the module docstring tells."""
    clock.now = at(10, 20)
    shop = Shop(gql, await create_site(gql, "shop-a"))
    await shop.configure(
        orderPointsPending=False, earnRate="1", pointValue="0.01", validityPolicy="FIXED_DAYS",
        validityDays=30,
    )  # fmt: skip
    m = Month(shop, clock)
    body = await gql.execute(
        CREATE_TIER,
        {"input": {"siteId": shop.site_id, "name": "Gold", "rank": 1,
                   "metric": "POINTS_EARNED", "threshold": 100}},
        token=shop.admin,
    )  # fmt: skip
    assert body["data"]["createTier"]["userErrors"] == []
    await shop.register("ann", enroll=True)
    await shop.register("bob", enroll=True)
    await shop.register("cid")  # a customer who never joins
    m.offers["promo"] = await shop.offer(
        "PROMOTION", name="All 10%", valueType="PERCENT", value="10"
    )
    m.offers["coffee"] = await shop.offer(
        "REWARD", name="Coffee", valueType="FIXED_AMOUNT", value="3", loyaltyPrice=50
    )
    m.offers["save5"] = await shop.offer(
        "COUPON", name="Save 5", valueType="FIXED_AMOUNT", value="5", couponCode="SAVE5"
    )
    # October
    o1 = await m.order(at(10, 25), "o1", "ann", line("p9", 1, "120", "garden"))
    assert o1["quote"]["total"]["amount"] == "108.00"  # 10% off; 108 points, due 11-24
    clock.now = at(10, 30)
    await shop.grant("bob", 5)  # due 11-29: still held at the end of November
    # November
    clock.now = at(11, 2)
    await shop.register("dan", enroll=True)
    await m.order(
        at(11, 3), "o2", "ann", line("p1", 2, "20", "shoes/running"), line("p2", 1, "10", "books")
    )  # 45.00: p1 36, p2 9; ann reaches Gold (153 points)
    await m.order(at(11, 5), "o3", "bob", line("p2", 3, "10", "books"))  # 27.00
    await m.order(at(11, 7), "o4", None, line("p1", 1, "20", "shoes/running"))  # 18.00, a guest
    await m.order(at(11, 8), "o5", "cid", line("p3", 1, "10", "toys"))  # 9.00
    clock.now = at(11, 10)
    await shop.voucher("ann", m.offers["coffee"])  # 50 points, from the lot due 11-24
    await m.order(at(11, 12), "o7", "bob", line("p2", 1, "10", "books"))  # 9.00, then
    await m.step(at(11, 13), CANCEL_ORDER, "o7")  # cancelled: its 9 points taken back
    await m.order(at(11, 15), "o8", "ann", line("p4", 2, "50", "garden"))  # 90.00, 90 points
    await m.step(
        at(11, 16), REFUND_ORDER, "o8", refundId="r1", lines=[{"lineId": "p4", "quantity": 1}]
    )  # 45.00 back, and 45 points
    o6 = await m.order(at(11, 20), "o6", "cid", line("p3", 2, "10", "toys"), couponCodes=["SAVE5"])
    assert o6["quote"]["total"]["amount"] == "13.00"  # 2 (10%) and 5 (coupon) off 20
    clock.now = at(11, 25, 9)
    assert await expire_points(db, clock=clock) == 1  # ann's October lot: 108 - 50 = 58
    clock.now = at(11, 28)
    body = await gql.execute(
        LEAVE_PROGRAM, {"input": {"customerId": shop.customers["bob"]}}, token=shop.admin
    )
    assert body["data"]["leaveProgram"]["userErrors"] == []
    # December
    await m.order(at(12, 2), "o9", "ann", line("p1", 1, "20", "shoes/running"))  # 18 points
    clock.now = at(12, 2, 12)
    await shop.register("eve", enroll=True)
    clock.now = at(12, 3)
    body = await gql.execute(
        LEAVE_PROGRAM, {"input": {"customerId": shop.customers["dan"]}}, token=shop.admin
    )
    assert body["data"]["leaveProgram"]["userErrors"] == []
    clock.now = at(12, 5)
    assert await verify_ledger(db) == []
    return m


async def test_program_stats_of_the_month(gql: GraphQLClient, month: Month):
    # when
    body = await gql.execute(STATS, {"s": month.shop.site_id, **NOVEMBER}, token=month.shop.admin)
    # then
    assert "errors" not in body, body
    stats = body["data"]["programStats"]
    assert stats == {
        "from": "2026-11-01",
        "to": "2026-11-30",
        "members": 2,  # ann and dan (bob left on the 28th; eve and dan's leaving are December's)
        "newMembers": 1,  # dan
        "activeMembers": 2,  # ann and bob (bob's second order was cancelled)
        "pointsIssued": 117,  # o2 45 + o3 27 + o8 90 - 45 refunded (o7's 9 were taken back)
        "pointsRedeemed": 50,  # the coffee
        "pointsExpired": 58,  # ann's October lot after the coffee
        # ann 108 + 45 - 50 + 90 - 45 - 58 = 90; bob 5 + 27 = 32 (he keeps them after leaving)
        "pointsOutstanding": 122,
        "liability": {"amount": "1.22", "currencyCode": "EUR"},
        "redemptionRate": 0.4274,  # 50 / 117
        "memberOrders": {
            "orders": 3,  # o2, o3, o8
            "customers": 2,
            "repeatCustomers": 1,  # ann
            "repeatPurchaseRate": 0.5,
            "revenue": {"amount": "117.00"},  # 45 + 27 + (90 - 45)
            "averageOrderValue": {"amount": "39.00"},
            "discount": {"amount": "18.00"},  # 5 + 3 + 10
        },
        "guestOrders": {
            "orders": 3,  # o4 (anonymous), o5 and o6 (cid, not enrolled)
            "customers": 1,  # cid; the anonymous guest cannot be told apart
            "repeatCustomers": 1,
            "repeatPurchaseRate": 1.0,
            "revenue": {"amount": "40.00"},  # 18 + 9 + 13
            "averageOrderValue": {"amount": "13.33"},
            "discount": {"amount": "10.00"},  # 2 + 1 + 7
        },
        "offers": [
            # o2 5, o3 3, o4 2, o5 1, o6 2, o8 10 (o7 was cancelled)
            {
                "offer": {"name": "All 10%"},
                "orders": 6,
                "uses": 6,
                "discountGiven": {"amount": "23.00"},
            },
            {
                "offer": {"name": "Save 5"},
                "orders": 1,
                "uses": 1,
                "discountGiven": {"amount": "5.00"},
            },
        ],
        "tiers": [
            {"tier": {"name": "Gold"}, "members": 1},  # ann
            {"tier": None, "members": 1},  # eve
        ],
    }


async def test_a_period_before_the_program_and_one_without_orders_have_zeros_and_nulls(
    gql: GraphQLClient, month: Month
):
    # when
    body = await gql.execute(
        STATS, {"s": month.shop.site_id, "from": "2026-09-01", "to": "2026-09-30"},
        token=month.shop.admin,
    )  # fmt: skip
    # then
    stats = body["data"]["programStats"]
    assert (stats["members"], stats["newMembers"], stats["activeMembers"]) == (0, 0, 0)
    assert (stats["pointsIssued"], stats["pointsOutstanding"], stats["redemptionRate"]) == (
        0, 0, None,
    )  # fmt: skip
    assert stats["liability"] == {"amount": "0.00", "currencyCode": "EUR"}
    assert stats["memberOrders"] == {
        "orders": 0, "customers": 0, "repeatCustomers": 0, "repeatPurchaseRate": None,
        "revenue": {"amount": "0.00"}, "averageOrderValue": None, "discount": {"amount": "0.00"},
    }  # fmt: skip
    assert stats["offers"] == []


async def test_october_counts_what_happened_before_november(gql: GraphQLClient, month: Month):
    # when
    body = await gql.execute(
        STATS, {"s": month.shop.site_id, "from": "2026-10-01", "to": "2026-10-31"},
        token=month.shop.admin,
    )  # fmt: skip
    # then
    stats = body["data"]["programStats"]
    assert (stats["members"], stats["newMembers"], stats["activeMembers"]) == (2, 2, 1)
    # o1's 108 and bob's 5; nothing spent or expired yet
    assert (stats["pointsIssued"], stats["pointsRedeemed"], stats["pointsExpired"]) == (113, 0, 0)
    assert stats["pointsOutstanding"] == 113
    assert stats["memberOrders"]["revenue"] == {"amount": "108.00"}


def _series(body: dict[str, Any]) -> dict[str, Decimal]:
    assert "errors" not in body, body
    return {p["day"]: Decimal(p["value"]) for p in body["data"]["programSeries"]}


async def test_daily_series_match_the_month_day_by_day(gql: GraphQLClient, month: Month):
    # given
    expected_nonzero = {
        "ORDERS": {"2026-11-03": 1, "2026-11-05": 1, "2026-11-07": 1, "2026-11-08": 1,
                   "2026-11-15": 1, "2026-11-20": 1},
        "MEMBER_ORDERS": {"2026-11-03": 1, "2026-11-05": 1, "2026-11-15": 1},
        "GUEST_ORDERS": {"2026-11-07": 1, "2026-11-08": 1, "2026-11-20": 1},
        "REVENUE": {"2026-11-03": Decimal("45.00"), "2026-11-05": Decimal("27.00"),
                    "2026-11-07": Decimal("18.00"), "2026-11-08": Decimal("9.00"),
                    "2026-11-15": Decimal("45.00"), "2026-11-20": Decimal("13.00")},
        "DISCOUNT": {"2026-11-03": 5, "2026-11-05": 3, "2026-11-07": 2, "2026-11-08": 1,
                     "2026-11-15": 10, "2026-11-20": 7},
        "ACTIVE_MEMBERS": {"2026-11-03": 1, "2026-11-05": 1, "2026-11-15": 1},
        "NEW_MEMBERS": {"2026-11-02": 1},
        # o7's points and their reversal both count on the 12th: nothing stuck
        "POINTS_ISSUED": {"2026-11-03": 45, "2026-11-05": 27, "2026-11-15": 45},
        "POINTS_REDEEMED": {"2026-11-10": 50},
        "POINTS_EXPIRED": {"2026-11-25": 58},
    }  # fmt: skip
    days = [f"2026-11-{d:02}" for d in range(1, 31)]
    for metric, nonzero in expected_nonzero.items():
        # when
        body = await gql.execute(
            SERIES, {"s": month.shop.site_id, **NOVEMBER, "m": metric}, token=month.shop.admin
        )
        # then
        series = _series(body)
        assert list(series) == days, metric
        assert {d: v for d, v in series.items() if v} == nonzero, metric
    body = await gql.execute(
        SERIES, {"s": month.shop.site_id, **NOVEMBER, "m": "POINTS_OUTSTANDING"},
        token=month.shop.admin,
    )  # fmt: skip
    outstanding = _series(body)
    # October ends with 113; then +45 (3rd), +27 (5th), -50 (10th), +9 and -9 (12th, 13th),
    # +90 (15th), -45 (16th), -58 (25th)
    assert outstanding["2026-11-01"] == 113
    assert outstanding["2026-11-03"] == 158
    assert outstanding["2026-11-10"] == 135
    assert outstanding["2026-11-12"] == 144
    assert outstanding["2026-11-13"] == 135
    assert outstanding["2026-11-15"] == 225
    assert outstanding["2026-11-16"] == 180
    assert outstanding["2026-11-24"] == 180
    assert outstanding["2026-11-25"] == 122
    assert outstanding["2026-11-30"] == 122


async def test_a_customers_insight_covers_all_their_orders(gql: GraphQLClient, month: Month):
    # when
    ann = await gql.execute(INSIGHT, {"id": month.shop.customers["ann"]}, token=month.shop.service)
    dan = await gql.execute(INSIGHT, {"id": month.shop.customers["dan"]}, token=month.shop.admin)
    cid = await gql.execute(INSIGHT, {"id": month.shop.customers["cid"]}, token=month.shop.admin)
    # then
    assert ann["data"]["customer"]["insight"] == {
        "orderCount": 4,  # o1, o2, o8 (half refunded), o9
        "firstOrderAt": "2026-10-25T10:00:00+00:00",
        "lastOrderAt": "2026-12-02T10:00:00+00:00",
        "averageDaysBetweenOrders": 12.67,  # 38 days, 3 gaps
        "averageOrderValue": {"amount": "54.00"},
        "totalSpent": {"amount": "216.00", "currencyCode": "EUR"},  # 108 + 45 + 45 + 18
        "topCategories": [
            {"category": "garden", "quantity": 2, "spent": {"amount": "153.00"}},
            {"category": "shoes/running", "quantity": 3, "spent": {"amount": "54.00"}},
            {"category": "books", "quantity": 1, "spent": {"amount": "9.00"}},
        ],
        "topProducts": [
            {"productId": "p9", "quantity": 1, "spent": {"amount": "108.00"}},
            {"productId": "p1", "quantity": 3, "spent": {"amount": "54.00"}},
            {"productId": "p4", "quantity": 1, "spent": {"amount": "45.00"}},
            {"productId": "p2", "quantity": 1, "spent": {"amount": "9.00"}},
        ],
    }
    assert dan["data"]["customer"]["insight"] == {
        "orderCount": 0, "firstOrderAt": None, "lastOrderAt": None,
        "averageDaysBetweenOrders": None, "averageOrderValue": None,
        "totalSpent": {"amount": "0.00", "currencyCode": "EUR"}, "topCategories": [],
        "topProducts": [],
    }  # fmt: skip
    insight = cid["data"]["customer"]["insight"]  # not a member: their orders count too
    assert (insight["orderCount"], insight["averageDaysBetweenOrders"]) == (2, 12.0)
    assert insight["totalSpent"] == {"amount": "22.00", "currencyCode": "EUR"}
    assert insight["topProducts"] == [
        {"productId": "p3", "quantity": 3, "spent": {"amount": "22.00"}}
    ]


async def test_an_offers_performance_counts_every_order_but_cancelled_ones(
    gql: GraphQLClient, month: Month
):
    # when
    promo = await gql.execute(PERFORMANCE, {"id": month.offers["promo"]}, token=month.shop.admin)
    coffee = await gql.execute(
        PERFORMANCE, {"id": month.offers["coffee"]}, token=month.shop.service
    )
    # then
    assert promo["data"]["offer"]["performance"] == {
        "redemptions": 8,  # o1 o2 o3 o4 o5 o6 o8 o9
        "uniqueCustomers": 3,  # ann, bob, cid
        "discountGiven": {"amount": "37.00"},  # 12 + 5 + 3 + 2 + 1 + 2 + 10 + 2
        "ordersInfluenced": 8,
        "revenueInfluenced": {"amount": "283.00"},  # 108 + 45 + 27 + 18 + 9 + 13 + 45 + 18
    }
    assert coffee["data"]["offer"]["performance"] == {
        "redemptions": 0, "uniqueCustomers": 0, "discountGiven": {"amount": "0.00"},
        "ordersInfluenced": 0, "revenueInfluenced": {"amount": "0.00"},
    }  # fmt: skip


async def test_migration_0010_rebuilds_the_rollups_from_the_ledger_and_the_orders(
    gql: GraphQLClient, month: Month, database: Database, backend: DatabaseBackend
):
    # given
    site, admin = month.shop.site_id, month.shop.admin

    async def everything() -> list[dict[str, Any]]:
        bodies = [
            await gql.execute(STATS, {"s": site, **NOVEMBER}, token=admin),
            await gql.execute(
                SERIES, {"s": site, **NOVEMBER, "m": "POINTS_OUTSTANDING"}, token=admin
            ),
            await gql.execute(SERIES, {"s": site, **NOVEMBER, "m": "POINTS_ISSUED"}, token=admin),
            await gql.execute(PERFORMANCE, {"id": month.offers["promo"]}, token=admin),
        ]
        return [body["data"] for body in bodies]

    before = await everything()
    # when: back to before the rollups existed, and forward again
    await migrate_round_trip(database, backend)
    # then
    assert await everything() == before
    assert await verify_ledger(database) == []  # per-day sums equal every account again


@pytest.mark.concurrency
async def test_orders_and_cancels_at_the_same_moment_add_up_exactly(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given: four members, a customer who is not one, and the 10% promotion
    clock.now = at(11, 3)
    shop = Shop(gql, await create_site(gql, "shop-a"))
    await shop.configure(orderPointsPending=False, earnRate="1", pointValue="0.10")
    members = [f"m{n}" for n in range(4)]
    for external_id in members:
        await shop.register(external_id, enroll=True)
    await shop.register("guest")
    await shop.offer("PROMOTION", name="All 10%", valueType="PERCENT", value="10")
    basket = [line("p1", 1, "10", "shoes")]  # 9.00 after the promotion: 9 points

    async def record(order_id: str, customer: str | None) -> None:
        payload = await shop.record(order_id, customer, lines=basket)
        assert payload["userErrors"] == [], payload

    async def cancel(order_id: str) -> None:
        payload = await shop.step(CANCEL_ORDER, order_id)
        assert payload["userErrors"] == [], payload

    # when: 24 orders at once (5 per member, 2 of the customer, 2 anonymous), then 4
    # cancels and 4 more orders at once
    first: list[tuple[str, str | None]] = [(f"{c}-{n}", c) for c in members for n in range(5)]
    first += [("g-0", "guest"), ("g-1", "guest"), ("a-0", None), ("a-1", None)]
    await asyncio.gather(*(record(o, c) for o, c in first))
    await asyncio.gather(
        *(cancel(f"{c}-0") for c in members), *(record(f"{c}-5", c) for c in members)
    )
    body = await gql.execute(STATS, {"s": shop.site_id, **NOVEMBER}, token=shop.admin)
    # then
    stats = body["data"]["programStats"]
    assert (stats["activeMembers"], stats["pointsIssued"], stats["pointsOutstanding"]) == (
        4,
        20 * 9,
        20 * 9,
    )
    assert stats["liability"] == {"amount": "18.00", "currencyCode": "EUR"}
    assert stats["memberOrders"] == {
        "orders": 20,
        "customers": 4,
        "repeatCustomers": 4,
        "repeatPurchaseRate": 1.0,
        "revenue": {"amount": "180.00"},
        "averageOrderValue": {"amount": "9.00"},
        "discount": {"amount": "20.00"},
    }
    assert (stats["guestOrders"]["orders"], stats["guestOrders"]["customers"]) == (4, 1)
    assert stats["offers"][0]["orders"] == 24
    assert await verify_ledger(db) == []
