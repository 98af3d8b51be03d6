"""Campaigns, worked examples end to end: the checkout quote and recordOrder give the same
points per campaign, each campaign's points are a ledger entry of their own, limits and
budgets hold, refunds take back in proportion; `verify` stays clean after each."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from typing import Any

import pytest

from loyalty_gql.db.engine import Database
from loyalty_gql.services.points.verify import verify_ledger
from tests.conftest import GraphQLClient
from tests.support.clock import Clock
from tests.support.operations import CANCEL_ORDER, COMPLETE_ORDER, CREATE_TIER, RECORD_ACTIVITY
from tests.support.shop import Shop, line

CREATE = """
mutation($input: CreateCampaignInput!) {
  createCampaign(input: $input) {
    campaign { id name status budgetLeft }
    userErrors { field code message }
  }
}
"""
ACTION = """
mutation($input: CampaignActionInput!) {
  {action}(input: $input) { campaign { id name status } userErrors { field code message } }
}
"""
CAMPAIGN_QUOTE = """
fragment C on CheckoutQuote {
  total { amount } basePoints points campaignPoints
  campaigns { campaignId name points }
  rejectedCampaigns { campaignId name reason message }
}
"""
CHECKOUT = "query($input: CheckoutInput!) { checkout(input: $input) { ...C } }" + CAMPAIGN_QUOTE
RECORD = (
    "mutation($input: RecordOrderInput!) { recordOrder(input: $input) {"
    " order { orderId pointsEarned quote { ...C } } userErrors { field code message } } }"
    + CAMPAIGN_QUOTE
)
REFUND = """
mutation($input: RefundOrderInput!) {
  refundOrder(input: $input) { order { pointsTakenBack } userErrors { field code message } }
}
"""
LEDGER = """
query($id: ID!) {
  customer(id: $id) {
    ledger(first: 50) { edges { node { points pendingPoints kind reason source { type } } } }
  }
}
"""
EVENTS = """
query($s: ID!) {
  events(siteId: $s, filter: {types: ["CAMPAIGN_POINTS_EARNED"]}, first: 10) {
    edges { node { type payload customer { externalId } } }
  }
}
"""
STATS = """
query($s: ID!, $from: Date!, $to: Date!) {
  programStats(siteId: $s, from: $from, to: $to) {
    campaigns { campaign { name } pointsIssued customersReached orders budgetLeft }
  }
}
"""
CAMPAIGNS = """
query($s: ID!, $f: CampaignFilter) {
  campaigns(siteId: $s, filter: $f, first: 10) {
    totalCount edges { node { id name status trigger budgetSpent budgetLeft } }
  }
}
"""


async def campaign(shop: Shop, *, publish: bool = True, **terms: Any) -> str:
    """A new campaign's global ID (published unless told otherwise)."""
    body = await shop.gql.execute(
        CREATE, {"input": {"siteId": shop.site_id, "campaign": terms}}, token=shop.admin
    )
    payload = body["data"]["createCampaign"]
    assert payload["userErrors"] == [], payload
    campaign_id: str = payload["campaign"]["id"]
    if publish:
        await act(shop, "publishCampaign", campaign_id)
    return campaign_id


async def act(shop: Shop, action: str, campaign_id: str) -> dict[str, Any]:
    body = await shop.gql.execute(
        ACTION.replace("{action}", action), {"input": {"campaignId": campaign_id}},
        token=shop.admin,
    )  # fmt: skip
    payload: dict[str, Any] = body["data"][action]
    assert payload["userErrors"] == [], payload
    return payload


async def quote(shop: Shop, customer: str, **basket: Any) -> dict[str, Any]:
    body = await shop.gql.execute(
        CHECKOUT, {"input": shop.basket(customer, **basket)}, token=shop.service
    )
    result: dict[str, Any] = body["data"]["checkout"]
    return result


async def record(shop: Shop, order_id: str, customer: str, **basket: Any) -> dict[str, Any]:
    body = await shop.gql.execute(
        RECORD, {"input": {"orderId": order_id, **shop.basket(customer, **basket)}},
        token=shop.service,
    )  # fmt: skip
    payload = body["data"]["recordOrder"]
    assert payload["userErrors"] == [], payload
    order: dict[str, Any] = payload["order"]
    return order


