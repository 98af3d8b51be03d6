"""Insight at its edges: the numbers a shop owner would check by hand.

Every scene plays in November 2026 (a period of whole UTC days, 11-01 to 11-30) with
earnRate 1 (one point per 1.00 paid), so points and money are easy to follow. The rules
checked are those of docs/ARCHITECTURE.md, "Insight": points count on the day of the
entry that gave, spent or expired them, a reversal is counted back on that entry's day,
issued means made available, members and points outstanding are as at the period's end.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

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
from tests.support.operations import (
    CANCEL_ORDER,
    COMPLETE_ORDER,
    CREATE_TIER,
    LEAVE_PROGRAM,
    RECORD_ACTIVITY,
    REFUND_ORDER,
)
from tests.support.shop import Shop, create_site, line

ENROLL = """
mutation($input: EnrollmentInput!) { enrollCustomer(input: $input) { userErrors { code } } }
"""
DELETE_OFFER = """
mutation($input: OfferActionInput!) {
  deleteOffer(input: $input) { offer { status } userErrors { code } }
}
"""

NOVEMBER = ("2026-11-01", "2026-11-30")
NO_ORDERS = {
    "orders": 0, "customers": 0, "repeatCustomers": 0, "repeatPurchaseRate": None,
    "revenue": {"amount": "0.00"}, "averageOrderValue": None, "discount": {"amount": "0.00"},
}  # fmt: skip


def last_moment(month: int, day: int) -> datetime:
    """The last microsecond of a day of 2026, UTC."""
    return datetime.combine(date(2026, month, day), time(23, 59, 59, 999999), UTC)


class Scene(Timeline):
    """A shop and the clock: every step happens at a given moment."""

    def __init__(self, gql: GraphQLClient, clock: Clock, shop: Shop) -> None:
        super().__init__(shop, clock)
        self.gql = gql
        self.shop: Shop = shop

    async def grant(self, when: datetime, customer: str, points: int) -> None:
        self.clock.now = when
        await self.shop.grant(customer, points)

    async def register(self, when: datetime, customer: str, **fields: Any) -> None:
        self.clock.now = when
        await self.shop.register(customer, **fields)

    async def membership(self, when: datetime, mutation: str, customer: str) -> None:
        """enrollCustomer or leaveProgram, by the site's admin."""
        self.clock.now = when
        body = await self.gql.execute(
            mutation, {"input": {"customerId": self.shop.customers[customer]}},
            token=self.shop.admin,
        )  # fmt: skip
        [payload] = body["data"].values()
        assert payload["userErrors"] == [], payload

    async def stats(self, first: str = NOVEMBER[0], last: str = NOVEMBER[1]) -> dict[str, Any]:
        body = await self.gql.execute(
            STATS, {"s": self.shop.site_id, "from": first, "to": last}, token=self.shop.admin
        )
        stats: dict[str, Any] = body["data"]["programStats"]
        return stats

    async def series(
        self, metric: str, first: str = NOVEMBER[0], last: str = NOVEMBER[1]
    ) -> dict[str, Decimal]:
        """Every day of the period, in order; the whole series."""
        body = await self.gql.execute(
            SERIES, {"s": self.shop.site_id, "from": first, "to": last, "m": metric},
            token=self.shop.admin,
        )  # fmt: skip
        points = body["data"]["programSeries"]
        start, end = date.fromisoformat(first), date.fromisoformat(last)
        days = [str(start + timedelta(days=n)) for n in range((end - start).days + 1)]
        assert [p["day"] for p in points] == days, metric
        return {p["day"]: Decimal(p["value"]) for p in points}

    async def held(self, first: str = NOVEMBER[0], last: str = NOVEMBER[1]) -> dict[str, int]:
        """POINTS_OUTSTANDING: the points held at the end of each day."""
        series = await self.series("POINTS_OUTSTANDING", first, last)
        return {day: int(value) for day, value in series.items()}

    async def nonzero(
        self, metric: str, first: str = NOVEMBER[0], last: str = NOVEMBER[1]
    ) -> dict[str, Decimal]:
        """The days of a series with a value other than 0."""
        return {d: v for d, v in (await self.series(metric, first, last)).items() if v}

    async def insight(self, customer: str) -> dict[str, Any]:
        body = await self.gql.execute(
            INSIGHT, {"id": self.shop.customers[customer]}, token=self.shop.admin
        )
        insight: dict[str, Any] = body["data"]["customer"]["insight"]
        return insight

    async def performance(self, offer_id: str) -> dict[str, Any]:
        body = await self.gql.execute(PERFORMANCE, {"id": offer_id}, token=self.shop.admin)
        performance: dict[str, Any] = body["data"]["offer"]["performance"]
        return performance


async def scene_of(
    gql: GraphQLClient, clock: Clock, code: str = "shop-a", **settings: Any
) -> Scene:
    """A new site (created on 2026-10-01) with ``settings`` (earnRate 1 unless given)."""
    clock.now = at(10, 1)
    shop = Shop(gql, await create_site(gql, code), code)
    await shop.configure(**{"earnRate": "1", **settings})
    return Scene(gql, clock, shop)


def points_of(stats: dict[str, Any]) -> tuple[int, int, int, int]:
    """(issued, redeemed, expired, outstanding)."""
    return (
        stats["pointsIssued"],
        stats["pointsRedeemed"],
        stats["pointsExpired"],
        stats["pointsOutstanding"],
    )


# -- 1. pending order points ---------------------------------------------------------------


