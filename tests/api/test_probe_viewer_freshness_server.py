"""The viewer's badges, challenges, referrals, badge holders' offers and leaderboards are
never served stale by the response cache, over real HTTP: `loyalty-gql serve` on
127.0.0.1 (two workers on PostgreSQL, one on SQLite), each read on a new connection so
reads spread over the workers and each worker's cache is warm before the write.

After each write's response arrived, every read of the customer shows it: a badge granted
or revoked (and whether the offer for its holders may be bought), a badge type renamed, a
challenge published and advanced by an order, a friend registered with the customer's code
and their first order completed, another customer overtaking them on a leaderboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from loyalty_gql.config import Settings
from loyalty_gql.db.engine import Database
from loyalty_gql.services.gamification.verify import verify_gamification
from loyalty_gql.services.points.verify import verify_ledger
from tests.conftest import BACKEND, DatabaseBackend, GraphQLClient
from tests.support import gamification as g
from tests.support.server import running_server
from tests.support.shop import Shop

pytestmark = pytest.mark.concurrency(across_processes=True)

WORKERS = 2 if BACKEND == "postgres" else 1
READS = 4  # per check: with two workers, both answer some (new connection each)
VIEW = """
query {
  viewer {
    badges { code name state }
    challenges { code value completed }
    referral { code referredCount pointsEarned }
    offers { nodes { offer { name } canRedeem reason } }
  }
}
"""
BOARDS = "query { viewer { leaderboards { top { rank score isViewer } } } }"
"""Apart: viewer.leaderboards refuses the cache, which would spare the other fields."""
UPDATE_BADGE_TYPE = """
mutation($input: BadgeTypeInput!) { updateBadgeType(input: $input) {
  badgeType { name } userErrors { code } } }
"""
REGISTER = """
mutation($input: RegisterCustomerInput!) { registerCustomer(input: $input) {
  customer { id } userErrors { field code } } }
"""
BOARD = """
mutation($input: CreateLeaderboardInput!) { createLeaderboard(input: $input) {
  leaderboard { id } userErrors { code } } }
"""
PUBLISH_BOARD = """
mutation($input: PublishLeaderboardInput!) { publishLeaderboard(input: $input) {
  leaderboard { live } userErrors { code } } }