async def quoted_and_recorded(
    shop: Shop, order_id: str, customer: str, **basket: Any
) -> dict[str, Any]:
    """The checkout quote, then the order recorded from the same basket: both the same."""
    before = await quote(shop, customer, **basket)
    order = await record(shop, order_id, customer, **basket)
    assert order["quote"] == before
    return before


def points_of(quoted: dict[str, Any]) -> list[tuple[str, int]]:
    return [(c["name"], c["points"]) for c in quoted["campaigns"]]


def reasons_of(quoted: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["name"], c["reason"]) for c in quoted["rejectedCampaigns"]]


async def campaign_entries(shop: Shop, customer: str) -> list[tuple[int, int, str]]:
    body = await shop.gql.execute(LEDGER, {"id": shop.customers[customer]}, token=shop.admin)
    edges = body["data"]["customer"]["ledger"]["edges"]
    return [
        (e["node"]["points"], e["node"]["pendingPoints"], e["node"]["reason"])
        for e in edges
        if e["node"]["source"]["type"] == "CAMPAIGN"
    ]


async def open_shop(gql: GraphQLClient, **settings: Any) -> Shop:
    shop = await Shop.open(gql, earnRate="1", orderPointsPending=False, **settings)
    await shop.register("ann", enroll=True)
    return shop


SHOES_AND_SOCKS = [line("boots", 2, "50.00", "shoes"), line("socks", 3, "5.00", "socks")]


async def test_double_points_on_shoes_in_december(
    gql: GraphQLClient, db: Database, clock: Clock
) -> None:
    # given: double points on the shoes of a basket, through December (UTC)
    shop = await open_shop(gql)
    await campaign(
        shop, name="Double shoes", trigger="ORDER",
        effect={"kind": "MULTIPLIER", "multiplier": "2", "scope": "QUALIFYING_LINES"},
        conditions={"categories": ["shoes"], "startsAt": "2026-12-01T00:00:00Z",
                    "endsAt": "2027-01-01T00:00:00Z"},
    )  # fmt: skip
    # when: an order of 2 boots (100.00) and 3 socks (15.00) on 10 December
    clock.now = datetime(2026, 12, 10, 12, tzinfo=UTC)
    december = await quoted_and_recorded(shop, "o-1", "ann", lines=SHOES_AND_SOCKS)
    # then: 115 base points, and 100 more for the shoes (100.00 x 1 x (2 - 1))
    assert (december["basePoints"], december["campaignPoints"]) == (115, 100)
    assert points_of(december) == [("Double shoes", 100)]
    assert (await shop.balance("ann"))["available"] == 215
    [(points, pending, reason)] = await campaign_entries(shop, "ann")
    assert (points, pending) == (100, 0)
    assert reason.endswith("Double shoes")
    body = await gql.execute(EVENTS, {"s": shop.site_id}, token=shop.admin)
    [event] = [e["node"] for e in body["data"]["events"]["edges"]]
    assert event["customer"] == {"externalId": "ann"}
    assert {k: event["payload"][k] for k in ("campaignName", "points", "orderId", "trigger")} == {
        "campaignName": "Double shoes", "points": 100, "orderId": "o-1", "trigger": "ORDER",
    }  # fmt: skip
    assert await verify_ledger(db) == []
    # when: the same basket on 30 November, and on 1 January
    for moment in (datetime(2026, 11, 30, 23, 59, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)):
        clock.now = moment
        outside = await quoted_and_recorded(
            shop, f"o-{moment.date()}", "ann", lines=SHOES_AND_SOCKS
        )
        # then: nothing from the campaign, and why
        assert outside["campaignPoints"] == 0
        assert reasons_of(outside) == [
            ("Double shoes", "NOT_STARTED" if moment.month == 11 else "EXPIRED")
        ]
    # when: socks alone in December
    clock.now = datetime(2026, 12, 11, tzinfo=UTC)
    socks = await quoted_and_recorded(
        shop, "o-socks", "ann", lines=[line("socks", 1, "5.00", "socks")]
    )
    # then: the campaign is not even a candidate (its scope does not touch the basket)
    assert (socks["campaigns"], socks["rejectedCampaigns"]) == ([], [])
    assert await verify_ledger(db) == []


