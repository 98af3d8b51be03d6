"""Rate limits per caller (requests, query cost, unknown coupon codes) and extensions.cost,
with counters in process and in Redis (127.0.0.1:6379), one worker and four."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from loyalty_gql.api.app import create_app
from loyalty_gql.api.throttle import Throttle
from loyalty_gql.config import Settings
from loyalty_gql.db.engine import Database
from tests.conftest import GraphQLClient
from tests.support.clock import Clock
from tests.support.shop import create_site

REDIS_URL = os.environ.get("LOYALTY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TYPENAME = {"query": "{ __typename }"}
CUSTOMERS = 'query { customers(siteId: "U2l0ZTox", first: 20) { nodes { id } } }'  # cost 21


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(params=["memory", "redis"])
def settings(request: pytest.FixtureRequest) -> Settings:
    """Tight limits; counters in process, or in Redis under a prefix of this test's own."""
    shared: dict[str, Any] = {}
    if request.param == "redis":
        if not _redis_up():
            pytest.skip("Redis is not running on 127.0.0.1:6379")
        shared = {"redis_url": REDIS_URL, "redis_prefix": f"test-{uuid.uuid4().hex}"}
    return Settings(
        env="test",
        rate_limit_requests=60,
        rate_limit_cost=50,
        rate_limit_unknown_codes=3,
        trusted_proxies=["10.0.0.0/8"],
        **shared,
    )


@pytest.fixture
async def app(settings: Settings, db: Database, clock: Clock) -> AsyncIterator[Any]:
    """The app, with its rate limits closed afterwards (their Redis connections)."""
    throttle = Throttle(settings)
    yield create_app(settings, db, clock, throttle)
    await throttle.close()


async def test_the_61st_request_in_a_minute_is_429_throttled(http: httpx.AsyncClient):
    answers = [await http.post("/graphql", json=TYPENAME) for _ in range(60)]
    assert {r.status_code for r in answers} == {200}
    refused = await http.post("/graphql", json=TYPENAME)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "THROTTLED"
    assert error["message"] == "More than 60 requests a minute; slow down."


async def test_each_caller_has_their_own_limit(http: httpx.AsyncClient, gql: GraphQLClient):
    for _ in range(61):
        await http.post("/graphql", json=TYPENAME)
    # the same address behind our proxy is another client; so is a token's subject
    forwarded = await http.post(
        "/graphql", json=TYPENAME, headers={"x-forwarded-for": "203.0.113.7"}
    )
    admin = gql.token("admin", "shop-a")
    signed_in = await http.post(
        "/graphql", json=TYPENAME, headers={"authorization": f"Bearer {admin}"}
    )
    assert (forwarded.status_code, signed_in.status_code) == (429, 200)


async def test_bad_tokens_count_against_the_clients_address(http: httpx.AsyncClient):
    bad = {"authorization": "Bearer not.a.token"}
    answers = [(await http.post("/graphql", json=TYPENAME, headers=bad)) for _ in range(60)]
    assert {r.status_code for r in answers} == {401}
    refused = await http.post("/graphql", json=TYPENAME, headers=bad)
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["extensions"]["code"] == "THROTTLED"
    # and so does anything else from that address without a token
    assert (await http.post("/graphql", json=TYPENAME)).status_code == 429


async def test_forwarded_addresses_count_only_from_a_trusted_proxy():
    from loyalty_gql.api.auth import ANONYMOUS

    throttle = Throttle(Settings(env="test", trusted_proxies=["10.0.0.0/8"]))
    assert throttle.caller(ANONYMOUS, "10.1.2.3", "198.51.100.1, 10.9.9.9") == "ip:198.51.100.1"
    assert throttle.caller(ANONYMOUS, "192.0.2.5", "198.51.100.1") == "ip:192.0.2.5"
    assert throttle.caller(ANONYMOUS, "10.1.2.3", "garbage") == "ip:garbage"
    assert throttle.caller(ANONYMOUS, "10.1.2.3", None) == "ip:10.1.2.3"