async def test_pending_points_count_as_issued_on_the_day_the_order_completes(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given: order points stay pending until the order completes
    s = await scene_of(gql, clock, orderPointsPending=True)
    await s.register(at(11, 1), "ann", enroll=True)
    await s.order(at(11, 3), "o1", "ann", line("p1", 1, "40.00"))  # 40 pending
    await s.order(at(11, 4), "o2", "ann", line("p2", 1, "25.00"))  # 25 pending...
    await s.step(at(11, 5), CANCEL_ORDER, "o2")  # ...cancelled before completion: nothing issued
    await s.step(at(11, 10), COMPLETE_ORDER, "o1")  # o1's 40 issued on the 10th
    await s.order(at(11, 12), "o3", "ann", line("p3", 1, "30.00"))  # 30 pending
    await s.step(at(11, 14), COMPLETE_ORDER, "o3")  # 30 issued on the 14th
    # half refunded on the 20th: 15 points taken back, counted on the 14th (activation)
    await s.step(at(11, 20), REFUND_ORDER, "o3", refundId="r1", amount="15.00")
    await s.order(at(11, 30), "o4", "ann", line("p4", 1, "20.00"))  # 20 pending at month end
    await s.step(at(12, 2), COMPLETE_ORDER, "o4")  # issued in December
    # when
    november = await s.stats()
    december = await s.stats("2026-12-01", "2026-12-31")
    first_days = await s.stats("2026-11-01", "2026-11-09")
    issued = await s.nonzero("POINTS_ISSUED")
    outstanding = await s.held()
    # then
    # issued: 40 (o1, 10th) + 30 - 15 (o3, 14th); o4's 20 were pending at the end of November
    assert points_of(november) == (55, 0, 0, 55)
    assert issued == {"2026-11-10": 40, "2026-11-14": 15}
    # o1, o3 and o4 count as November's orders (o2 was cancelled): 40 + (30 - 15) + 20
    assert (november["memberOrders"]["orders"], november["memberOrders"]["revenue"]) == (
        3, {"amount": "75.00"},
    )  # fmt: skip
    assert await s.nonzero("MEMBER_ORDERS") == {
        "2026-11-03": 1, "2026-11-12": 1, "2026-11-30": 1,
    }  # fmt: skip
    # nothing was available before the 10th: pending points are not outstanding
    assert points_of(first_days) == (0, 0, 0, 0)
    assert outstanding["2026-11-09"] == 0
    assert outstanding["2026-11-10"] == 40
    assert outstanding["2026-11-14"] == 70
    assert outstanding["2026-11-20"] == 55
    assert outstanding["2026-11-30"] == 55
    # o4's points are December's, its order November's
    assert points_of(december) == (20, 0, 0, 75)
    assert december["memberOrders"]["orders"] == 0
    assert await s.nonzero("POINTS_ISSUED", "2026-12-01", "2026-12-31") == {"2026-12-02": 20}
    assert await verify_ledger(db) == []


# -- 2. paying with points ------------------------------------------------------------------


async def test_points_paid_on_an_order_are_redeemed_that_day_until_the_order_is_cancelled(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given: a point pays 0.01
    s = await scene_of(gql, clock, orderPointsPending=False, pointValue="0.01")
    await s.register(at(11, 1), "ann", enroll=True)
    await s.grant(at(11, 1), "ann", 500)
    # 20.00 of which 300 points pay 3.00: 17.00 paid in money, 17 points earned
    order = await s.order(at(11, 5), "o1", "ann", line("p1", 1, "20.00"), payWithPoints=300)
    assert (order["pointsPaid"], order["pointsEarned"]) == (300, 17)
    assert order["quote"]["total"] == {"amount": "17.00"}
    # when: before the cancellation
    paid = await s.stats()
    # then: 500 + 17 issued, 300 redeemed, 500 - 300 + 17 = 217 held
    assert points_of(paid) == (517, 300, 0, 217)
    assert paid["redemptionRate"] == 0.5803  # 300 / 517
    assert paid["liability"] == {"amount": "2.17", "currencyCode": "EUR"}
    assert await s.nonzero("POINTS_REDEEMED") == {"2026-11-05": 300}
    # when: cancelled on the 8th
    await s.step(at(11, 8), CANCEL_ORDER, "o1")
    cancelled = await s.stats()
    early = await s.stats("2026-11-01", "2026-11-05")
    outstanding = await s.held()
    # then: the 300 come back and the 17 go, both counted on the 5th: nothing of o1 stuck
    assert points_of(cancelled) == (500, 0, 0, 500)
    assert cancelled["redemptionRate"] == 0.0
    assert cancelled["memberOrders"] == NO_ORDERS
    assert await s.nonzero("POINTS_REDEEMED") == {}
    assert await s.nonzero("POINTS_ISSUED") == {"2026-11-01": 500}
    # balances move on the days they moved: 500, 217 on the 5th, 500 again on the 8th
    assert (outstanding["2026-11-04"], outstanding["2026-11-05"]) == (500, 217)
    assert (outstanding["2026-11-07"], outstanding["2026-11-08"]) == (217, 500)
    # a period ending on the 5th: the flows of what stuck, the balance held that evening
    assert points_of(early) == (500, 0, 0, 217)
    assert await verify_ledger(db) == []


async def test_points_paid_are_not_counted_as_offer_discount(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given: a 10% promotion; ann pays part of an order with points
    s = await scene_of(gql, clock, orderPointsPending=False, pointValue="0.01")
    await s.shop.offer("PROMOTION", name="All 10%", valueType="PERCENT", value="10")
    await s.register(at(11, 1), "ann", enroll=True)
    await s.grant(at(11, 1), "ann", 500)
    # 20.00 - 2.00 (10%) = 18.00; 300 points pay 3.00 of it: 15.00 paid in money
    order = await s.order(at(11, 5), "o1", "ann", line("p1", 1, "20.00"), payWithPoints=300)
    assert order["quote"]["total"] == {"amount": "15.00"}
    # when
    stats = await s.stats()
    discount = await s.nonzero("DISCOUNT")
    # then: "discount: what offers took off these orders" is the promotion's 2.00; the
    # 3.00 paid with points is already counted as 300 points redeemed
    assert stats["offers"] == [
        {"offer": {"name": "All 10%"}, "orders": 1, "uses": 1, "discountGiven": {"amount": "2.00"}}
    ]
    assert stats["pointsRedeemed"] == 300
    assert stats["memberOrders"]["discount"] == {"amount": "2.00"}
    assert discount == {"2026-11-05": Decimal("2.00")}


# -- 3. threshold reward ----------------------------------------------------------------------


async def test_points_converted_into_a_threshold_voucher_count_as_redeemed(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given: every 100 points turn into a 5.00 voucher
    reward = {"enabled": True, "points": 100, "valueType": "FIXED_AMOUNT", "value": "5",
              "validityDays": 30}  # fmt: skip
    s = await scene_of(gql, clock, orderPointsPending=False, thresholdReward=reward)
    await s.register(at(11, 1), "ann", enroll=True)
    await s.order(at(11, 3), "o1", "ann", line("p1", 1, "130.00"))  # 130 points, 100 -> voucher
    assert await s.shop.vouchers("ann") != {}
    # when
    converted = await s.stats()
    # then
    assert points_of(converted) == (130, 100, 0, 30)
    assert converted["redemptionRate"] == 0.7692  # 100 / 130
    assert await s.nonzero("POINTS_REDEEMED") == {"2026-11-03": 100}
    # when: the order is cancelled on the 6th: the unused voucher goes back with its points
    await s.step(at(11, 6), CANCEL_ORDER, "o1")
    cancelled = await s.stats()
    outstanding = await s.held()
    # then: the redemption and the issue both disappear from the 3rd
    assert list((await s.shop.vouchers("ann")).values()) == ["CANCELLED"]
    assert points_of(cancelled) == (0, 0, 0, 0)
    assert await s.nonzero("POINTS_REDEEMED") == {}
    assert await s.nonzero("POINTS_ISSUED") == {}
    assert (outstanding["2026-11-03"], outstanding["2026-11-05"], outstanding["2026-11-06"]) == (
        30, 30, 0,
    )  # fmt: skip
    assert await verify_ledger(db) == []


# -- 4. referral -------------------------------------------------------------------------------


async def test_referral_points_count_as_issued_on_the_friends_order_day(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given: a referral is worth 300 points; ann referred bob
    s = await scene_of(gql, clock, orderPointsPending=False, referralPoints=300)
    await s.register(at(11, 1), "ann", enroll=True)
    await s.register(at(11, 1), "bob", enroll=True)
    clock.now = at(11, 2)
    body = await gql.execute(
        RECORD_ACTIVITY,
        {"input": {"customerId": s.shop.customers["ann"], "activity": "REFERRAL",
                   "referredCustomerId": s.shop.customers["bob"]}},
        token=s.shop.service,
    )  # fmt: skip
    assert body["data"]["recordActivity"]["userErrors"] == []
    # when: bob's first order (10 points for him, 300 for ann)
    await s.order(at(11, 4), "o1", "bob", line("p1", 1, "10.00"))
    rewarded = await s.stats()
    # then: nothing on the 2nd (a referral earns on the first order)
    assert points_of(rewarded) == (310, 0, 0, 310)
    assert await s.nonzero("POINTS_ISSUED") == {"2026-11-04": 310}
    # when: bob's order is cancelled: both rewards are taken back, on the 4th
    await s.step(at(11, 6), CANCEL_ORDER, "o1")
    cancelled = await s.stats()
    # then
    assert points_of(cancelled) == (0, 0, 0, 0)
    assert await s.nonzero("POINTS_ISSUED") == {}
    assert await verify_ledger(db) == []


async def test_with_pending_order_points_the_referral_counts_on_the_completion_day(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given
    s = await scene_of(gql, clock, orderPointsPending=True, referralPoints=300)
    await s.register(at(11, 1), "ann", enroll=True)
    await s.register(at(11, 1), "bob", enroll=True)
    body = await gql.execute(
        RECORD_ACTIVITY,
        {"input": {"customerId": s.shop.customers["ann"], "activity": "REFERRAL",
                   "referredCustomerId": s.shop.customers["bob"]}},
        token=s.shop.service,
    )  # fmt: skip
    assert body["data"]["recordActivity"]["userErrors"] == []
    await s.order(at(11, 4), "o1", "bob", line("p1", 1, "10.00"))
    # when
    await s.step(at(11, 9), COMPLETE_ORDER, "o1")
    # then: bob's 10 and ann's 300 are both issued on the 9th
    assert points_of(await s.stats()) == (310, 0, 0, 310)
    assert await s.nonzero("POINTS_ISSUED") == {"2026-11-09": 310}
    assert await verify_ledger(db) == []


# -- 5. a full refund -------------------------------------------------------------------------


async def test_a_fully_refunded_order_counts_with_value_0_and_its_points_leave_its_day(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given
    s = await scene_of(gql, clock, orderPointsPending=False)
    await s.register(at(11, 1), "ann", enroll=True)
    await s.order(at(11, 3), "o1", "ann", line("p1", 1, "50.00"))  # 50 points
    await s.order(at(11, 4), "o2", "ann", line("p2", 1, "30.00"))  # 30 points
    # when: o1 refunded in full on the 10th
    refunded = await s.step(at(11, 10), REFUND_ORDER, "o1", refundId="r1", amount="50.00")
    stats = await s.stats()
    outstanding = await s.held()
    # then
    assert (refunded["status"], refunded["pointsTakenBack"]) == ("REFUNDED", 50)
    assert stats["memberOrders"] == {
        "orders": 2,  # o1 still counts, with value 0
        "customers": 1,
        "repeatCustomers": 1,
        "repeatPurchaseRate": 1.0,
        "revenue": {"amount": "30.00"},  # 0 + 30
        "averageOrderValue": {"amount": "15.00"},  # 30 / 2
        "discount": {"amount": "0.00"},
    }
    assert points_of(stats) == (30, 0, 0, 30)  # o1's 50 leave the 3rd
    assert await s.nonzero("ORDERS") == {"2026-11-03": 1, "2026-11-04": 1}
    assert await s.nonzero("REVENUE") == {"2026-11-04": Decimal("30.00")}
    assert await s.nonzero("POINTS_ISSUED") == {"2026-11-04": 30}
    assert (outstanding["2026-11-03"], outstanding["2026-11-04"]) == (50, 80)
    assert (outstanding["2026-11-09"], outstanding["2026-11-10"]) == (80, 30)
    insight = await s.insight("ann")
    assert (insight["orderCount"], insight["totalSpent"]["amount"]) == (2, "30.00")
    assert insight["averageOrderValue"] == {"amount": "15.00"}
    assert await verify_ledger(db) == []


async def test_a_refund_in_a_later_month_lowers_the_earlier_months_issued_points_only(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given: a November order, half refunded in December
    s = await scene_of(gql, clock, orderPointsPending=False)
    await s.register(at(11, 1), "ann", enroll=True)
    await s.order(at(11, 20), "o1", "ann", line("p1", 1, "50.00"))  # 50 points
    # when
    await s.step(at(12, 5), REFUND_ORDER, "o1", refundId="r1", amount="25.00")  # 25 taken back
    november = await s.stats()
    december = await s.stats("2026-12-01", "2026-12-31")
    in_december = await s.held("2026-12-01", "2026-12-31")
    # then: the 25 taken back count against the 20th (the customer-day row of the 20th
    # holds the flow, December 5th's holds the balance change)
    assert points_of(november) == (25, 0, 0, 50)  # 50 were held on November 30th
    assert november["memberOrders"]["revenue"] == {"amount": "25.00"}
    assert points_of(december) == (0, 0, 0, 25)
    assert (in_december["2026-12-04"], in_december["2026-12-05"]) == (50, 25)
    assert (await s.held())["2026-11-30"] == 50
    assert await verify_ledger(db) == []


# -- 6. day boundaries -------------------------------------------------------------------------


async def test_orders_either_side_of_midnight_utc_count_on_their_own_day(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given: a 10% promotion; orders on both edges of November
    s = await scene_of(gql, clock, orderPointsPending=False)
    await s.shop.offer("PROMOTION", name="All 10%", valueType="PERCENT", value="10")
    await s.register(at(10, 20), "ann", enroll=True)
    await s.order(last_moment(10, 31), "oct", "ann", line("p1", 1, "10.00"))  # 9.00, 9 points
    await s.order(at(11, 1, 0), "nov-1", "ann", line("p1", 1, "20.00"))  # 18.00, 18 points
    await s.order(last_moment(11, 30), "nov-30", "ann", line("p1", 1, "30.00"))  # 27.00
    await s.order(at(12, 1, 0), "dec-1", "ann", line("p1", 1, "40.00"))  # 36.00, 36 points
    # when
    november = await s.stats()
    outstanding = await s.held()
    october_31 = await s.stats("2026-10-31", "2026-10-31")
    december_1 = await s.stats("2026-12-01", "2026-12-01")
    # then: only nov-1 and nov-30 are November's
    assert november["memberOrders"] == {
        "orders": 2, "customers": 1, "repeatCustomers": 1, "repeatPurchaseRate": 1.0,
        "revenue": {"amount": "45.00"}, "averageOrderValue": {"amount": "22.50"},
        "discount": {"amount": "5.00"},
    }  # fmt: skip
    assert november["offers"] == [
        {"offer": {"name": "All 10%"}, "orders": 2, "uses": 2, "discountGiven": {"amount": "5.00"}}
    ]
    assert points_of(november) == (45, 0, 0, 54)  # 9 from October + 18 + 27
    both_ends = {"2026-11-01": 1, "2026-11-30": 1}
    assert await s.nonzero("ORDERS") == both_ends
    assert await s.nonzero("ACTIVE_MEMBERS") == both_ends
    assert await s.nonzero("REVENUE") == {"2026-11-01": 18, "2026-11-30": 27}
    assert await s.nonzero("POINTS_ISSUED") == {"2026-11-01": 18, "2026-11-30": 27}
    assert (outstanding["2026-11-01"], outstanding["2026-11-29"]) == (27, 27)
    assert outstanding["2026-11-30"] == 54
    # the neighbouring days have the other two
    assert (october_31["memberOrders"]["orders"], *points_of(october_31)) == (1, 9, 0, 0, 9)
    assert (december_1["memberOrders"]["orders"], *points_of(december_1)) == (1, 36, 0, 0, 90)
    assert await s.nonzero("ORDERS", "2026-12-01", "2026-12-01") == {"2026-12-01": 1}
    assert await verify_ledger(db) == []


# -- 7. a guest who becomes a member -----------------------------------------------------------


async def test_a_customer_who_orders_before_and_after_enrolling_is_a_buyer_of_both_groups(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given: cid is registered but not enrolled
    s = await scene_of(gql, clock, orderPointsPending=False)
    await s.register(at(11, 1), "cid")
    await s.order(at(11, 3), "o1", "cid", line("p1", 1, "10.00"))  # a guest's order, 0 points
    await s.membership(at(11, 5), ENROLL, "cid")
    await s.order(at(11, 7), "o2", "cid", line("p2", 1, "20.00"))  # a member's, 20 points
    # when
    stats = await s.stats()
    # then
    assert (stats["members"], stats["newMembers"], stats["activeMembers"]) == (1, 1, 1)
    one_order = {
        "orders": 1, "customers": 1, "repeatCustomers": 0, "repeatPurchaseRate": 0.0,
        "discount": {"amount": "0.00"},
    }  # fmt: skip
    assert stats["guestOrders"] == {
        **one_order, "revenue": {"amount": "10.00"}, "averageOrderValue": {"amount": "10.00"},
    }  # fmt: skip
    assert stats["memberOrders"] == {
        **one_order, "revenue": {"amount": "20.00"}, "averageOrderValue": {"amount": "20.00"},
    }  # fmt: skip
    assert points_of(stats) == (20, 0, 0, 20)
    assert await s.nonzero("GUEST_ORDERS") == {"2026-11-03": 1}
    assert await s.nonzero("MEMBER_ORDERS") == {"2026-11-07": 1}
    assert await s.nonzero("NEW_MEMBERS") == {"2026-11-05": 1}
    assert await s.nonzero("ACTIVE_MEMBERS") == {"2026-11-07": 1}
    insight = await s.insight("cid")
    assert (insight["orderCount"], insight["totalSpent"]["amount"]) == (2, "30.00")
    assert await verify_ledger(db) == []


# -- 8. leaving and re-joining -----------------------------------------------------------------


async def test_members_who_leave_and_rejoin_are_counted_once_and_as_at_the_periods_end(
    gql: GraphQLClient, clock: Clock
):
    # given
    s = await scene_of(gql, clock)
    await s.register(at(10, 20), "ann", enroll=True)  # a member since October
    await s.register(at(11, 2), "cid", enroll=True)
    await s.membership(at(11, 10), LEAVE_PROGRAM, "cid")
    await s.membership(at(11, 15), ENROLL, "cid")  # back within November
    await s.register(at(11, 3), "dan", enroll=True)
    await s.membership(at(11, 20), LEAVE_PROGRAM, "dan")
    await s.membership(at(12, 3), ENROLL, "dan")  # back only in December
    await s.register(at(11, 4), "eve", enroll=True)
    await s.membership(at(12, 2), LEAVE_PROGRAM, "eve")  # leaves and rejoins in December
    await s.membership(at(12, 5), ENROLL, "eve")
    # when
    november = await s.stats()
    to_the_12th = await s.stats("2026-11-01", "2026-11-12")
    october = await s.stats("2026-10-01", "2026-10-31")
    # then: at the end of November ann, cid and eve were members (dan had left)
    assert (november["members"], november["newMembers"]) == (3, 3)  # cid, dan, eve once each
    # on the 12th cid was out, dan and eve in
    assert (to_the_12th["members"], to_the_12th["newMembers"]) == (3, 3)
    assert (october["members"], october["newMembers"]) == (1, 1)
    assert november["tiers"] == [{"tier": None, "members": 4}]  # today's: all four are in
    # the series counts who joined each day: cid's return on the 15th is a join that day
    assert await s.nonzero("NEW_MEMBERS") == {
        "2026-11-02": 1, "2026-11-03": 1, "2026-11-04": 1, "2026-11-15": 1,
    }  # fmt: skip


# -- 9. two sites ------------------------------------------------------------------------------


async def test_a_sites_numbers_ignore_everything_another_site_does(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given: shop-a busy in November...
    a = await scene_of(gql, clock, "shop-a", orderPointsPending=False, pointValue="0.01",
                       validityPolicy="FIXED_DAYS", validityDays=10)  # fmt: skip
    body = await gql.execute(
        CREATE_TIER,
        {"input": {"siteId": a.shop.site_id, "name": "Gold", "rank": 1,
                   "metric": "POINTS_EARNED", "threshold": 10}},
        token=a.shop.admin,
    )  # fmt: skip
    assert body["data"]["createTier"]["userErrors"] == []
    await a.shop.offer("PROMOTION", name="A 10%", valueType="PERCENT", value="10")
    coffee = await a.shop.offer(
        "REWARD", name="Coffee", valueType="FIXED_AMOUNT", value="3", loyaltyPrice=50
    )
    await a.register(at(11, 1), "ann", enroll=True)
    await a.register(at(11, 1), "zed", enroll=True)
    await a.grant(at(11, 1), "ann", 100)
    await a.order(at(11, 5), "o1", "ann", line("p1", 1, "50.00"))  # the same order id as b's
    await a.order(at(11, 5), "guest", None, line("p1", 1, "20.00"))
    clock.now = at(11, 6)
    await a.shop.voucher("ann", coffee)
    clock.now = at(11, 20)
    assert await expire_points(db, clock=clock) == 1  # what is left of ann's points
    await a.membership(at(11, 21), LEAVE_PROGRAM, "zed")
    # ...and shop-b quiet: one member, one order
    b = await scene_of(gql, clock, "shop-b", orderPointsPending=False, earnRate="2",
                       pointValue="0.05")  # fmt: skip
    await b.shop.offer("PROMOTION", name="B 5 off", valueType="FIXED_AMOUNT", value="5")
    await b.register(at(11, 2), "ann", enroll=True)  # the same external id as a's ann
    await b.order(at(11, 5), "o1", "ann", line("p1", 1, "20.00"))  # 15.00 paid, 30 points
    a_stats = await a.stats()
    assert (a_stats["pointsIssued"], a_stats["pointsExpired"]) == (145, 95)  # a is busy
    # when
    stats = await b.stats()
    # then
    assert stats == {
        "from": "2026-11-01", "to": "2026-11-30",
        "members": 1, "newMembers": 1, "activeMembers": 1,
        "pointsIssued": 30, "pointsRedeemed": 0, "pointsExpired": 0, "pointsOutstanding": 30,
        "liability": {"amount": "1.50", "currencyCode": "EUR"},  # 30 x 0.05
        "redemptionRate": 0.0,
        "memberOrders": {
            "orders": 1, "customers": 1, "repeatCustomers": 0, "repeatPurchaseRate": 0.0,
            "revenue": {"amount": "15.00"}, "averageOrderValue": {"amount": "15.00"},
            "discount": {"amount": "5.00"},
        },
        "guestOrders": NO_ORDERS,
        "offers": [{"offer": {"name": "B 5 off"}, "orders": 1, "uses": 1,
                    "discountGiven": {"amount": "5.00"}}],
        "tiers": [{"tier": None, "members": 1}],
    }  # fmt: skip
    expected = {
        "ORDERS": {"2026-11-05": 1}, "MEMBER_ORDERS": {"2026-11-05": 1}, "GUEST_ORDERS": {},
        "REVENUE": {"2026-11-05": 15}, "DISCOUNT": {"2026-11-05": 5},
        "ACTIVE_MEMBERS": {"2026-11-05": 1}, "NEW_MEMBERS": {"2026-11-02": 1},
        "POINTS_ISSUED": {"2026-11-05": 30}, "POINTS_REDEEMED": {}, "POINTS_EXPIRED": {},
    }  # fmt: skip
    for metric, nonzero in expected.items():
        assert await b.nonzero(metric) == nonzero, metric
    outstanding = await b.held()
    assert (outstanding["2026-11-04"], outstanding["2026-11-05"]) == (0, 30)
    assert outstanding["2026-11-30"] == 30
    assert await verify_ledger(db) == []


# -- 10. a deleted offer -----------------------------------------------------------------------


async def test_a_deleted_offer_keeps_its_name_and_numbers_in_the_stats_and_its_performance(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given: a promotion used on two orders, then deleted
    s = await scene_of(gql, clock, orderPointsPending=False)
    promo = await s.shop.offer("PROMOTION", name="Gone 10%", valueType="PERCENT", value="10")
    await s.register(at(11, 1), "ann", enroll=True)
    await s.order(at(11, 3), "o1", "ann", line("p1", 1, "50.00"))  # 45.00, 5.00 off
    await s.order(at(11, 4), "o2", None, line("p1", 1, "20.00"))  # 18.00, 2.00 off
    clock.now = at(11, 10)
    body = await gql.execute(DELETE_OFFER, {"input": {"offerId": promo}}, token=s.shop.admin)
    assert body["data"]["deleteOffer"] == {"offer": {"status": "DELETED"}, "userErrors": []}
    later = await s.order(at(11, 12), "o3", "ann", line("p1", 1, "10.00"))
    assert later["quote"]["total"] == {"amount": "10.00"}  # the offer is gone
    # when
    stats = await s.stats()
    performance = await s.performance(promo)
    # then
    assert stats["offers"] == [
        {"offer": {"name": "Gone 10%"}, "orders": 2, "uses": 2,
         "discountGiven": {"amount": "7.00"}},
    ]  # fmt: skip
    assert performance == {
        "redemptions": 2, "uniqueCustomers": 1,  # the guest has no account
        "discountGiven": {"amount": "7.00"}, "ordersInfluenced": 2,
        "revenueInfluenced": {"amount": "63.00"},  # 45 + 18
    }  # fmt: skip


# -- 11. a negative adjustment -----------------------------------------------------------------


async def test_points_an_admin_removes_are_neither_issued_redeemed_nor_expired_but_not_held(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given
    s = await scene_of(gql, clock, pointValue="0.01")
    await s.register(at(11, 1), "ann", enroll=True)
    await s.grant(at(11, 2), "ann", 100)
    # when
    await s.grant(at(11, 5), "ann", -30)
    stats = await s.stats()
    before = await s.stats("2026-11-01", "2026-11-04")
    outstanding = await s.held()
    # then
    assert points_of(stats) == (100, 0, 0, 70)
    assert stats["redemptionRate"] == 0.0
    assert stats["liability"] == {"amount": "0.70", "currencyCode": "EUR"}
    assert await s.nonzero("POINTS_ISSUED") == {"2026-11-02": 100}
    assert await s.nonzero("POINTS_REDEEMED") == {}
    assert await s.nonzero("POINTS_EXPIRED") == {}
    assert (outstanding["2026-11-04"], outstanding["2026-11-05"]) == (100, 70)
    assert points_of(before) == (100, 0, 0, 100)
    assert await verify_ledger(db) == []


# -- 12. rolling expiry ------------------------------------------------------------------------


async def test_rolling_expiry_counts_on_the_day_the_job_expired_the_points(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given: points expire 10 days after the last order
    s = await scene_of(
        gql, clock, orderPointsPending=False, validityPolicy="ROLLING_DAYS", validityDays=10
    )
    await s.register(at(11, 1), "ann", enroll=True)
    await s.order(at(11, 2), "o1", "ann", line("p1", 1, "40.00"))  # 40, due 11-12 10:00
    clock.now = at(11, 12, 9)
    assert await expire_points(db, clock=clock) == 0  # not yet
    # when: the job runs late, on the 15th
    clock.now = at(11, 15, 9)
    assert await expire_points(db, clock=clock) == 1
    stats = await s.stats()
    outstanding = await s.held()
    # then
    assert points_of(stats) == (40, 0, 40, 0)
    assert await s.nonzero("POINTS_EXPIRED") == {"2026-11-15": 40}
    assert (outstanding["2026-11-14"], outstanding["2026-11-15"]) == (40, 0)
    assert await verify_ledger(db) == []


# -- more edges --------------------------------------------------------------------------------


async def test_two_vouchers_of_one_reward_on_one_order_are_two_uses_on_one_order(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given: ann buys two 3.00 vouchers at 50 points each
    s = await scene_of(gql, clock, orderPointsPending=False)
    reward = await s.shop.offer(
        "REWARD", name="3 off", valueType="FIXED_AMOUNT", value="3", loyaltyPrice=50
    )
    await s.register(at(11, 1), "ann", enroll=True)
    await s.grant(at(11, 1), "ann", 200)
    clock.now = at(11, 3)
    vouchers = [await s.shop.voucher("ann", reward), await s.shop.voucher("ann", reward)]
    # when: both on one order: 20.00 - 6.00 = 14.00, 14 points
    order = await s.order(at(11, 5), "o1", "ann", line("p1", 1, "20.00"), vouchers=vouchers)
    stats = await s.stats()
    performance = await s.performance(reward)
    # then
    assert order["quote"]["total"] == {"amount": "14.00"}
    assert stats["offers"] == [
        {"offer": {"name": "3 off"}, "orders": 1, "uses": 2, "discountGiven": {"amount": "6.00"}}
    ]
    assert stats["memberOrders"]["discount"] == {"amount": "6.00"}
    assert points_of(stats) == (214, 100, 0, 114)  # 200 + 14 issued, 2 x 50 redeemed
    assert await s.nonzero("POINTS_REDEEMED") == {"2026-11-03": 100}
    assert performance == {
        "redemptions": 2, "uniqueCustomers": 1, "discountGiven": {"amount": "6.00"},
        "ordersInfluenced": 1, "revenueInfluenced": {"amount": "14.00"},  # once, not twice
    }  # fmt: skip
    assert await verify_ledger(db) == []


async def test_issued_less_redeemed_and_expired_is_held_when_expired_order_points_are_taken_back(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given: points last 10 days; ann and bob each order 40.00 on the 2nd (40 points)
    s = await scene_of(
        gql, clock, orderPointsPending=False, validityPolicy="FIXED_DAYS", validityDays=10
    )
    await s.register(at(11, 1), "ann", enroll=True)
    await s.register(at(11, 1), "bob", enroll=True)
    await s.order(at(11, 2), "oa", "ann", line("p1", 1, "40.00"))
    await s.order(at(11, 2), "ob", "bob", line("p1", 1, "40.00"))
    clock.now = at(11, 13)
    assert await expire_points(db, clock=clock) == 2  # both lots expire: 40 + 40
    await s.grant(at(11, 14), "ann", 100)  # ann has points again; bob has none
    # when: both orders are cancelled
    ann = await s.step(at(11, 16), CANCEL_ORDER, "oa")
    bob = await s.step(at(11, 16), CANCEL_ORDER, "ob")
    stats = await s.stats()
    # then: nobody lost anything (expired points are not taken twice)...
    assert (await s.shop.balance("ann"))["available"] == 100
    assert (await s.shop.balance("bob"))["available"] == 0
    # (their expired points are written off, not owed: both count as recovered)
    assert (ann["pointsNotRecovered"], bob["pointsNotRecovered"]) == (0, 0)
    # ...and the program's numbers add up: both orders' points are taken back, and so is
    # their expiry; ann's grant is all that was issued and is still held
    issued, redeemed, expired, outstanding = points_of(stats)
    assert (issued, redeemed, expired, outstanding) == (100, 0, 0, 100)
    assert await s.nonzero("POINTS_EXPIRED") == {}
    assert await verify_ledger(db) == []


async def test_an_expiry_taken_back_a_month_later_leaves_the_day_it_expired(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given: 40 points earned on Oct 25 (10 days' validity) expire when the job runs on
    # Nov 5; the order is cancelled on Dec 3
    s = await scene_of(
        gql, clock, orderPointsPending=False, validityPolicy="FIXED_DAYS", validityDays=10
    )
    await s.register(at(10, 20), "ann", enroll=True)
    await s.order(at(10, 25), "o1", "ann", line("p1", 1, "40.00"))
    clock.now = at(11, 5)
    assert await expire_points(db, clock=clock) == 1
    before = await s.stats()
    # when
    await s.step(at(12, 3), CANCEL_ORDER, "o1")
    # then: October issued nothing, November expired nothing (before: 40 expired then)
    assert points_of(before) == (0, 0, 40, 0)
    assert points_of(await s.stats()) == (0, 0, 0, 0)
    # (she did hold the 40 at the end of October: balances are history, not rewritten)
    assert points_of(await s.stats("2026-10-01", "2026-10-31")) == (0, 0, 0, 40)
    assert await s.nonzero("POINTS_EXPIRED") == {}
    assert (await s.shop.balance("ann"))["available"] == 0
    assert await verify_ledger(db) == []


async def test_migration_0010_rebuilds_points_paid_and_expiries_taken_back_as_they_were(
    gql: GraphQLClient, clock: Clock, db: Database, backend: DatabaseBackend
):
    # given: an order paid partly with points (not a discount), and an order whose points
    # expired in November and were taken back in December (not an expiry)
    s = await scene_of(
        gql, clock, orderPointsPending=False, pointValue="0.01", validityPolicy="FIXED_DAYS",
        validityDays=10,
    )  # fmt: skip
    await s.shop.offer("PROMOTION", name="All 10%", valueType="PERCENT", value="10")
    await s.register(at(10, 20), "ann", enroll=True)
    await s.order(at(10, 25), "o1", "ann", line("p1", 1, "40.00"))  # 36 points
    await s.grant(at(11, 4), "ann", 500)
    clock.now = at(11, 5)
    assert await expire_points(db, clock=clock) == 1  # o1's 36, due Nov 4
    await s.order(at(11, 6), "o2", "ann", line("p1", 1, "20.00"), payWithPoints=300)
    await s.step(at(12, 3), CANCEL_ORDER, "o1")
    periods = [("2026-10-01", "2026-10-31"), NOVEMBER, ("2026-12-01", "2026-12-31")]

    async def everything() -> list[Any]:
        return [
            *[await s.stats(first, last) for first, last in periods],
            *[await s.series(m) for m in ("DISCOUNT", "POINTS_EXPIRED", "POINTS_REDEEMED")],
        ]

    before = await everything()
    # when
    await migrate_round_trip(db, backend)
    # then
    assert await everything() == before
    november = before[1]
    assert points_of(november) == (515, 300, 0, 215)  # 500 + 15 issued; 36 no longer expired
    assert november["memberOrders"]["discount"] == {"amount": "2.00"}  # not the 3.00 paid
    assert await verify_ledger(db) == []


async def test_an_order_of_an_enrolled_customer_on_a_site_with_the_program_off_is_a_guests(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given: ann is enrolled, then the program is switched off for a while
    s = await scene_of(gql, clock, orderPointsPending=False)
    await s.register(at(11, 1), "ann", enroll=True)
    await s.order(at(11, 2), "o1", "ann", line("p1", 1, "10.00"))  # a member's, 10 points
    clock.now = at(11, 3)
    await s.shop.configure(enabled=False)
    await s.order(at(11, 4), "o2", "ann", line("p1", 1, "20.00"))  # earns nothing
    clock.now = at(11, 5)
    await s.shop.configure(enabled=True)
    # when
    stats = await s.stats()
    # then: o2 did not count for her account: a guest order (of an identified buyer)
    assert (stats["memberOrders"]["orders"], stats["memberOrders"]["customers"]) == (1, 1)
    assert (stats["guestOrders"]["orders"], stats["guestOrders"]["customers"]) == (1, 1)
    assert (stats["members"], stats["activeMembers"]) == (1, 1)
    assert points_of(stats) == (10, 0, 0, 10)
    assert await verify_ledger(db) == []


async def test_a_period_of_367_days_or_ending_before_it_starts_is_refused(
    gql: GraphQLClient, clock: Clock
):
    # given
    s = await scene_of(gql, clock)
    for first, last in (("2026-01-01", "2027-01-02"), ("2026-11-02", "2026-11-01")):
        # when
        body = await gql.execute(
            STATS, {"s": s.shop.site_id, "from": first, "to": last}, token=s.shop.admin,
            expect_errors=True,
        )  # fmt: skip
        # then
        assert body.get("data") is None or body["data"].get("programStats") is None, body
        assert body["errors"], body
    # when: 366 days, the most
    longest = await s.stats("2026-01-01", "2027-01-01")
    # then
    assert (longest["from"], longest["to"]) == ("2026-01-01", "2027-01-01")


async def test_in_a_currency_without_cents_liability_rounds_down_and_averages_round_half_up(
    gql: GraphQLClient, clock: Clock, db: Database
):
    # given: a yen shop where a point pays 0.5 yen
    clock.now = at(10, 1)
    shop = Shop(gql, await create_site(gql, "shop-a", currency="JPY"), "shop-a")
    await shop.configure(earnRate="1", orderPointsPending=False, pointValue="0.5")
    s = Scene(gql, clock, shop)
    await s.register(at(11, 1), "ann", enroll=True)
    await s.order(at(11, 2), "o1", "ann", line("p1", 1, "1000"))  # 1000 points
    await s.order(at(11, 3), "o2", "ann", line("p1", 1, "1001"))  # 1001 points
    # when
    stats = await s.stats()
    revenue = await s.nonzero("REVENUE")
    # then
    assert stats["pointsOutstanding"] == 2001
    assert stats["liability"] == {"amount": "1000", "currencyCode": "JPY"}  # 1000.5 down
    assert stats["memberOrders"]["revenue"] == {"amount": "2001"}
    assert stats["memberOrders"]["averageOrderValue"] == {"amount": "1001"}  # 1000.5 up
    assert revenue == {"2026-11-02": 1000, "2026-11-03": 1001}
    assert await verify_ledger(db) == []