async def test_a_first_order_bonus_is_given_once_when_the_first_two_orders_come_together(
    gql: GraphQLClient, db: Database, clock: Clock
) -> None:
    # given: 500 points for the first order
    shop = await open_shop(gql)
    await campaign(
        shop, name="Welcome", trigger="ORDER", effect={"kind": "FIXED_POINTS", "points": 500},
        conditions={"nthOrder": 1},
    )  # fmt: skip
    basket = {"lines": [line("socks", 1, "5.00", "socks")]}
    first = await quote(shop, "ann", **basket)
    assert points_of(first) == [("Welcome", 500)]
    # when: the first two orders are recorded at the same moment
    orders = await asyncio.gather(*(record(shop, f"o-{n}", "ann", **basket) for n in (1, 2)))
    # then: exactly one of them got the bonus, and the other says why not
    got = sorted(order["quote"]["campaignPoints"] for order in orders)
    assert got == [0, 500]
    [second] = [o["quote"] for o in orders if o["quote"]["campaignPoints"] == 0]
    assert reasons_of(second) == [("Welcome", "WRONG_ORDER_NUMBER")]
    assert (await shop.balance("ann"))["available"] == 5 + 5 + 500
    # and a third order quotes and records without it
    third = await quoted_and_recorded(shop, "o-3", "ann", **basket)
    assert (third["campaignPoints"], reasons_of(third)) == (0, [("Welcome", "WRONG_ORDER_NUMBER")])
    assert await verify_ledger(db) == []


async def test_weekend_triple_points_for_gold_in_the_site_timezone(
    gql: GraphQLClient, db: Database, clock: Clock
) -> None:
    # given: a Tokyo shop (UTC+9), Gold from 100 points earned, 3x on Saturdays and Sundays
    shop = await open_shop(gql, timezone="Asia/Tokyo")
    await shop.register("bob", enroll=True)
    body = await gql.execute(
        CREATE_TIER,
        {"input": {"siteId": shop.site_id, "name": "Gold", "rank": 1, "metric": "POINTS_EARNED",
                   "threshold": 100, "windowMonths": 12, "earnMultiplier": "1"}},
        token=shop.admin,
    )  # fmt: skip
    gold = body["data"]["createTier"]["tier"]["id"]
    await shop.grant("ann", 100)
    await campaign(
        shop, name="Weekend 3x", trigger="ORDER",
        effect={"kind": "MULTIPLIER", "multiplier": "3"},
        conditions={"weekdays": [5, 6], "tierIds": [gold]},
    )  # fmt: skip
    basket = {"lines": [line("hat", 1, "20.00", "hats")]}
    # when / then: each moment in UTC, on the Tokyo calendar
    moments = [
        (datetime(2026, 12, 11, 14, 30, tzinfo=UTC), "ann", None),  # Fri 23:30 in Tokyo
        (datetime(2026, 12, 11, 15, 30, tzinfo=UTC), "ann", 40),  # Sat 00:30 in Tokyo
        (datetime(2026, 12, 13, 14, 59, tzinfo=UTC), "ann", 40),  # Sun 23:59 in Tokyo
        (datetime(2026, 12, 13, 15, 0, tzinfo=UTC), "ann", None),  # Mon 00:00 in Tokyo
        (datetime(2026, 12, 12, 3, 0, tzinfo=UTC), "bob", None),  # Sat noon, but not Gold
    ]
    for n, (moment, who, extra) in enumerate(moments):
        clock.now = moment
        quoted = await quoted_and_recorded(shop, f"o-{n}", who, **basket)
        assert quoted["basePoints"] == 20
        if extra is not None:
            # 20.00 x 1 point x (3 - 1)
            assert points_of(quoted) == [("Weekend 3x", extra)], moment
        else:
            reason = "NOT_IN_TIER" if who == "bob" else "WRONG_DAY"
            assert reasons_of(quoted) == [("Weekend 3x", reason)], moment
    assert (await shop.balance("ann"))["available"] == 100 + 4 * 20 + 2 * 40
    assert await verify_ledger(db) == []