async def test_every_response_reports_its_cost_and_the_minute_budget(
    http: httpx.AsyncClient, gql: GraphQLClient
):
    admin = gql.token("admin", "shop-a")
    auth = {"authorization": f"Bearer {admin}"}
    cheap = await http.post("/graphql", json=TYPENAME)
    assert cheap.json()["extensions"]["cost"] == {"requested": 0, "limit": 50, "remaining": 50}
    first = await http.post("/graphql", json={"query": CUSTOMERS}, headers=auth)
    assert first.json()["extensions"]["cost"] == {"requested": 21, "limit": 50, "remaining": 29}
    second = await http.post("/graphql", json={"query": CUSTOMERS}, headers=auth)
    assert second.json()["extensions"]["cost"]["remaining"] == 8
    third = await http.post("/graphql", json={"query": CUSTOMERS}, headers=auth)
    assert third.status_code == 429
    body = third.json()
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["extensions"]["cost"] == {"requested": 21, "limit": 50, "remaining": 8}
    assert "data" not in body
    # a refused query spends nothing: a cheap one still fits
    small = 'query { customers(siteId: "U2l0ZTox", first: 3) { nodes { id } } }'
    fits = await http.post("/graphql", json={"query": small}, headers=auth)
    assert fits.status_code == 200
    assert fits.json()["extensions"]["cost"] == {"requested": 4, "limit": 50, "remaining": 4}
    invalid = await http.post("/graphql", json={"query": "{ nope }"})
    assert invalid.json()["extensions"]["cost"]["requested"] == 0


async def test_guessing_coupon_codes_is_throttled_harder(gql: GraphQLClient):
    site_id = await create_site(gql, "shop-a")
    query = """
    query($i: CheckoutInput!) {
      checkout(input: $i) { total { amount } rejectedOffers { reason } }
    }"""

    def basket(*codes: str) -> dict[str, Any]:
        line = {"lineId": "1", "productId": "p", "quantity": 1, "unitPrice": "10.00"}
        return {"i": {"siteId": site_id, "lines": [line], "couponCodes": list(codes)}}

    # a guest tries three made-up codes: each is answered (UNKNOWN_CODE)
    for guess in ("AAAA", "BBBB", "CCCC"):
        body = await gql.execute(query, basket(guess))
        assert body["data"]["checkout"]["rejectedOffers"] == [{"reason": "UNKNOWN_CODE"}]
    # then codes are not checked this minute at all, known or not
    response = await gql.http.post("/graphql", json={"query": query, "variables": basket("DDDD")})
    assert response.status_code == 429
    assert response.json()["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert 1 <= int(response.headers["retry-after"]) <= 60
    # a basket without codes is still priced
    plain = await gql.execute(query, basket())
    assert plain["data"]["checkout"]["total"]["amount"] == "10.00"


# -- four workers sharing Redis -----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def four_workers(tmp_path: Path) -> Iterator[str]:
    """The service with four uvicorn workers, counters in Redis; yields its base URL."""
    if not _redis_up():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    port = _free_port()
    env = {
        **os.environ,
        "LOYALTY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'loyalty.db'}",
        "LOYALTY_REDIS_URL": REDIS_URL,
        "LOYALTY_REDIS_PREFIX": f"test-{uuid.uuid4().hex}",
        "LOYALTY_RATE_LIMIT_REQUESTS": "60",
        "LOYALTY_LOG_LEVEL": "warning",
    }
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "loyalty-gql", "migrate"], env=env, check=True)  # noqa: S603
    server = subprocess.Popen(  # noqa: S603 - our own command line
        [bin_dir / "loyalty-gql", "serve", "--port", str(port), "--workers", "4"], env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # four workers import the app at once: slow on a busy two-core machine
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                pytest.fail("the four-worker server did not start")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


async def test_four_workers_sharing_redis_enforce_one_limit(four_workers: str):
    # given: fresh connections, so the requests spread over the four processes
    async def one() -> int:
        async with httpx.AsyncClient(base_url=four_workers) as client:
            return (await client.post("/graphql", json=TYPENAME)).status_code

    statuses: list[int] = []
    for _ in range(10):
        statuses += await asyncio.gather(*(one() for _ in range(10)))
    assert (statuses.count(200), statuses.count(429)) == (60, 40)
