"""Leaderboards (issue #18): boards defined and published by admins, scores kept in the
transactions that cause them, what a customer sees (the top with ranks shared by ties,
their own place with neighbours, names only when opted in), periods in the site's
timezone, and the period-end prizes given once however often the job runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import LeaderboardAwardRow, OutboxEventRow
from loyalty_gql.db.repositories.leaderboards import count_mismatches
from loyalty_gql.services.leaderboard_prizes import award_prizes
from loyalty_gql.services.leaderboards.verify import verify_leaderboards
from tests.conftest import GraphQLClient, StatementCounter
from tests.support.clock import Clock
from tests.support.operations import CANCEL_ORDER, COMPLETE_ORDER, GRANT_POINTS, REFUND_ORDER
from tests.support.shop import Shop, line

BOARD_FIELDS = (
    "id code name metric period size neighbours live prizes { fromRank toRank points offerId }"
)

CREATE = f"""
mutation($input: CreateLeaderboardInput!) {{
  createLeaderboard(input: $input) {{
    leaderboard {{ {BOARD_FIELDS} }} userErrors {{ field code }}
  }}
}}
"""
UPDATE = f"""
mutation($input: UpdateLeaderboardInput!) {{
  updateLeaderboard(input: $input) {{
    leaderboard {{ {BOARD_FIELDS} }} userErrors {{ field code }}
  }}
}}
"""
PUBLISH = """
mutation($input: PublishLeaderboardInput!) {
  publishLeaderboard(input: $input) { leaderboard { live } userErrors { field code } }
}
"""
UNPUBLISH = """
mutation($input: PublishLeaderboardInput!) {
  unpublishLeaderboard(input: $input) { leaderboard { live } userErrors { field code } }
}
"""
LIST = "query($s: ID!) { leaderboards(siteId: $s) { code live } }"
ADMIN_LIST = (
    "query($s: ID!) { leaderboards(siteId: $s) "
    "{ currentPeriodKey scoredCustomers prizesGiven awardedUntil } }"
)
PROFILE = """
mutation($input: SetLeaderboardProfileInput!) {
  setLeaderboardProfile(input: $input) { profile { displayName optIn } userErrors { field code } }
}
"""
PLACE = "rank name anonymous score isViewer"
VIEW = f"""
query {{
  viewer {{
    leaderboards {{
      name periodKey
      top {{ {PLACE} }}
      viewer {{ place {{ {PLACE} }} above {{ {PLACE} }} below {{ {PLACE} }} }}
    }}
  }}
}}
"""


async def _board(shop: Shop, *, publish: bool = True, **fields: Any) -> str:
    terms = {"code": "top", "name": "Top", "metric": "POINTS_EARNED", "period": "ALL_TIME"}
    body = await shop.gql.execute(
        CREATE, {"input": {"siteId": shop.site_id, **terms, **fields}}, token=shop.admin
    )
    payload = body["data"]["createLeaderboard"]
    assert payload["userErrors"] == [], payload
    board_id: str = payload["leaderboard"]["id"]
    if publish:
        body = await shop.gql.execute(
            PUBLISH, {"input": {"leaderboardId": board_id}}, token=shop.admin
        )
        assert body["data"]["publishLeaderboard"]["leaderboard"]["live"] is True
    return board_id


async def _boards(shop: Shop, who: str) -> list[dict[str, Any]]:
    body = await shop.gql.execute(VIEW, token=shop.customer(who))
    boards: list[dict[str, Any]] = body["data"]["viewer"]["leaderboards"]
    return boards


async def _shop(gql: GraphQLClient, **settings: Any) -> Shop:
    return await Shop.open(gql, participation="ALL_REGISTERED_CUSTOMERS", **settings)


def _ranks(places: list[dict[str, Any]]) -> list[tuple[int, int]]:
    return [(p["rank"], p["score"]) for p in places]


async def test_ties_share_a_rank_and_the_viewer_sees_their_place_with_neighbours(
    gql: GraphQLClient, db: Database
) -> None:
    # given: a live all-time board of points earned, top 3, one neighbour each side
    shop = await _shop(gql)
    await _board(shop, size=3, neighbours=1)
    points = {"ann": 100, "bob": 50, "cat": 50, "dan": 30, "eve": 50, "fay": 10, "gus": 0}
    for who, earned in points.items():
        await shop.register(who)
        if earned:
            await shop.grant(who, earned)
    # when
    [fay] = await _boards(shop, "fay")
    [dan] = await _boards(shop, "dan")
    [gus] = await _boards(shop, "gus")
    # then: 1, 2, 2 at the top (three share 50: the fourth place is rank 5)
    assert _ranks(fay["top"]) == [(1, 100), (2, 50), (2, 50)]
    assert _ranks([fay["viewer"]["place"]]) == [(6, 10)]
    assert fay["viewer"]["place"]["isViewer"] is True
    assert _ranks(fay["viewer"]["above"]) == [(5, 30)]
    assert fay["viewer"]["below"] == []
    assert _ranks(dan["viewer"]["above"]) == [(2, 50)]
    assert _ranks([dan["viewer"]["place"]]) == [(5, 30)]
    assert _ranks(dan["viewer"]["below"]) == [(6, 10)]
    # nobody opted in: everyone anonymous, each by a label of their own
    names = [p["name"] for p in fay["top"]]
    assert all(p["anonymous"] for p in fay["top"])
    assert all(name.startswith("Member ") for name in names)
    assert len(set(names)) == 3
    # a customer without points has no place
    assert gus["viewer"] is None
    # only what is asked is read: the top alone, through fragments too
    fragments = (
        "query { viewer { leaderboards { ...B } } } fragment B on ViewerLeaderboard "
        f"{{ ... on ViewerLeaderboard {{ top {{ {PLACE} }} }} }}"
    )
    body = await gql.execute(fragments, token=shop.customer("fay"))
    assert body["data"]["viewer"]["leaderboards"] == [{"top": fay["top"]}]
    async with db.read_sessions() as session:
        assert await count_mismatches(session) == []


async def test_a_display_name_shows_only_while_opted_in(gql: GraphQLClient) -> None:
    # given
    shop = await _shop(gql)
    await _board(shop)
    for who, earned in (("ann", 100), ("bob", 50)):
        await shop.register(who)
        await shop.grant(who, earned)

    async def profile(who: str, **input: Any) -> dict[str, Any]:
        body = await gql.execute(PROFILE, {"input": input}, token=shop.customer(who))
        result: dict[str, Any] = body["data"]["setLeaderboardProfile"]
        return result

    # when: opting in without a name is refused, then ann opts in with one
    refused = await profile("ann", optIn=True)
    bad = await profile("ann", optIn=True, displayName="x" * 41)
    done = await profile("ann", optIn=True, displayName="  Annie ")
    [board] = await _boards(shop, "bob")
    # then
    assert refused["userErrors"] == [{"field": ["input", "displayName"], "code": "REQUIRED"}]
    assert bad["userErrors"][0]["code"] == "INVALID_VALUE"
    assert done["profile"] == {"displayName": "Annie", "optIn": True}
    assert (board["top"][0]["name"], board["top"][0]["anonymous"]) == ("Annie", False)
    assert board["top"][1]["anonymous"] is True
    # opting out hides the name again (kept for later)
    out = await profile("ann", optIn=False)
    [board] = await _boards(shop, "ann")
    assert out["profile"] == {"displayName": "Annie", "optIn": False}
    assert board["top"][0]["anonymous"] is True
    assert board["viewer"]["place"]["anonymous"] is True


async def test_weeks_and_months_turn_at_midnight_in_the_sites_timezone(
    gql: GraphQLClient, clock: Clock
) -> None:
    # given: a site in Auckland (UTC+13 in January); Monday 19 January starts at
    # 11:00 UTC on Sunday 18 January there
    zone = ZoneInfo("Pacific/Auckland")
    shop = await _shop(gql, timezone="Pacific/Auckland")
    await _board(shop, code="week", period="WEEK")
    await _board(shop, code="month", period="MONTH")
    await shop.register("ann")
    monday = datetime(2026, 1, 19, tzinfo=zone).astimezone(UTC)
    # when: 40 points a minute before the local Monday, 2 a minute after
    clock.now = monday - timedelta(minutes=1)
    await shop.grant("ann", 40)
    before = await _boards(shop, "ann")
    clock.now = monday + timedelta(minutes=1)
    await shop.grant("ann", 2)
    after = await _boards(shop, "ann")
    # the month turns at local midnight too: 31 January 11:00 UTC is 1 February there
    clock.now = datetime(2026, 2, 1, tzinfo=zone).astimezone(UTC) + timedelta(minutes=1)
    await shop.grant("ann", 5)
    february = await _boards(shop, "ann")
    # then
    assert [(b["periodKey"], b["viewer"]["place"]["score"]) for b in before] == [
        ("2026-W03", 40),
        ("2026-01", 40),
    ]
    assert [(b["periodKey"], b["viewer"]["place"]["score"]) for b in after] == [
        ("2026-W04", 2),
        ("2026-01", 42),
    ]
    assert [(b["periodKey"], b["viewer"]["place"]["score"]) for b in february] == [
        ("2026-W05", 5),
        ("2026-02", 5),
    ]


async def test_amount_spent_counts_at_completion_and_leaves_with_a_cancellation(
    gql: GraphQLClient,
) -> None:
    # given: a board of amount spent
    shop = await _shop(gql)
    await _board(shop, metric="AMOUNT_SPENT")
    await shop.register("ann")
    await shop.register("bob")
    basket: dict[str, Any] = {"lines": [line("p1", 2, "12.50")]}
    for order_id, who in (("o-1", "ann"), ("o-2", "bob")):
        assert (await shop.record(order_id, who, **basket))["userErrors"] == []
    placed = await _boards(shop, "ann")
    # when: both complete, then ann's is cancelled
    for order_id in ("o-1", "o-2"):
        assert (await shop.step(COMPLETE_ORDER, order_id))["userErrors"] == []
    completed = await _boards(shop, "ann")
    assert (await shop.step(CANCEL_ORDER, "o-1"))["userErrors"] == []
    cancelled = await _boards(shop, "ann")
    refund = await shop.step(REFUND_ORDER, "o-2", refundId="r-1", amount="5.00")
    refunded = await _boards(shop, "bob")
    # then: minor units, counted from completion; the cancelled order's spend is gone
    assert placed[0]["top"] == []
    assert _ranks(completed[0]["top"]) == [(1, 2500), (1, 2500)]
    assert _ranks(cancelled[0]["top"]) == [(1, 2500)]
    assert cancelled[0]["viewer"] is None
    # a refund of a completed order takes its money back
    assert refund["userErrors"] == []
    assert _ranks(refunded[0]["top"]) == [(1, 2000)]


async def test_admins_define_publish_and_list_boards_and_bad_input_changes_nothing(
    gql: GraphQLClient,
) -> None:
    shop = await _shop(gql)
    offer = await shop.offer("REWARD", name="Coffee", valueType="FIXED_AMOUNT", value="3",
                             loyaltyPrice=50)  # fmt: skip
    board_id = await _board(
        shop, publish=False, prizes=[{"fromRank": 1, "toRank": 3, "points": 100,
                                      "offerId": offer}],
    )  # fmt: skip

    async def run(query: str, **input: Any) -> dict[str, Any]:
        body = await gql.execute(query, {"input": input}, token=shop.admin)
        [payload] = body["data"].values()
        assert isinstance(payload, dict)
        return payload

    bad_size = await run(CREATE, siteId=shop.site_id, code="x", name="X",
                         metric="POINTS_EARNED", period="WEEK", size=0)  # fmt: skip
    duplicate = await run(CREATE, siteId=shop.site_id, code="top", name="X",
                          metric="POINTS_EARNED", period="WEEK")  # fmt: skip
    overlapping = await run(
        UPDATE,
        leaderboardId=board_id,
        prizes=[
            {"fromRank": 1, "toRank": 3, "points": 1},
            {"fromRank": 3, "toRank": 4, "points": 1},
        ],
    )
    custom_without_dates = await run(UPDATE, leaderboardId=board_id, period="CUSTOM")
    draft_metric = await run(UPDATE, leaderboardId=board_id, metric="AMOUNT_SPENT")
    await run(UPDATE, leaderboardId=board_id, metric="POINTS_EARNED")
    await run(PUBLISH, leaderboardId=board_id)
    live_metric = await run(UPDATE, leaderboardId=board_id, metric="AMOUNT_SPENT")
    renamed = await run(UPDATE, leaderboardId=board_id, name="Best of all", size=5)
    await shop.register("ann")
    await shop.grant("ann", 10)
    counted = await gql.execute(ADMIN_LIST, {"s": shop.site_id}, token=shop.admin)
    listed = await gql.execute(LIST, {"s": shop.site_id}, token=shop.admin)
    await run(UNPUBLISH, leaderboardId=board_id)
    after = await gql.execute(LIST, {"s": shop.site_id}, token=shop.admin)
    unpublished_metric = await run(UPDATE, leaderboardId=board_id, metric="AMOUNT_SPENT")
    customer = await gql.execute(LIST, {"s": shop.site_id}, token=shop.customer("ann"),
                                 expect_errors=True)  # fmt: skip

    assert bad_size["userErrors"] == [{"field": ["input", "size"], "code": "INVALID_VALUE"}]
    assert duplicate["userErrors"] == [{"field": ["input", "code"], "code": "DUPLICATE"}]
    assert overlapping["userErrors"][0]["code"] == "INVALID_VALUE"
    assert {e["code"] for e in custom_without_dates["userErrors"]} == {"REQUIRED"}
    assert draft_metric["userErrors"] == []
    assert draft_metric["leaderboard"]["metric"] == "AMOUNT_SPENT"
    assert live_metric["userErrors"] == [{"field": ["input", "metric"], "code": "INVALID_STATE"}]
    # once published, always by its terms (its scores were counted by them)
    assert unpublished_metric["userErrors"] == live_metric["userErrors"]
    assert renamed["leaderboard"]["name"] == "Best of all"
    assert renamed["leaderboard"]["prizes"] == [
        {"fromRank": 1, "toRank": 3, "points": 100, "offerId": offer}
    ]
    assert listed["data"]["leaderboards"] == [{"code": "top", "live": True}]
    assert counted["data"]["leaderboards"][0]["scoredCustomers"] == 1
    assert after["data"]["leaderboards"] == [{"code": "top", "live": False}]
    assert customer["data"] is None


async def test_viewer_leaderboards_is_a_fixed_number_of_statements(
    gql: GraphQLClient, statements: StatementCounter
) -> None:
    # given: one board with 2 customers scored
    shop = await _shop(gql)
    await _board(shop, size=100, neighbours=10)
    for n in range(2):
        await shop.register(f"c{n}")
        await shop.grant(f"c{n}", 10 + n)
    token = shop.customer("c0")

    async def count() -> int:
        with statements:
            await gql.execute(VIEW, token=token)
        return statements.count

    await count()  # the token's customer is looked up once, then remembered
    small = await count()
    first = list(statements.statements)
    # when: 30 customers more, some tied, and two more boards
    for n in range(2, 32):
        await shop.register(f"c{n}")
        await shop.grant(f"c{n}", 10 + n % 7)
    await _board(shop, code="week", period="WEEK", size=100, neighbours=10)
    await _board(shop, code="month", period="MONTH", size=3, neighbours=1)
    await shop.grant("c0", 1)
    body = await gql.execute(VIEW, token=token)
    large = await count()
    # then: the same number of statements for 2 lines of one board and 32 of three
    boards = body["data"]["viewer"]["leaderboards"]
    assert [len(b["top"]) for b in boards] == [32, 1, 1]
    # c0 has 11: ten above it (c1 ties and sorts first), the four with 10 below
    assert len(boards[0]["viewer"]["above"]) == 10
    assert _ranks(boards[0]["viewer"]["below"]) == [(29, 10)] * 4
    assert large == small, (first, statements.statements)


async def test_period_end_prizes_are_given_once_however_often_the_job_runs(
    gql: GraphQLClient, db: Database, clock: Clock
) -> None:
    # given: a monthly board, 500 points for ranks 1-2 and a voucher for rank 1
    shop = await _shop(gql)
    offer = await shop.offer("REWARD", name="Coffee", valueType="FIXED_AMOUNT", value="3",
                             loyaltyPrice=50)  # fmt: skip
    prizes = [
        {"fromRank": 1, "toRank": 1, "points": 1000, "offerId": offer},
        {"fromRank": 2, "toRank": 2, "points": 500},
    ]
    await _board(shop, period="MONTH", prizes=prizes)
    for who, earned in (("ann", 90), ("bob", 70), ("cat", 70), ("dan", 60)):
        await shop.register(who)
        await shop.grant(who, earned)
    # when: the job runs before the month ends, then twice after (on PostgreSQL also
    # twice at once)
    early = await award_prizes(db, clock=clock)
    clock.now = datetime(2026, 2, 1, 0, 5, tzinfo=UTC)
    first = await award_prizes(db, clock=clock)
    second = await award_prizes(db, clock=clock)
    if not db.is_sqlite:
        both = await asyncio.gather(award_prizes(db, clock=clock), award_prizes(db, clock=clock))
        assert [r.awards for r in both] == [0, 0]
    # then: rank 1 (ann) and the tie at rank 2 (bob and cat) are rewarded, dan not
    assert (early.awards, first.awards, second.awards) == (0, 3, 0)
    balances = {who: (await shop.balance(who))["available"] for who in ("ann", "bob", "cat", "dan")}
    assert balances == {"ann": 1090, "bob": 570, "cat": 570, "dan": 60}
    assert len(await shop.vouchers("ann")) == 1
    async with db.read_sessions() as session:
        events = await session.scalar(
            select(func.count())
            .select_from(OutboxEventRow)
            .where(OutboxEventRow.kind == "LEADERBOARD_REWARD")
        )
        awards = list(await session.scalars(select(LeaderboardAwardRow)))
    assert events == 3
    assert sorted((a.rank, a.points, a.period_key) for a in awards) == [
        (1, 1000, "2026-01"),
        (2, 500, "2026-01"),
        (2, 500, "2026-01"),
    ]
    # what admins see: February's period has nobody yet, three prizes given
    admin = await gql.execute(ADMIN_LIST, {"s": shop.site_id}, token=shop.admin)
    assert admin["data"]["leaderboards"] == [
        {"currentPeriodKey": "2026-02", "scoredCustomers": 0, "prizesGiven": 3,
         "awardedUntil": "2026-02-01T00:00:00+00:00"}
    ]  # fmt: skip
    # the prize points do not count on the points board of February
    [board] = await _boards(shop, "ann")
    assert board["periodKey"] == "2026-02"
    assert board["top"] == []


async def test_a_reversed_earning_leaves_the_board_of_its_period(
    gql: GraphQLClient, clock: Clock
) -> None:
    # given: points earned in January on a monthly board
    shop = await _shop(gql)
    await _board(shop, period="MONTH")
    await shop.register("ann")
    basket: dict[str, Any] = {"lines": [line("p1", 1, "40.00")]}
    assert (await shop.record("o-1", "ann", **basket))["userErrors"] == []
    pending = await _boards(shop, "ann")
    assert (await shop.step(COMPLETE_ORDER, "o-1"))["userErrors"] == []
    january = await _boards(shop, "ann")
    # when: the order is cancelled in February
    clock.now = datetime(2026, 2, 3, tzinfo=UTC)
    assert (await shop.step(CANCEL_ORDER, "o-1"))["userErrors"] == []
    clock.now = datetime(2026, 1, 31, tzinfo=UTC)
    after = await _boards(shop, "ann")
    # then: pending points count once available; January's score is taken back
    assert pending[0]["viewer"] is None
    assert january[0]["viewer"]["place"]["score"] == 400  # 10 points a euro
    assert after[0]["top"] == []


async def test_writes_cost_nothing_more_without_a_live_board_of_their_metric(
    gql: GraphQLClient, statements: StatementCounter
) -> None:
    # given
    shop = await _shop(gql)
    await shop.register("ann")
    grant = {"customerId": shop.customers["ann"], "points": 5, "reason": "test"}

    async def count() -> int:
        with statements:
            body = await gql.execute(GRANT_POINTS, {"input": grant}, token=shop.admin)
        assert body["data"]["grantPoints"]["userErrors"] == []
        return statements.count

    await count()
    none = await count()
    await _board(shop, code="spend", metric="AMOUNT_SPENT")
    await count()
    other_metric = await count()
    await _board(shop, code="points", metric="POINTS_EARNED")
    await count()
    scored = await count()
    # then: without boards nothing; with a board of another metric the live boards'
    # read; with one of points that read and the two upserts
    assert (other_metric - none, scored - none) == (1, 3)


async def test_verify_reports_a_score_count_that_differs_from_the_scores(
    gql: GraphQLClient, db: Database
) -> None:
    # given: a board with two customers' points
    shop = await _shop(gql)
    await _board(shop)
    for who, points in (("ann", 30), ("bob", 20)):
        await shop.register(who)
        await shop.grant(who, points)
    assert await verify_leaderboards(db) == []
    # when: a count is changed behind the service's back
    async with db.engine.begin() as connection:
        await connection.execute(
            text("UPDATE leaderboard_score_counts SET customers = customers + 1 WHERE level = 0")
        )
    # then: verify names it
    [difference, *_] = await verify_leaderboards(db)
    assert "differs from its scores" in difference