async def test_a_per_customer_monthly_limit(gql: GraphQLClient, db: Database, clock: Clock) -> None:
    # given: 50 points for an order over 10.00, once a month per customer
    shop = await open_shop(gql)
    await campaign(
        shop, name="Monthly 50", trigger="ORDER", effect={"kind": "FIXED_POINTS", "points": 50},
        conditions={"minimumOrderValue": "10.00"},
        limits={"perCustomer": 1, "period": "MONTH"},
    )  # fmt: skip
    basket = {"lines": [line("hat", 1, "20.00", "hats")]}
    expected = [
        (datetime(2026, 12, 1, tzinfo=UTC), 50),
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), 0),
        (datetime(2027, 1, 1, tzinfo=UTC), 50),
        (datetime(2027, 1, 2, tzinfo=UTC), 0),
    ]
    for n, (moment, points) in enumerate(expected):
        clock.now = moment
        quoted = await quoted_and_recorded(shop, f"o-{n}", "ann", **basket)
        assert quoted["campaignPoints"] == points, moment
        if not points:
            assert reasons_of(quoted) == [("Monthly 50", "LIMIT_REACHED")]
    # when: January's rewarded order is cancelled
    cancelled = await shop.step(CANCEL_ORDER, "o-2")
    assert cancelled["userErrors"] == []
    # then: its points went back, and the month's award is free again
    again = await quoted_and_recorded(shop, "o-4", "ann", **basket)
    assert again["campaignPoints"] == 50
    # four orders of 20 stand (o-2 is cancelled), with two awards of 50 (o-0, o-4)
    assert (await shop.balance("ann"))["available"] == 4 * 20 + 2 * 50
    assert await verify_ledger(db) == []
    # and the insight counts what stands
    body = await gql.execute(
        STATS, {"s": shop.site_id, "from": "2026-12-01", "to": "2027-01-31"}, token=shop.admin
    )
    assert body["data"]["programStats"]["campaigns"] == [
        {"campaign": {"name": "Monthly 50"}, "pointsIssued": 100, "customersReached": 1,
         "orders": 2, "budgetLeft": None},
    ]  # fmt: skip


async def test_pending_campaign_points_follow_the_order(
    gql: GraphQLClient, db: Database, clock: Clock
) -> None:
    # given: order points pending until completion; 30 points per order
    shop = await Shop.open(gql, earnRate="1", orderPointsPending=True)
    await shop.register("ann", enroll=True)
    await campaign(
        shop, name="Thirty", trigger="ORDER", effect={"kind": "FIXED_POINTS", "points": 30}
    )
    basket = {"lines": [line("hat", 1, "20.00", "hats")]}
    # when: the order is recorded
    await quoted_and_recorded(shop, "o-1", "ann", **basket)
    # then: pending like the order's own
    assert await campaign_entries(shop, "ann") == [(0, 30, "campaign 1: Thirty")]
    balance = await shop.balance("ann")
    assert (balance["available"], balance["pending"]) == (0, 50)
    # when: the order is completed
    assert (await shop.step(COMPLETE_ORDER, "o-1"))["userErrors"] == []
    # then: the campaign's points are available with the order's
    balance = await shop.balance("ann")
    assert (balance["available"], balance["pending"]) == (50, 0)
    assert await verify_ledger(db) == []


async def test_a_partial_refund_takes_back_campaign_points_in_proportion_and_budget(
    gql: GraphQLClient, db: Database, clock: Clock
) -> None:
    # given: double points on shoes with a budget of 1,000, and a basket-wide 10%
    # (0.1 point per 1.00... as points per amount: 1 point per 10.00)
    shop = await open_shop(gql)
    shoes = await campaign(
        shop, name="Double shoes", trigger="ORDER",
        effect={"kind": "MULTIPLIER", "multiplier": "2", "scope": "QUALIFYING_LINES"},
        conditions={"categories": ["shoes"]}, limits={"budgetPoints": 1000},
    )  # fmt: skip
    await campaign(
        shop, name="Per ten", trigger="ORDER",
        effect={"kind": "POINTS_PER_AMOUNT", "pointsPerAmount": "0.1"},
    )  # fmt: skip
    quoted = await quoted_and_recorded(shop, "o-1", "ann", lines=SHOES_AND_SOCKS)
    # 115 base; shoes 100.00 x 1 = 100 more; 115.00 x 0.1 = 11 (down)
    assert points_of(quoted) == [("Double shoes", 100), ("Per ten", 11)]
    assert (await _budget(shop, shoes)) == (100, 900)
    assert (await shop.balance("ann"))["available"] == 226
    # when: one of the two boots is refunded (50.00)
    body = await gql.execute(
        REFUND,
        {"input": {"siteId": shop.site_id, "orderId": "o-1", "refundId": "r-1",
                   "lines": [{"lineId": "boots", "quantity": 1}]}},
        token=shop.service,
    )  # fmt: skip
    assert body["data"]["refundOrder"]["userErrors"] == []
    # then: the base takes back 115 x 50/115 = 50; the shoes campaign half of its lines'
    # 100 = 50; the basket-wide one as base points, 11 x 50/115 = 4 (down)
    assert body["data"]["refundOrder"]["order"]["pointsTakenBack"] == 50
    assert (await shop.balance("ann"))["available"] == 226 - 50 - 50 - 4
    assert (await _budget(shop, shoes)) == (50, 950)
    assert await verify_ledger(db) == []
    body = await gql.execute(
        STATS, {"s": shop.site_id, "from": "2026-01-01", "to": "2026-01-31"}, token=shop.admin
    )
    assert body["data"]["programStats"]["campaigns"] == [
        {"campaign": {"name": "Double shoes"}, "pointsIssued": 50, "customersReached": 1,
         "orders": 1, "budgetLeft": 950},
        {"campaign": {"name": "Per ten"}, "pointsIssued": 7, "customersReached": 1,
         "orders": 1, "budgetLeft": None},
    ]  # fmt: skip
    # when: the rest is refunded by amount (65.00: all that is left)
    body = await gql.execute(
        REFUND,
        {"input": {"siteId": shop.site_id, "orderId": "o-1", "refundId": "r-2",
                   "amount": "65.00"}},
        token=shop.service,
    )  # fmt: skip
    assert body["data"]["refundOrder"]["userErrors"] == []
    # then: everything is back, and the whole budget
    assert (await shop.balance("ann"))["available"] == 0
    assert (await _budget(shop, shoes)) == (0, 1000)
    assert await verify_ledger(db) == []


