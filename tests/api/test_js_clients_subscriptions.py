"""Apollo Client 4 and graphql-ws (clients nobody here wrote) subscribe to viewerUpdates on
a real server: a write of the shop arrives and updates the cached dashboard, with no
typePolicies; a bad token is refused with 4403 (tests/js/apollo_subscriptions.mjs)."""

from __future__ import annotations

import asyncio
import os

import httpx
import orjson

from loyalty_gql.config import Settings
from tests.api.test_read_consistency_server import server
from tests.conftest import GraphQLClient
from tests.support.js import JS_DIR, node_or_skip
from tests.support.shop import Shop

__all__ = ["server"]  # the fixture, shared with the read-consistency test


async def test_apollo_client_keeps_its_cached_dashboard_current_over_websocket(
    server: str, settings: Settings
):
    # given: a customer with 100 points, and Apollo Client in node
    node = node_or_skip()
    async with httpx.AsyncClient(base_url=server, timeout=60) as http:
        shop = await Shop.open(GraphQLClient(http, settings), "js-live")
        await shop.register("ann", enroll=True)
        await shop.grant("ann", 100)
    env = {
        **os.environ,
        "BASE_URL": server,
        "CUSTOMER_TOKEN": shop.customer("ann"),
        "ADMIN_TOKEN": shop.admin,
        "CUSTOMER_ID": shop.customers["ann"],
        "POINTS": "120",
    }
    # when: it queries the dashboard, subscribes, and the shop grants 120 points
    process = await asyncio.create_subprocess_exec(
        node, str(JS_DIR / "apollo_subscriptions.mjs"), cwd=JS_DIR, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()[-3000:]
    found = orjson.loads(out.decode().strip().splitlines()[-1])
    # then: the update arrived, and the cached dashboard shows it without a refetch
    assert found["before"]["balance"] == {"available": 100, "__typename": "Balance"}
    assert [u["reason"] for u in found["updates"]] == ["SUBSCRIBED", "CHANGED"]
    assert found["changed"]["customer"]["balance"]["available"] == 220
    assert found["cached"]["id"] == shop.customers["ann"]
    assert found["cached"]["balance"]["available"] == 220
    assert found["warnings"] == []
    assert found["refused"] == 4403
