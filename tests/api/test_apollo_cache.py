"""Apollo Client's InMemoryCache with no typePolicies keeps the storefront's reads whole
(#16): the dashboard, a write, then the points badge (a balance-only query) leave both
answerable from the cache, complete, with no "Cache data may be lost" warning, because
Balance (and TierProgress, the next Expiry) has an ID of its own and normalises.

A real `@apollo/client` (tests/js/apollo_cache.mjs) against a real server (`loyalty-gql
serve` on 127.0.0.1, one worker, stopped by its pid). The control runs the same queries
without those ids, as a client had to before: Apollo then warns and the dashboard is no
longer complete in its cache, so the check can fail.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from loyalty_gql.db.engine import Database
from tests.api.storefront_reads import DASHBOARD_FIELDS
from tests.conftest import DatabaseBackend, GraphQLClient
from tests.support.js import JS_DIR, node_or_skip
from tests.support.operations import CREATE_TIER, GRANT_POINTS
from tests.support.shop import Shop

# the dashboard as an Apollo client sends it: every object that has an id selects it
_FIELDS = (
    DASHBOARD_FIELDS.replace("balance {", "balance { id")
    .replace("nextExpiry {", "nextExpiry { id")
    .replace("tierProgress {", "tierProgress { id")
    .replace("canRedeem", "kind canRedeem")
)
DASHBOARD = f"query ApolloDashboard {{ viewer {{ id {_FIELDS} }} }}"
BADGE = "query ApolloBadge { viewer { id balance { id available } } }"
CONTROL_DASHBOARD = DASHBOARD.replace("balance { id", "balance {").replace(
    "query ApolloDashboard", "query ControlDashboard"
)
CONTROL_BADGE = "query ControlBadge { viewer { id balance { available } } }"
LOST = "Cache data may be lost"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def server(db: Database, backend: DatabaseBackend, tmp_path: Path) -> AsyncIterator[str]:
    """`loyalty-gql serve` (one worker) on the test database, rate limits off; the
    GraphQL URL. Stopped by its pid."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env.update(
        LOYALTY_DATABASE_URL=backend.url, LOYALTY_HOST="127.0.0.1", LOYALTY_PORT=str(port),
        LOYALTY_WORKERS="1", LOYALTY_LOG_LEVEL="warning", LOYALTY_RATE_LIMIT_REQUESTS="0",
        LOYALTY_RATE_LIMIT_COST="0", LOYALTY_RATE_LIMIT_UNKNOWN_CODES="0",
    )  # fmt: skip
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603, ASYNC220 - our own command line, started once
            [str(Path(sys.executable).with_name("loyalty-gql")), "serve"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        async with httpx.AsyncClient() as client:
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"the server exited:\n{log.read_text()[-2000:]}")
                try:
                    if (await client.get(f"{base}/healthz", timeout=1)).text == "ok":
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("the server did not answer /healthz")
                await asyncio.sleep(0.1)
        yield f"{base}/graphql"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck server
            proc.kill()
            proc.wait()


async def _ann(gql: GraphQLClient) -> Shop:
    """ann: 500 points valid a year, in Silver on her way to Gold, a reward she can buy."""
    shop = await Shop.open(gql, validityPolicy="FIXED_DAYS", validityDays=365)
    await shop.register("ann", enroll=True)
    for name, rank, threshold in (("Silver", 1, 100), ("Gold", 2, 5000)):
        body = await gql.execute(
            CREATE_TIER,
            {"input": {"siteId": shop.site_id, "name": name, "rank": rank,
                       "metric": "POINTS_EARNED", "threshold": threshold}},
            token=shop.admin,
        )  # fmt: skip
        assert body["data"]["createTier"]["userErrors"] == []
    await shop.offer("REWARD", name="5 off", valueType="FIXED_AMOUNT", value="5", loyaltyPrice=300)
    await shop.grant("ann", 500)
    return shop


def _run(node: str, config: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - our own script
        [node, "--conditions=development", str(JS_DIR / "apollo_cache.mjs"), json.dumps(config)],
        cwd=JS_DIR, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def test_the_dashboard_and_the_badge_stay_complete_in_apollos_cache(
    gql: GraphQLClient, server: str
) -> None:
    node = node_or_skip()
    # given
    shop = await _ann(gql)
    write = {
        "token": shop.admin,
        "query": GRANT_POINTS,
        "variables": {"input": {"customerId": shop.customers["ann"], "points": 50,
                                "reason": "between the reads"}},
    }  # fmt: skip
    config = {
        "url": server, "token": shop.customer("ann"), "dashboard": DASHBOARD, "badge": BADGE,
        "write": write, "control": {"dashboard": CONTROL_DASHBOARD, "badge": CONTROL_BADGE},
    }  # fmt: skip
    # when: the dashboard, 50 points more, then the badge (from the network)
    outcome = await asyncio.to_thread(_run, node, config)
    # then: the cache answers both completely, and the badge's balance is the dashboard's
    assert outcome["development"] is True  # Apollo's data-loss check is on
    result = outcome["result"]
    lost = [w for w in result["warnings"] if LOST in w]
    print(  # noqa: T201 - the numbers for the report
        f"\napollo: dashboard complete={result['dashboardComplete']}, badge complete="
        f"{result['badgeComplete']}, data-loss warnings={len(lost)}; control (no ids): "
        f"dashboard complete={outcome['control']['dashboardComplete']}, data-loss warnings="
        f"{sum(LOST in w for w in outcome['control']['warnings'])}"
    )
    assert lost == []
    assert (result["dashboardComplete"], result["badgeComplete"]) == (True, True)
    assert result["badgeFromCache"] == result["badgeFromNetwork"]
    assert result["badgeFromNetwork"]["viewer"]["balance"]["available"] == 550
    cached, fetched = result["dashboardFromCache"], result["dashboardFromNetwork"]
    assert cached["viewer"]["balance"]["available"] == 550  # one Balance record, updated
    assert fetched["viewer"]["balance"]["available"] == 500
    cached["viewer"]["balance"]["available"] = 500
    assert cached == fetched  # nothing else was lost or changed
    assert fetched["viewer"]["balance"]["nextExpiry"]["points"] == 500
    assert fetched["viewer"]["tierProgress"]["nextTier"]["name"] == "Gold"
    # and without the ids the same reads lose the dashboard's balance, with Apollo's warning
    control = outcome["control"]
    assert [w for w in control["warnings"] if LOST in w] != []
    assert any("balance field of a Customer" in w for w in control["warnings"]), control["warnings"]
    assert control["dashboardComplete"] is False