async def _budget(shop: Shop, campaign_id: str) -> tuple[int, int]:
    body = await shop.gql.execute(CAMPAIGNS, {"s": shop.site_id}, token=shop.admin)
    [node] = [
        e["node"] for e in body["data"]["campaigns"]["edges"] if e["node"]["id"] == campaign_id
    ]
    return node["budgetSpent"], node["budgetLeft"]


@pytest.mark.skipif(
    os.environ.get("LOYALTY_TEST_BACKEND") != "postgres", reason="row locks under load"
)
async def test_a_budget_holds_exactly_under_200_concurrent_orders(
    gql: GraphQLClient, db: Database, clock: Clock
) -> None:
    # given: 60 points an order, 10,000 in all; 40 customers
    shop = await open_shop(gql)
    budget = await campaign(
        shop, name="Budget", trigger="ORDER", effect={"kind": "FIXED_POINTS", "points": 60},
        limits={"budgetPoints": 10_000},
    )  # fmt: skip
    names = [f"c{n}" for n in range(40)]
    for name in names:
        await shop.register(name, enroll=True)
    basket = {"lines": [line("hat", 1, "1.00", "hats")]}
    # when: 200 qualifying orders at once
    orders = await asyncio.gather(
        *(record(shop, f"o-{n}", names[n % 40], **basket) for n in range(200))
    )
    # then: 166 orders got 60, one the 40 left, the rest nothing: exactly 10,000
    given = sorted((o["quote"]["campaignPoints"] for o in orders), reverse=True)
    assert sum(given) == 10_000
    assert given[:167] == [60] * 166 + [40]
    assert set(given[167:]) == {0}
    refused = {r for o in orders for r in reasons_of(o["quote"])}
    assert refused == {("Budget", "BUDGET_EXHAUSTED")}
    assert await _budget(shop, budget) == (10_000, 0)
    assert await verify_ledger(db) == []