"""


@pytest.fixture
async def server(db: Database, backend: DatabaseBackend, tmp_path: Path) -> AsyncIterator[str]:
    """`loyalty-gql serve` on the test database; its base URL. Stopped by its pid."""
    del db  # emptied first
    async with running_server(backend.url, tmp_path / "server.log", workers=WORKERS) as base:
        yield base


async def views(server: str, token: str, query: str = VIEW) -> list[dict[str, Any]]:
    """READS answers of the viewer ``query``, each on a new connection."""
    answers = []
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server, timeout=60, limits=limits) as http:
        for _ in range(READS):
            response = await http.post(
                "/graphql", json={"query": query}, headers={"authorization": f"Bearer {token}"}
            )
            body = response.json()
            assert response.status_code == 200, body
            assert "errors" not in body, body
            answers.append(body["data"]["viewer"])
    return answers


async def test_the_viewers_gamification_reads_show_every_write_at_once(
    server: str, settings: Settings, db: Database
):
    async with httpx.AsyncClient(base_url=server, timeout=60) as http:
        gql = GraphQLClient(http, settings)
        # given: a site with a badge, an offer for its holders, a live board; ann, whose
        # reads every worker has cached
        shop = await Shop.open(gql, referralPoints=100)
        await shop.register("ann", enroll=True)
        await shop.register("bob", enroll=True)
        await g.badge_type(shop, "gold")
        await shop.offer("REWARD", name="Gold mug", valueType="FIXED_AMOUNT", value="1",
                         loyaltyPrice=1, badgeCodes=["gold"])  # fmt: skip
        body = await gql.execute(
            BOARD,
            {"input": {"siteId": shop.site_id, "code": "top", "name": "Top",
                       "metric": "POINTS_EARNED", "period": "ALL_TIME"}},
            token=shop.admin,
        )  # fmt: skip
        board = body["data"]["createLeaderboard"]["leaderboard"]["id"]
        await gql.execute(PUBLISH_BOARD, {"input": {"leaderboardId": board}}, token=shop.admin)
        await shop.grant("ann", 50)
        ann = shop.customer("ann")
        [first, *_] = await views(server, ann)
        assert first["badges"] == [{"code": "gold", "name": "Gold", "state": "LOCKED"}]
        assert first["offers"]["nodes"] == [
            {"offer": {"name": "Gold mug"}, "canRedeem": False, "reason": "BADGE_REQUIRED"}
        ]
        [boards, *_] = await views(server, ann, BOARDS)
        assert boards["leaderboards"] == [{"top": [{"rank": 1, "score": 50, "isViewer": True}]}]
        code = first["referral"]["code"]

        # when: the badge is granted; then every read has it, and the holders' offer
        assert (await g.grant(shop, "ann", "gold"))["userErrors"] == []
        for view in await views(server, ann):
            assert view["badges"] == [{"code": "gold", "name": "Gold", "state": "EARNED"}]
            assert view["offers"]["nodes"] == [
                {"offer": {"name": "Gold mug"}, "canRedeem": True, "reason": None}
            ]

        # when: the badge type is renamed
        body = await gql.execute(
            UPDATE_BADGE_TYPE,
            {"input": {"siteId": shop.site_id, "code": "gold", "name": "Golden"}},
            token=shop.admin,
        )
        assert body["data"]["updateBadgeType"]["userErrors"] == []
        for view in await views(server, ann):
            assert view["badges"] == [{"code": "gold", "name": "Golden", "state": "EARNED"}]

        # when: a challenge is published, then ann's order counts towards it
        await g.challenge(shop, "two", goalKind="COUNT", target=2,
                          rewards=[{"kind": "POINTS", "points": 5}])  # fmt: skip
        for view in await views(server, ann):
            assert view["challenges"] == [{"code": "two", "value": 0, "completed": 0}]
        await g.order(shop, "o-ann", "ann")
        for view in await views(server, ann):
            assert view["challenges"] == [{"code": "two", "value": 1, "completed": 0}]

        # when: a friend registers with ann's code, and the friend's first order completes
        body = await gql.execute(
            REGISTER,
            {"input": {"siteId": shop.site_id, "externalId": "fred", "enroll": True,
                       "referralCode": code}},
            token=shop.service,
        )  # fmt: skip
        assert body["data"]["registerCustomer"]["userErrors"] == []
        shop.customers["fred"] = body["data"]["registerCustomer"]["customer"]["id"]
        for view in await views(server, ann):
            assert view["referral"] == {"code": code, "referredCount": 1, "pointsEarned": 0}
        await g.order(shop, "o-fred", "fred")
        for view in await views(server, ann):
            assert view["referral"] == {"code": code, "referredCount": 1, "pointsEarned": 100}

        # when: bob overtakes ann on the board (another customer's write)
        [before] = (await views(server, ann, BOARDS))[-1]["leaderboards"]
        ann_score = before["top"][0]["score"]
        await shop.grant("bob", ann_score + 1000)
        for view in await views(server, ann, BOARDS):
            [top] = view["leaderboards"]
            assert top["top"][0] == {"rank": 1, "score": ann_score + 1000, "isViewer": False}

        # when: the badge is revoked: gone, and its holders' offer with it
        body = await gql.execute(
            g.REVOKE_BADGE,
            {"input": {"siteId": shop.site_id, "customerId": shop.customers["ann"],
                       "badgeCode": "gold"}},
            token=shop.admin,
        )  # fmt: skip
        assert body["data"]["revokeBadge"]["userErrors"] == []
        for view in await views(server, ann):
            assert [b["state"] for b in view["badges"]] == ["LOCKED"]
            assert view["offers"]["nodes"] == [
                {"offer": {"name": "Gold mug"}, "canRedeem": False, "reason": "BADGE_REQUIRED"}
            ]
    assert await verify_ledger(db) == []
    assert await verify_gamification(db) == []
