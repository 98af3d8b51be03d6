"""Badges and challenges through the API: the worked examples of issue #18."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from loyalty_gql.db.engine import Database
from loyalty_gql.services.gamification.verify import verify_gamification
from loyalty_gql.services.points.verify import verify_ledger
from tests.api.test_leaderboards import _board, _boards, _ranks
from tests.api.test_order_statement_counts import kind
from tests.conftest import GraphQLClient, StatementCounter
from tests.support.clock import Clock
from tests.support.gamification import (
    ADMIN_LISTS,
    CREATE_CHALLENGE,
    REVOKE_BADGE,
    badge_type,
    challenge,
    events_of,
    grant,
    my_badges,
    my_challenges,
    order,
    stored_counts,
)
from tests.support.operations import CANCEL_ORDER, COMPLETE_ORDER, RECORD_ACTIVITY, REFUND_ORDER
from tests.support.shop import Shop, line

THREE_IN_30_DAYS: dict[str, Any] = {
    "goalKind": "COUNT",
    "target": 3,
    "rollingDays": 30,
    "rewards": [{"kind": "POINTS", "points": 500}, {"kind": "BADGE", "badgeCode": "regular"}],
}


async def points_of(shop: Shop, external_id: str) -> int:
    balance = await shop.balance(external_id)
    return int(balance["available"])


async def test_three_orders_in_30_days_complete_on_the_third_and_reward_once(
    gql: GraphQLClient, db: Database, clock: Clock
):
    # given: a challenge "three orders in 30 days" giving 500 points and a badge
    shop = await Shop.open(gql)
    await badge_type(shop, "regular")
    await challenge(shop, "three-in-30", **THREE_IN_30_DAYS)
    await shop.register("ann", enroll=True)
    # when: two orders, ten days apart
    await order(shop, "o-1", "ann")
    clock.day(10)
    await order(shop, "o-2", "ann")
    # then: 2 of 3, not complete
    mine = (await my_challenges(shop, "ann"))["three-in-30"]
    assert (mine["value"], mine["target"], mine["completed"]) == (2, 3, 0)
    before = await points_of(shop, "ann")
    # when: the third, then a fourth
    clock.day(20)
    await order(shop, "o-3", "ann")
    after_third = await points_of(shop, "ann")
    clock.day(21)
    await order(shop, "o-4", "ann")
    order_points = await points_of(shop, "ann") - after_third  # what one order earns
    # then: completed on the third, rewarded once (500 points, the badge, one event)
    mine = (await my_challenges(shop, "ann"))["three-in-30"]
    assert (mine["value"], mine["target"], mine["completed"], mine["finished"]) == (3, 3, 1, True)
    assert after_third - before == 500 + order_points
    assert await stored_counts(db) == (1, 1, 1)
    assert [(b["code"], b["state"]) for b in await my_badges(shop, "ann")] == [
        ("regular", "EARNED")
    ]
    [done] = await events_of(db, "CHALLENGE_COMPLETED")
    assert (done["challenge_code"], done["number"], done["points"]) == ("three-in-30", 1, 500)
    assert [e["badge_code"] for e in await events_of(db, "BADGE_EARNED")] == ["regular"]
    # the milestones 1 and 2 of 3 were announced, once each
    progress = [
        (e["progress_value"], e["progress_target"])
        for e in await events_of(db, "CHALLENGE_PROGRESS")
    ]
    assert progress == [(1, 3), (2, 3)]
    # and insight counts it
    body = await gql.execute(ADMIN_LISTS, {"s": shop.site_id}, token=shop.admin)
    assert body["data"]["challenges"] == [
        {"code": "three-in-30", "completions": 1, "completedBy": 1}
    ]
    assert body["data"]["badgeTypes"] == [{"code": "regular", "holders": 1}]
    assert await verify_ledger(db) == []
    assert await verify_gamification(db) == []


async def test_a_cancelled_second_order_keeps_the_challenge_at_1_of_3(
    gql: GraphQLClient, db: Database, clock: Clock
):
    # given
    shop = await Shop.open(gql)
    await badge_type(shop, "regular")
    await challenge(shop, "three-in-30", **THREE_IN_30_DAYS)
    await shop.register("ann", enroll=True)
    await order(shop, "o-1", "ann")
    clock.day(5)
    await order(shop, "o-2", "ann")
    # when: the second is cancelled before the third
    cancelled = await shop.step(CANCEL_ORDER, "o-2")
    assert cancelled["userErrors"] == [], cancelled
    # then: 1 of 3
    mine = (await my_challenges(shop, "ann"))["three-in-30"]
    assert (mine["value"], mine["completed"]) == (1, 0)
    # when: the third order; then: 2 of 3, nothing completed nor rewarded
    clock.day(10)
    await order(shop, "o-3", "ann")
    mine = (await my_challenges(shop, "ann"))["three-in-30"]
    assert (mine["value"], mine["completed"]) == (2, 0)
    assert await stored_counts(db) == (0, 0, 0)
    # and a fourth completes it
    clock.day(11)
    await order(shop, "o-4", "ann")
    mine = (await my_challenges(shop, "ann"))["three-in-30"]
    assert (mine["value"], mine["completed"]) == (3, 1)
    assert await stored_counts(db) == (1, 1, 1)
    assert await verify_ledger(db) == []
    assert await verify_gamification(db) == []


async def test_a_rewarded_completion_stays_unless_the_challenge_reverses(
    gql: GraphQLClient, db: Database, clock: Clock
):
    # given: two challenges, one reversing completions cancelled orders no longer support
    shop = await Shop.open(gql)
    await badge_type(shop, "regular")
    await challenge(
        shop, "stays", goalKind="COUNT", target=2, rewards=[{"kind": "POINTS", "points": 100}]
    )
    await challenge(
        shop,
        "reverses",
        goalKind="COUNT",
        target=2,
        reverseOnCancel=True,
        rewards=[{"kind": "POINTS", "points": 1000}],
    )
    await shop.register("ann", enroll=True)
    start = await points_of(shop, "ann")
    await order(shop, "o-1", "ann")
    order_points = await points_of(shop, "ann") - start
    await order(shop, "o-2", "ann")
    assert await stored_counts(db) == (2, 2, 2)
    before = await points_of(shop, "ann")
    # when: an order that counted is cancelled
    await shop.step(CANCEL_ORDER, "o-2")
    # then: the first stays completed, the second is taken back with its 1000 points
    mine = await my_challenges(shop, "ann")
    assert (mine["stays"]["completed"], mine["reverses"]["completed"]) == (1, 0)
    assert mine["reverses"]["value"] == 1
    assert before - await points_of(shop, "ann") == 1000 + order_points  # and the order's
    assert await verify_ledger(db) == []
    assert await verify_gamification(db) == []


async def test_a_monthly_streak_across_a_year_boundary_follows_the_sites_timezone(
    gql: GraphQLClient, db: Database, clock: Clock
):
    # given: a site in New York and "an order in each of 3 months in a row"
    shop = await Shop.open(gql, timezone="America/New_York")
    await challenge(
        shop,
        "three-months",
        goalKind="STREAK",
        target=3,
        streakUnit="MONTH",
        rewards=[{"kind": "POINTS", "points": 300}],
    )
    await shop.register("ann", enroll=True)
    # when: orders in November, on New Year's Eve at 23:00 in New York (already 1 January
    # in UTC), and in January
    clock.now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    await order(shop, "o-nov", "ann")
    clock.now = datetime(2027, 1, 1, 4, 0, tzinfo=UTC)  # 31 December, 23:00 local
    await order(shop, "o-dec", "ann")
    mine = (await my_challenges(shop, "ann"))["three-months"]
    # then: two months in a row; an order in January keeps it, until 1 February local
    assert (mine["value"], mine["completed"]) == (2, 0)
    assert mine["endsAt"] == "2027-02-01T05:00:00+00:00"
    assert mine["timeLeftSeconds"] == 31 * 24 * 3600 + 3600  # 1 January 04:00 UTC to then
    clock.now = datetime(2027, 1, 20, 15, 0, tzinfo=UTC)
    await order(shop, "o-jan", "ann")
    mine = (await my_challenges(shop, "ann"))["three-months"]
    assert (mine["value"], mine["completed"]) == (3, 1)
    assert await stored_counts(db) == (1, 1, 1)


async def test_in_utc_the_same_orders_miss_december(gql: GraphQLClient, db: Database, clock: Clock):
    # given: the same orders on a site in UTC
    shop = await Shop.open(gql)
    await challenge(
        shop,
        "three-months",
        goalKind="STREAK",
        target=3,
        streakUnit="MONTH",
        rewards=[{"kind": "POINTS", "points": 300}],
    )
    await shop.register("ann", enroll=True)
    for order_id, at in (
        ("o-1", datetime(2026, 11, 20, 15, tzinfo=UTC)),
        ("o-2", datetime(2027, 1, 1, 4, tzinfo=UTC)),
        ("o-3", datetime(2027, 1, 20, 15, tzinfo=UTC)),
    ):
        clock.now = at
        await order(shop, order_id, "ann")
    # then: November, then January twice: one month in a row
    mine = (await my_challenges(shop, "ann"))["three-months"]
    assert (mine["value"], mine["completed"]) == (1, 0)


async def test_an_admins_badge_limits_an_offer_to_its_holders(gql: GraphQLClient, db: Database):
    # given: a VIP badge granted by an admin to ann, not bob, and a reward and a promotion
    # for VIPs only
    shop = await Shop.open(gql)
    await badge_type(shop, "vip", howToEarn="Ask us")
    await shop.register("ann", enroll=True)
    await shop.register("bob", enroll=True)
    await shop.grant("ann", 100)
    await shop.grant("bob", 100)
    granted = await grant(shop, "ann", "vip", reason="our best customer")
    assert granted["userErrors"] == [], granted
    assert granted["badge"]["reason"] == "our best customer"
    reward = await shop.offer(
        "REWARD",
        name="VIP coffee",
        valueType="FIXED_AMOUNT",
        value="3",
        loyaltyPrice=50,
        badgeCodes=["vip"],
    )
    await shop.offer(
        "PROMOTION", name="VIP 10%", valueType="PERCENT", value="10", badgeCodes=["vip"]
    )
    # when / then: redemption
    await shop.voucher("ann", reward)
    body = await gql.execute(
        "mutation($i: RedeemOfferInput!) { redeemOffer(input: $i) { userErrors { code field } } }",
        {"i": {"offerId": reward}},
        token=shop.customer("bob"),
    )
    assert body["data"]["redeemOffer"]["userErrors"] == [
        {"code": "BADGE_REQUIRED", "field": ["input", "offerId"]}
    ]
    # checkout: the promotion applies to the holder only
    lines = [line("sku-1", 1, "20.00")]
    ann = await shop.checkout("ann", lines=lines)
    bob = await shop.checkout("bob", lines=lines)
    assert [o["name"] for o in ann["appliedOffers"]] == ["VIP 10%"]
    assert bob["appliedOffers"] == []
    # My offers: the reward cannot be bought by bob, and says why
    mine = """query { viewer { offers(first: 10) { edges { node {
                offer { name } canRedeem reason } } } } }"""
    body = await gql.execute(mine, token=shop.customer("bob"))
    nodes = [e["node"] for e in body["data"]["viewer"]["offers"]["edges"]]
    assert [(n["offer"]["name"], n["canRedeem"], n["reason"]) for n in nodes] == [
        ("VIP coffee", False, "BADGE_REQUIRED")
    ]
    # when: the badge is revoked, ann cannot buy it any more
    body = await gql.execute(
        REVOKE_BADGE,
        {
            "input": {
                "siteId": shop.site_id,
                "customerId": shop.customers["ann"],
                "badgeCode": "vip",
            }
        },
        token=shop.admin,
    )
    assert body["data"]["revokeBadge"]["badge"]["revokedAt"] is not None
    body = await gql.execute(
        "mutation($i: RedeemOfferInput!) { redeemOffer(input: $i) { userErrors { code } } }",
        {"i": {"offerId": reward}},
        token=shop.customer("ann"),
    )
    assert body["data"]["redeemOffer"]["userErrors"] == [{"code": "BADGE_REQUIRED"}]
    assert await verify_gamification(db) == []


async def test_verify_reports_badge_codes_that_differ_from_the_holdings(
    gql: GraphQLClient, db: Database
):
    shop = await Shop.open(gql)
    await badge_type(shop, "vip")
    await shop.register("ann", enroll=True)
    await grant(shop, "ann", "vip")
    assert await verify_gamification(db) == []
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE customers SET badge_codes = '[]'"))
    [problem] = await verify_gamification(db)
    assert "stored badge codes differ" in problem


async def test_badges_show_earned_with_the_date_locked_with_how_to_earn_and_hidden_not_at_all(
    gql: GraphQLClient, db: Database, clock: Clock
):
    # given
    shop = await Shop.open(gql)
    await badge_type(shop, "first-order", howToEarn="Place your first order")
    await badge_type(shop, "secret", visibility="HIDDEN_UNTIL_EARNED", howToEarn="?")
    await badge_type(shop, "explorer", howToEarn="Review two products")
    await shop.register("ann", enroll=True)
    assert [(b["code"], b["state"], b["howToEarn"]) for b in await my_badges(shop, "ann")] == [
        ("first-order", "LOCKED", "Place your first order"),
        ("explorer", "LOCKED", "Review two products"),
    ]
    # when: granted "explorer", then the secret one a day later
    await grant(shop, "ann", "explorer")
    clock.day(1)
    await grant(shop, "ann", "secret")
    again = await grant(shop, "ann", "secret")  # held already: no change
    assert again["userErrors"] == []
    # then: earned newest first, with dates, then the locked visible one
    assert [(b["code"], b["state"], b["earnedAt"]) for b in await my_badges(shop, "ann")] == [
        ("secret", "EARNED", "2026-01-16T12:00:00+00:00"),
        ("explorer", "EARNED", "2026-01-15T12:00:00+00:00"),
        ("first-order", "LOCKED", None),
    ]
    assert len(await events_of(db, "BADGE_EARNED")) == 2


async def test_an_activity_challenge_counts_reviews(gql: GraphQLClient, db: Database):
    # given: "review two products" giving a badge
    shop = await Shop.open(gql, productReviewPoints=10)
    await badge_type(shop, "critic")
    await challenge(
        shop,
        "two-reviews",
        goalKind="COUNT",
        target=2,
        counts="ACTIVITY",
        activityCode="PRODUCT_REVIEW",
        rewards=[{"kind": "BADGE", "badgeCode": "critic"}],
    )
    await shop.register("ann", enroll=True)
    # when: two reviews
    for product in ("sku-1", "sku-2"):
        body = await gql.execute(
            RECORD_ACTIVITY,
            {
                "input": {
                    "customerId": shop.customers["ann"],
                    "activity": "PRODUCT_REVIEW",
                    "reference": product,
                }
            },
            token=shop.service,
        )
        assert body["data"]["recordActivity"]["userErrors"] == [], body
    # then: completed, the badge earned
    mine = (await my_challenges(shop, "ann"))["two-reviews"]
    assert (mine["value"], mine["completed"]) == (2, 1)
    assert [b["code"] for b in await my_badges(shop, "ann") if b["state"] == "EARNED"] == ["critic"]


async def test_a_wrong_challenge_is_refused_with_codes_and_nothing_written(
    gql: GraphQLClient, db: Database
):
    shop = await Shop.open(gql)
    body = await gql.execute(
        CREATE_CHALLENGE,
        {
            "input": {
                "siteId": shop.site_id,
                "code": "bad",
                "name": "Bad",
                "goalKind": "STREAK",
                "target": 1,
                "rewards": [{"kind": "BADGE", "badgeCode": "nope"}],
            }
        },
        token=shop.admin,
    )
    payload = body["data"]["createChallenge"]
    assert payload["challenge"] is None
    assert {(tuple(e["field"]), e["code"]) for e in payload["userErrors"]} >= {
        (("input", "rewards", "0", "badgeCode"), "NOT_FOUND"),
    }
    body = await gql.execute(ADMIN_LISTS, {"s": shop.site_id}, token=shop.admin)
    assert body["data"]["challenges"] == []


async def test_the_viewers_lists_cost_the_same_statements_at_1_and_5_items(
    gql: GraphQLClient, db: Database, statements: StatementCounter, clock: Clock
):
    # given: one badge and one challenge, with some progress
    shop = await Shop.open(gql)
    await shop.register("ann", enroll=True)
    await badge_type(shop, "b-0")
    await challenge(
        shop, "c-0", goalKind="COUNT", target=5, rewards=[{"kind": "POINTS", "points": 1}]
    )
    await order(shop, "o-1", "ann")
    query = "query { viewer { badges { code } challenges { code value } } }"
    token = shop.customer("ann")
    await gql.execute(query, token=token)
    with statements:
        one = await gql.execute(query, token=token)
    few = statements.count
    # and given five of each
    for n in range(1, 5):
        await badge_type(shop, f"b-{n}")
        await grant(shop, "ann", f"b-{n}")
        await challenge(
            shop, f"c-{n}", goalKind="COUNT", target=5, rewards=[{"kind": "POINTS", "points": 1}]
        )
    clock.day(1)
    await order(shop, "o-2", "ann")
    await gql.execute(query, token=token)
    with statements:
        five = await gql.execute(query, token=token)
    # then
    assert len(one["data"]["viewer"]["challenges"]) == 1
    assert len(five["data"]["viewer"]["challenges"]) == 5
    assert len(five["data"]["viewer"]["badges"]) == 5
    assert statements.count == few


async def test_the_viewers_challenges_answer_is_not_served_after_its_progress_runs_out(
    gql: GraphQLClient, db: Database, clock: Clock, statements: StatementCounter
):
    # given: 1 of 3 in a rolling window of 30 days, the order at 12:00 on day 0
    shop = await Shop.open(gql)
    await badge_type(shop, "regular")
    await challenge(shop, "three-in-30", **THREE_IN_30_DAYS)
    await shop.register("ann", enroll=True)
    await order(shop, "o-1", "ann")
    query = "query { viewer { challenges { code value endsAt } } }"  # cacheable fields only
    token = shop.customer("ann")
    # when: read at 11:00 on day 30, twice
    clock.now = clock.start + timedelta(days=30, hours=-1)
    first = await gql.execute(query, token=token)
    with statements:  # served from the response cache: only the versions are read
        again = await gql.execute(query, token=token)
    # then: still 1 of 3, until 12:00
    assert first["data"]["viewer"]["challenges"] == [
        {"code": "three-in-30", "value": 1, "endsAt": "2026-02-14T12:00:00+00:00"}
    ]
    assert again["data"] == first["data"]
    assert len(statements.statements) == 1, statements.statements
    # when: 12:30 the same day, no write since
    clock.now += timedelta(hours=1, minutes=30)
    # then: the order left the window; the cached answer is not served
    later = await gql.execute(query, token=token)
    assert later["data"]["viewer"]["challenges"][0]["value"] == 0


async def test_completing_orders_without_live_challenges_stays_as_before(
    gql: GraphQLClient, db: Database
):
    # an unpublished challenge counts nothing
    shop = await Shop.open(gql)
    await challenge(
        shop,
        "draft",
        publish=False,
        goalKind="COUNT",
        target=1,
        rewards=[{"kind": "POINTS", "points": 5}],
    )
    await shop.register("ann", enroll=True)
    await order(shop, "o-1", "ann")
    assert await my_challenges(shop, "ann") == {}
    assert await stored_counts(db) == (0, 0, 0)
    done = await shop.step(COMPLETE_ORDER, "o-1")
    assert done["userErrors"] == []


async def test_a_repeated_challenge_counts_orders_completed_at_one_instant(
    gql: GraphQLClient, db: Database
):
    # given: "two orders", repeatedly; the clock does not move
    shop = await Shop.open(gql)
    await challenge(
        shop,
        "pairs",
        goalKind="COUNT",
        target=2,
        recurrence="REPEATEDLY",
        rewards=[{"kind": "POINTS", "points": 10}],
    )
    await shop.register("ann", enroll=True)
    # when: five orders at the same instant
    for n in range(5):
        await order(shop, f"o-{n}", "ann")
    # then: two completions, the fifth order starting the third round
    mine = (await my_challenges(shop, "ann"))["pairs"]
    assert (mine["value"], mine["completed"]) == (1, 2)
    assert await stored_counts(db) == (2, 2, 2)


async def test_spend_within_a_category_takes_a_refunded_line_back(gql: GraphQLClient, db: Database):
    # given: a challenge to spend 100.00 on shoes
    shop = await Shop.open(gql)
    await challenge(
        shop,
        "shoes-100",
        goalKind="AMOUNT",
        target=10000,
        categories=["shoes"],
        rewards=[{"kind": "POINTS", "points": 50}],
    )
    await shop.register("ann", enroll=True)
    recorded = await shop.record(
        "o-1",
        "ann",
        lines=[
            line("boot", 1, "60.00", "shoes", lineId="a"),
            line("novel", 1, "50.00", "books", lineId="b"),
        ],
    )
    assert recorded["userErrors"] == [], recorded
    await shop.step(COMPLETE_ORDER, "o-1")
    assert (await my_challenges(shop, "ann"))["shoes-100"]["value"] == 6000
    # when: the boots are refunded
    refunded = await shop.step(
        REFUND_ORDER, "o-1", refundId="r-1", lines=[{"lineId": "a", "quantity": 1}]
    )
    assert refunded["userErrors"] == [], refunded
    # then: nothing spent on shoes any more; 100.00 of shoes later completes it
    assert (await my_challenges(shop, "ann"))["shoes-100"]["value"] == 0
    await order(shop, "o-2", "ann", price="100.00", category="shoes")
    mine = (await my_challenges(shop, "ann"))["shoes-100"]
    assert (mine["value"], mine["completed"]) == (10000, 1)


async def test_completing_an_order_with_a_live_challenge_costs_a_fixed_list_more(
    gql: GraphQLClient, db: Database, statements: StatementCounter
):
    # given: one live challenge, and an order recorded
    shop = await Shop.open(gql)
    await challenge(
        shop, "five", goalKind="COUNT", target=5, rewards=[{"kind": "POINTS", "points": 10}]
    )
    await shop.register("ann", enroll=True)
    await order(shop, "o-0", "ann")
    recorded = await shop.record("o-1", "ann", lines=[line("sku-1", 1, "20.00")])
    assert recorded["userErrors"] == []
    # when
    with statements:
        done = await shop.step(COMPLETE_ORDER, "o-1")
    assert done["userErrors"] == []
    # then: the statements of test_order_statement_counts, and these between the
    # activation's and the order's own
    found = [kind(s) for s in statements.statements]
    postgres = not db.is_sqlite
    assert found == [
        *([] if postgres else ["BEGIN IMMEDIATE"]),
        "SELECT orders FOR UPDATE" if postgres else "SELECT orders",
        "SELECT ledger_entries",
        "SELECT sites",
        "SELECT point_accounts FOR UPDATE" if postgres else "SELECT point_accounts",
        # no referral read: no referral points, no campaigns
        "SELECT ledger_entries",
        "INSERT ledger_entries",
        "INSERT customer_days",
        "UPDATE point_accounts",  # flushed with the lot
        "INSERT point_lots",
        # gamification: 7 statements while the site has live challenges, none otherwise
        "SELECT challenges",  # the site's open challenges
        "INSERT challenge_facts",  # the order, for those that count it
        "UPDATE orders",  # the order's own change, flushed with it (not again below)
        "SELECT challenge_facts",  # the customer's facts of those challenges
        "SELECT challenge_completions",
        "SELECT challenge_progress",
        "INSERT outbox_events",  # CHALLENGE_PROGRESS: 2 of 5
        "UPDATE challenge_progress",
        # as before
        "INSERT outbox_events",  # ORDER_COMPLETED
        "UPDATE customers",
    ], found


async def test_a_completed_challenge_counts_on_a_challenges_leaderboard(gql: GraphQLClient):
    # given: a board of challenges completed, and a one-order challenge
    shop = await Shop.open(gql, participation="ALL_REGISTERED_CUSTOMERS")
    await _board(shop, code="doers", name="Doers", metric="CHALLENGES_COMPLETED")
    await challenge(
        shop, "first", goalKind="COUNT", target=1, rewards=[{"kind": "POINTS", "points": 5}]
    )
    await shop.register("ann", enroll=True)
    await shop.register("bob", enroll=True)
    # when: ann completes it, bob does not
    await order(shop, "o-1", "ann")
    # then: ann has 1 on the board, bob is not on it
    [board] = await _boards(shop, "ann")
    assert _ranks(board["top"]) == [(1, 1)]
    assert board["viewer"]["place"]["score"] == 1