async def test_enrolment_activity_and_tier_campaigns_award_once_each(
    gql: GraphQLClient, db: Database, clock: Clock
) -> None:
    # given: 10 points for the newsletter; Gold from 300 points earned; campaigns of 100
    # on enrolment, 25 on the newsletter, 200 on reaching Gold
    shop = await Shop.open(gql, earnRate="1", newsletterSignupPoints=10)
    body = await gql.execute(
        CREATE_TIER,
        {"input": {"siteId": shop.site_id, "name": "Gold", "rank": 1, "metric": "POINTS_EARNED",
                   "threshold": 300, "windowMonths": 12, "earnMultiplier": "1"}},
        token=shop.admin,
    )  # fmt: skip
    gold = body["data"]["createTier"]["tier"]["id"]
    for name, trigger, points, conditions in (
        ("Welcome aboard", "ENROLMENT", 100, {}),
        ("Newsletter bonus", "ACTIVITY", 25, {"activityCode": "NEWSLETTER_SIGNUP"}),
        ("Gold at last", "TIER_REACHED", 200, {"tierIds": [gold]}),
    ):
        await campaign(
            shop, name=name, trigger=trigger, effect={"kind": "FIXED_POINTS", "points": points},
            conditions=conditions,
        )  # fmt: skip
    # when: ann registers enrolled
    await shop.register("ann", enroll=True)
    # then: the enrolment campaign gave 100
    assert (await shop.balance("ann"))["available"] == 100
    # when: she signs up for the newsletter
    body = await gql.execute(
        RECORD_ACTIVITY,
        {"input": {"customerId": shop.customers["ann"], "activity": "NEWSLETTER_SIGNUP"}},
        token=shop.service,
    )  # fmt: skip
    assert body["data"]["recordActivity"]["userErrors"] == []
    # then: 10 for the activity and 25 from its campaign
    assert (await shop.balance("ann"))["available"] == 135
    # when: 200 more points take her to Gold (335 earned)
    await shop.grant("ann", 200)
    # then: the tier campaign gave 200
    assert (await shop.balance("ann"))["available"] == 535
    entries = await campaign_entries(shop, "ann")
    assert sorted(points for points, _, _ in entries) == [25, 100, 200]
    assert await verify_ledger(db) == []


async def test_a_cached_storefront_quote_turns_when_a_campaign_starts(
    gql: GraphQLClient, db: Database, clock: Clock
) -> None:
    # given: a campaign from 10:00 UTC; the customer's storefront prices her basket
    shop = await open_shop(gql)
    await campaign(
        shop, name="From ten", trigger="ORDER", effect={"kind": "FIXED_POINTS", "points": 5},
        conditions={"startsAt": "2026-12-01T10:00:00Z"},
    )  # fmt: skip
    lines = [line("hat", 1, "20.00", "hats")]

    async def storefront() -> dict[str, Any]:
        body = await gql.execute(
            CHECKOUT,
            {"input": {"siteId": shop.site_id, "lines": lines}},
            token=shop.customer("ann"),
        )
        result: dict[str, Any] = body["data"]["checkout"]
        return result

    clock.now = datetime(2026, 12, 1, 9, 59, 30, tzinfo=UTC)
    assert (await storefront())["campaignPoints"] == 0
    assert (await storefront())["campaignPoints"] == 0  # the same answer again (cached)
    # when: the campaign starts, nothing written meanwhile
    clock.now = datetime(2026, 12, 1, 10, 0, 1, tzinfo=UTC)
    # then: the answer is not the cached one
    assert (await storefront())["campaignPoints"] == 5


async def test_a_voucher_campaign_gives_a_voucher_and_takes_it_back_with_the_order(
    gql: GraphQLClient, db: Database, clock: Clock
) -> None:
    # given: a 5.00 coupon, given as a voucher on a customer's first order
    shop = await open_shop(gql)
    coupon = await shop.offer("COUPON", name="5 off", valueType="FIXED_AMOUNT", value="5")
    await campaign(
        shop, name="First order voucher", trigger="ORDER",
        effect={"kind": "VOUCHER", "rewardOfferId": coupon}, conditions={"nthOrder": 1},
    )  # fmt: skip
    basket = {"lines": [line("hat", 1, "20.00", "hats")]}
    # when: the first order is quoted and recorded
    first = await quoted_and_recorded(shop, "o-1", "ann", **basket)
    # then: the campaign applies (no points, a voucher), and ann holds the voucher
    assert points_of(first) == [("First order voucher", 0)]
    [(code, status)] = (await shop.vouchers("ann")).items()
    assert status == "ACTIVE"
    body = await gql.execute(EVENTS, {"s": shop.site_id}, token=shop.admin)
    [event] = [e["node"] for e in body["data"]["events"]["edges"]]
    assert (event["payload"]["voucherCode"], event["payload"]["points"]) == (code, 0)
    # when: the order is cancelled
    assert (await shop.step(CANCEL_ORDER, "o-1"))["userErrors"] == []
    # then: the voucher goes with it, and the next order is a first order again
    assert await shop.vouchers("ann") == {code: "CANCELLED"}
    again = await quoted_and_recorded(shop, "o-2", "ann", **basket)
    assert points_of(again) == [("First order voucher", 0)]
    assert sorted((await shop.vouchers("ann")).values()) == ["ACTIVE", "CANCELLED"]
    assert await verify_ledger(db) == []
