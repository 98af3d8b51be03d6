"""Referral and birthday campaigns, worked through the API: the referrer earns through a
REFERRAL_COMPLETED campaign when the friend's first order counts (once per link, taken
back when that order is cancelled, then earned by the next one), and the daily birthday
job gives BIRTHDAY campaigns once per customer and year, however often it runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.services.birthdays import run_birthdays
from loyalty_gql.services.points.verify import verify_ledger
from tests.api.test_campaigns import campaign, campaign_entries
from tests.conftest import GraphQLClient
from tests.support.clock import Clock
from tests.support.operations import CANCEL_ORDER, COMPLETE_ORDER
from tests.support.shop import Shop, line

REGISTER = """
mutation($input: RegisterCustomerInput!) {
  registerCustomer(input: $input) {
    customer { id referral { code referredCount pointsEarned } }
    userErrors { field code message }
  }
}
"""
REFERRAL = """
query($id: ID!) {
  customer(id: $id) { referral { referredCount pointsEarned } balance { available } }
}
"""
VOUCHERS = "query($id: ID!) { customer(id: $id) { vouchers { status percentOff } } }"


async def _register(shop: Shop, external_id: str, **fields: Any) -> dict[str, Any]:
    body = await shop.gql.execute(
        REGISTER,
        {"input": {"siteId": shop.site_id, "externalId": external_id, "enroll": True, **fields}},
        token=shop.service,
    )
    payload: dict[str, Any] = body["data"]["registerCustomer"]
    assert payload["userErrors"] == [], payload
    customer: dict[str, Any] = payload["customer"]
    shop.customers[external_id] = customer["id"]
    return customer


async def _referral(shop: Shop, external_id: str) -> tuple[int, int, int]:
    """(friends referred, referral points earned, points available)."""
    body = await shop.gql.execute(REFERRAL, {"id": shop.customers[external_id]}, token=shop.admin)
    customer = body["data"]["customer"]
    referral = customer["referral"]
    return referral["referredCount"], referral["pointsEarned"], customer["balance"]["available"]


async def _order(shop: Shop, order_id: str, customer: str) -> None:
    recorded = await shop.record(order_id, customer, lines=[line("p-1", 1, "20.00")])
    assert recorded["userErrors"] == [], recorded
    completed = await shop.step(COMPLETE_ORDER, order_id)
    assert completed["userErrors"] == [], completed


async def test_a_referral_from_code_to_welcome_voucher_to_the_referrers_campaign_points(
    gql: GraphQLClient, db: Database
) -> None:
    # given: no site referral points; a welcome coupon; "Refer a friend: 500 points"
    shop = await Shop.open(gql, earnRate="0", orderPointsPending=True)
    welcome = await shop.offer("COUPON", name="Welcome 10%", valueType="PERCENT", value="10")
    await shop.configure(referralWelcomeOfferId=welcome)
    await campaign(
        shop, name="Refer a friend", trigger="REFERRAL_COMPLETED",
        effect={"kind": "FIXED_POINTS", "points": 500},
    )  # fmt: skip
    code = (await _register(shop, "ann"))["referral"]["code"]
    # when: bob registers with ann's code
    await _register(shop, "bob", referralCode=code)
    # then: bob holds the welcome voucher; ann has a friend, no points yet
    body = await gql.execute(VOUCHERS, {"id": shop.customers["bob"]}, token=shop.admin)
    assert body["data"]["customer"]["vouchers"] == [{"status": "ACTIVE", "percentOff": "10"}]
    assert await _referral(shop, "ann") == (1, 0, 0)
    # when: bob's first order is recorded (pending) and completed
    recorded = await shop.record("o-1", "bob", lines=[line("p-1", 1, "20.00")])
    assert recorded["userErrors"] == []
    assert await _referral(shop, "ann") == (1, 0, 0)
    assert (await shop.step(COMPLETE_ORDER, "o-1"))["userErrors"] == []
    # then: ann earned the campaign's 500, one entry naming it
    assert await _referral(shop, "ann") == (1, 500, 500)
    entries = await campaign_entries(shop, "ann")
    assert [(points, reason.split(": ", 1)[1]) for points, _, reason in entries] == [
        (500, "Refer a friend")
    ]
    # when: bob's second order completes, ann earns nothing more
    await _order(shop, "o-2", "bob")
    assert await _referral(shop, "ann") == (1, 500, 500)
    assert await verify_ledger(db) == []


async def test_cancelling_the_rewarding_order_takes_the_campaign_points_back_and_the_next_order_earns(  # noqa: E501
    gql: GraphQLClient, db: Database
) -> None:
    # given: the site's 300 referral points and a 500-point referral campaign with a budget
    shop = await Shop.open(gql, earnRate="0", referralPoints=300, orderPointsPending=False)
    await campaign(
        shop, name="Refer a friend", trigger="REFERRAL_COMPLETED",
        effect={"kind": "FIXED_POINTS", "points": 500}, limits={"budgetPoints": 1000},
    )  # fmt: skip
    code = (await _register(shop, "ann"))["referral"]["code"]
    await _register(shop, "bob", referralCode=code)
    # when: bob's first order is recorded (its points count at once)
    recorded = await shop.record("o-1", "bob", lines=[line("p-1", 1, "20.00")])
    assert recorded["userErrors"] == []
    # then: ann has both rewards
    assert await _referral(shop, "ann") == (1, 800, 800)
    # when: that order is cancelled
    assert (await shop.step(CANCEL_ORDER, "o-1"))["userErrors"] == []
    # then: both taken back, and the budget is whole again
    assert await _referral(shop, "ann") == (1, 0, 0)
    body = await gql.execute(
        "query($s: ID!) { campaigns(siteId: $s, first: 5) { edges { node { budgetLeft } } } }",
        {"s": shop.site_id},
        token=shop.admin,
    )
    assert body["data"]["campaigns"]["edges"][0]["node"]["budgetLeft"] == 1000
    # when: bob's next order is recorded, it is the one that rewards ann
    recorded = await shop.record("o-2", "bob", lines=[line("p-1", 1, "20.00")])
    assert recorded["userErrors"] == []
    assert await _referral(shop, "ann") == (1, 800, 800)
    assert await verify_ledger(db) == []


async def test_birthday_points_once_a_year_with_the_job_run_twice(
    gql: GraphQLClient, db: Database, clock: Clock
) -> None:
    # given: 100 points on your birthday, in a site east of UTC; ann born on 10 March,
    # bob on 11 March
    shop = await Shop.open(gql, timezone="Pacific/Auckland")
    await campaign(
        shop, name="Happy birthday", trigger="BIRTHDAY",
        effect={"kind": "FIXED_POINTS", "points": 100},
    )  # fmt: skip
    await _register(shop, "ann", birthDate={"month": 3, "day": 10})
    await _register(shop, "bob", birthDate={"month": 3, "day": 11, "year": 1990})
    # when: the job runs twice at 9 March 12:00 UTC, already 10 March in Auckland
    clock.now = datetime(2027, 3, 9, 12, 0, tzinfo=UTC)
    first = await run_birthdays(db, clock=clock)
    second = await run_birthdays(db, clock=clock)
    # then: ann got 100 once; bob nothing yet
    assert (first.birthdays, second.birthdays) == (1, 1)
    assert (await shop.balance("ann"))["available"] == 100
    assert (await shop.balance("bob"))["available"] == 0
    # when: the next days run (bob's birthday), and again later that year on ann's date
    clock.now += timedelta(days=1)
    await run_birthdays(db, clock=clock)
    await run_birthdays(db, clock=clock, on_date=date(2027, 3, 10))
    # then: bob got his 100; ann still 100 for 2027
    assert (await shop.balance("ann"))["available"] == 100
    assert (await shop.balance("bob"))["available"] == 100
    # when: a year later
    clock.now = datetime(2028, 3, 9, 12, 0, tzinfo=UTC)
    await run_birthdays(db, clock=clock)
    # then: ann's 2028 birthday
    assert (await shop.balance("ann"))["available"] == 200
    assert await verify_ledger(db) == []


async def test_two_first_orders_of_the_friend_at_once_reward_the_referrer_once(
    gql: GraphQLClient, db: Database
) -> None:
    # given: the site's 300 referral points and a 500-point referral campaign; bob, ann's
    # friend, has no order yet
    shop = await Shop.open(gql, earnRate="0", referralPoints=300, orderPointsPending=False)
    await campaign(
        shop, name="Refer a friend", trigger="REFERRAL_COMPLETED",
        effect={"kind": "FIXED_POINTS", "points": 500},
    )  # fmt: skip
    code = (await _register(shop, "ann"))["referral"]["code"]
    await _register(shop, "bob", referralCode=code)
    # when: four orders of bob are recorded at the same moment
    results = await asyncio.gather(
        *(shop.record(f"o-{n}", "bob", lines=[line("p-1", 1, "20.00")]) for n in range(1, 5))
    )
    # then: every order recorded, and ann rewarded once
    assert [r["userErrors"] for r in results] == [[]] * 4
    assert await _referral(shop, "ann") == (1, 800, 800)
    assert await verify_ledger(db) == []


async def test_with_points_at_once_and_only_a_campaign_the_friends_first_order_alone_rewards(
    gql: GraphQLClient, db: Database
) -> None:
    # given: points available at recording, no site referral points, a referral campaign
    shop = await Shop.open(gql, earnRate="0", orderPointsPending=False)
    await campaign(
        shop, name="Refer a friend", trigger="REFERRAL_COMPLETED",
        effect={"kind": "FIXED_POINTS", "points": 500},
    )  # fmt: skip
    code = (await _register(shop, "ann"))["referral"]["code"]
    await _register(shop, "bob", referralCode=code)
    # when: bob's first order is recorded (it counts at once)
    recorded = await shop.record("o-1", "bob", lines=[line("p-1", 1, "20.00")])
    assert recorded["userErrors"] == []
    # then: ann earned the campaign's 500
    assert await _referral(shop, "ann") == (1, 500, 500)
    # when: bob orders again
    recorded = await shop.record("o-2", "bob", lines=[line("p-1", 1, "20.00")])
    assert recorded["userErrors"] == []
    # then: the link was rewarded by the first order: nothing more
    assert await _referral(shop, "ann") == (1, 500, 500)
    # when: the rewarding order is cancelled, its reward is taken back
    assert (await shop.step(CANCEL_ORDER, "o-1"))["userErrors"] == []
    assert await _referral(shop, "ann") == (1, 0, 0)
    assert await verify_ledger(db) == []
