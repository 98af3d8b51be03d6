"""Safe webhook targets (#12): endpoints may not point into the shop's own network.

Saving an endpoint refuses URLs whose host is a loopback, private, link-local or other
non-public IP address, ``localhost``, credentials in the URL and malformed URLs, as
userErrors. Names are accepted when saved and checked when sent: the worker resolves the
name, refuses the attempt if any address is not public, and connects to the address it
checked, with the name kept in ``Host`` and as the TLS server name. Redirects are not
followed. LOYALTY_WEBHOOK_ALLOW_PRIVATE lifts the address rules.

There is no internet here: names are resolved by a stand-in resolver handed to the
worker, public addresses are "reached" through an httpx MockTransport that records where
each request was sent, and loopback receivers stand in for everything else.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from loyalty_gql.api.core.ids import to_global_id
from loyalty_gql.config import Settings
from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import OutboxEventRow, WebhookEndpointRow
from loyalty_gql.domain.errors import DomainError
from loyalty_gql.jobs.worker import deliver
from loyalty_gql.services import webhooks
from loyalty_gql.services.core.idempotency import Idempotency
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.webhooks import MAX_ATTEMPTS, backoff
from tests.conftest import GraphQLClient
from tests.integration.ledger_helpers import ADMIN, shop
from tests.integration.receiver import Receiver, webhook_receiver
from tests.support.certificates import certificates
from tests.support.clock import Clock
from tests.support.shop import create_site

CREATE_ENDPOINT = """
mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    endpoint { id url }
    userErrors { field code message }
  }
}
"""
UPDATE_ENDPOINT = """
mutation($input: UpdateWebhookEndpointInput!) {
  updateWebhookEndpoint(input: $input) {
    endpoint { id url }
    userErrors { field code message }
  }
}
"""
ENDPOINTS = "query($s: ID!) { webhookEndpoints(siteId: $s) { url } }"
DELIVERIES = """
query($s: ID!) {
  webhookDeliveries(siteId: $s) {
    edges { node { status attempts lastStatusCode lastError } }
  }
}
"""

PUBLIC_V4 = "93.184.215.14"  # a global unicast address (never connected to here)
PUBLIC_V6 = "2606:4700:4700::1111"
REFUSED_AT_SAVE = [
    "http://127.0.0.1/hook",
    "http://127.0.0.1:8080/hook",
    "http://10.0.0.1/hook",
    "http://172.16.5.4/hook",
    "http://192.168.1.10/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://100.64.0.1/hook",
    "http://0.0.0.0/hook",
    "http://224.0.0.1/hook",
    "http://240.0.0.1/hook",
    "http://127.1/hook",
    "http://2130706433/hook",
    "http://0x7f.0.0.1/hook",
    "http://[::1]/",
    "http://[::]/",
    "http://[fd00::1]/hook",
    "http://[fe80::1]/hook",
    "http://[ff02::1]/hook",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:10.0.0.1]/hook",
    "http://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of 169.254.169.254
    "http://[2002:a00:1::]/hook",  # 6to4 of 10.0.0.1
    "http://localhost/",
    "http://LOCALHOST:8000/hook",
    "http://localhost./hook",
    "https://admin.localhost/hook",
    "https://admin\u3002localhost/hook",  # an ideographic full stop is a dot to IDNA
]
MALFORMED = [
    "http://[::1",
    "http://[not-an-address]/",
    "http://user:secret@hooks.example.com/hook",
    "https://token@hooks.example.com/hook",
    "http://hooks.example.com:99999/hook",
    "http://hooks.example.com:0/hook",
    "http://hooks.example.com:http/hook",
    "http://hooks example.com/hook",
    "http://1.2.3.999/hook",
    "file:///etc/passwd",
    "http:///hook",
    "http://hooks.example.com/a b",
    "http://127.0.0.1\t/hook",  # urlsplit would drop the tab
]
ACCEPTED = [
    f"http://{PUBLIC_V4}/hook",
    f"https://[{PUBLIC_V6}]:8443/hook",
    "https://hooks.example.com/hook?site=a",
    "http://hooks.example.test:8080/hook",  # any name: checked again when sent
]


@pytest.fixture
def settings(request: pytest.FixtureRequest) -> Settings:
    """The rules on (the default); parametrize with True to allow private targets."""
    allow = bool(getattr(request, "param", False))
    return Settings(env="test", webhook_allow_private=allow)


class Dns:
    """A stand-in resolver: each name's first answer, then what later lookups answer."""

    def __init__(self, answers: dict[str, list[str]] | None = None) -> None:
        self.answers = {name: [addresses] for name, addresses in (answers or {}).items()}
        self.asked: list[tuple[str, int]] = []

    def later(self, name: str, addresses: list[str]) -> None:
        """Lookups of ``name`` after the first answer ``addresses``."""
        self.answers[name].append(addresses)

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        turns = self.answers[host]
        return turns.pop(0) if len(turns) > 1 else turns[0]


class Recorder:
    """An httpx MockTransport that records every request it is handed and answers 200
    (or what ``answer`` says), standing in for public receivers."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer or (lambda _: httpx.Response(200, text="ok"))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    def client(self, **options: Any) -> httpx.AsyncClient:
        """A client sending through this transport."""
        return httpx.AsyncClient(transport=httpx.MockTransport(self), **options)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A real receiver on 127.0.0.1."""
    async with webhook_receiver() as running:
        yield running


async def _create(gql: GraphQLClient, site_id: str, url: str) -> dict[str, Any]:
    body = await gql.execute(
        CREATE_ENDPOINT,
        {"input": {"siteId": site_id, "url": url}},
        token=gql.token("admin", "shop-a"),
    )
    payload: dict[str, Any] = body["data"]["createWebhookEndpoint"]
    return payload


async def _update(gql: GraphQLClient, endpoint_id: str, url: str) -> dict[str, Any]:
    body = await gql.execute(
        UPDATE_ENDPOINT,
        {"input": {"endpointId": endpoint_id, "url": url}},
        token=gql.token("admin", "shop-a"),
    )
    payload: dict[str, Any] = body["data"]["updateWebhookEndpoint"]
    return payload


async def _urls(gql: GraphQLClient, site_id: str) -> list[str]:
    body = await gql.execute(ENDPOINTS, {"s": site_id}, token=gql.token("admin", "shop-a"))
    return [e["url"] for e in body["data"]["webhookEndpoints"]]


async def _deliveries(gql: GraphQLClient, site_id: str) -> list[dict[str, Any]]:
    body = await gql.execute(DELIVERIES, {"s": site_id}, token=gql.token("admin", "shop-a"))
    return [edge["node"] for edge in body["data"]["webhookDeliveries"]["edges"]]


def _url_error(payload: dict[str, Any]) -> tuple[list[str], str]:
    assert payload["endpoint"] is None, payload
    [error] = payload["userErrors"]
    return error["field"], error["code"]


async def _site_with_endpoint(db: Database, gql: GraphQLClient, clock: Clock, url: str) -> str:
    """Site shop-a with one endpoint saved through the API and one event to send; returns
    the site's ID."""
    the_shop = await shop(db, clock, code="shop-a")
    site_id = to_global_id("Site", the_shop.site_id)
    created = await _create(gql, site_id, url)
    assert created["userErrors"] == [], created
    async with UnitOfWork(db) as uow:
        uow.session.add(
            OutboxEventRow(
                site_id=the_shop.site_id, customer_id=the_shop.customer_ids[0],
                kind="ORDER_RECORDED", dedupe_key="order:o-1", created_at=clock.now,
                payload={"orderId": "o-1", "status": "RECORDED", "currency": "EUR",
                         "total": "10.00", "refunded": "0.00", "points": 10,
                         "pointsTakenBack": 0},
            )
        )  # fmt: skip
        await uow.commit()
    return site_id


# -- saving an endpoint --------------------------------------------------------------------


@pytest.mark.parametrize("url", REFUSED_AT_SAVE)
async def test_an_endpoint_on_a_non_public_address_or_localhost_is_refused(
    gql: GraphQLClient, url: str
) -> None:
    # given
    site_id = await create_site(gql, "shop-a")
    # when
    created = await _create(gql, site_id, url)
    # then
    assert _url_error(created) == (["input", "url"], "INVALID_VALUE")
    assert "public addresses only" in created["userErrors"][0]["message"]
    assert await _urls(gql, site_id) == []


async def test_an_endpoint_cannot_be_moved_onto_a_non_public_address(
    gql: GraphQLClient,
) -> None:
    # given
    site_id = await create_site(gql, "shop-a")
    created = await _create(gql, site_id, "https://hooks.example.com/hook")
    endpoint_id = created["endpoint"]["id"]
    # when / then
    for url in ("http://127.0.0.1/hook", "http://169.254.169.254/latest/meta-data",
                "http://localhost/", "http://[::1"):  # fmt: skip
        changed = await _update(gql, endpoint_id, url)
        assert _url_error(changed) == (["input", "url"], "INVALID_VALUE"), url
    assert await _urls(gql, site_id) == ["https://hooks.example.com/hook"]


async def test_the_messages_say_what_is_wrong(gql: GraphQLClient) -> None:
    site_id = await create_site(gql, "shop-a")
    expected = {
        "http://127.0.0.1/hook": "webhooks go to public addresses only; 127.0.0.1 is loopback",
        "http://169.254.169.254/latest/meta-data": (
            "webhooks go to public addresses only; 169.254.169.254 is link-local"
        ),
        "http://10.0.0.1/": "webhooks go to public addresses only; 10.0.0.1 is private",
        "http://[::ffff:127.0.0.1]/": (
            "webhooks go to public addresses only; ::ffff:127.0.0.1 is loopback"
        ),
        "http://127.1/": "webhooks go to public addresses only; 127.1 (127.0.0.1) is loopback",
        "http://localhost/": "webhooks go to public addresses only; localhost is this machine",
        "http://[::1": "not a valid URL",
        "http://user:secret@hooks.example.com/": (
            "the URL may not contain a user name or password"
        ),
        "http://hooks.example.com:99999/": "the URL's port must be a number from 1 to 65535",
    }
    for url, message in expected.items():
        payload = await _create(gql, site_id, url)
        assert [e["message"] for e in payload["userErrors"]] == [message], url


@pytest.mark.parametrize("url", MALFORMED)
async def test_a_malformed_url_is_a_user_error_not_an_internal_error(
    gql: GraphQLClient, url: str
) -> None:
    # given
    site_id = await create_site(gql, "shop-a")
    # when: (gql.execute fails on any GraphQL error, "Internal error." included)
    created = await _create(gql, site_id, url)
    # then
    assert _url_error(created) == (["input", "url"], "INVALID_VALUE")
    assert await _urls(gql, site_id) == []


async def test_public_addresses_and_names_are_accepted(gql: GraphQLClient) -> None:
    # given
    site_id = await create_site(gql, "shop-a")
    # when
    created = [await _create(gql, site_id, url) for url in ACCEPTED]
    # then
    assert [(c["userErrors"], c["endpoint"]["url"]) for c in created] == [
        ([], url) for url in ACCEPTED
    ]
    moved = await _update(gql, created[0]["endpoint"]["id"], "https://other.example.com/h")
    assert moved["userErrors"] == []
    assert await _urls(gql, site_id) == ["https://other.example.com/h", *ACCEPTED[1:]]


@pytest.mark.parametrize("settings", [True], indirect=True)
async def test_with_private_targets_allowed_loopback_and_localhost_are_accepted(
    gql: GraphQLClient,
) -> None:
    # given: private targets allowed (LOYALTY_WEBHOOK_ALLOW_PRIVATE on)
    site_id = await create_site(gql, "shop-a")
    urls = ["http://127.0.0.1:8080/hook", "http://localhost/", "http://[::1]/", "http://10.0.0.1/"]
    # when
    created = [await _create(gql, site_id, url) for url in urls]
    # then: accepted, while the shape of the URL still counts
    assert [c["userErrors"] for c in created] == [[]] * len(urls)
    assert await _urls(gql, site_id) == urls
    for url in ("http://[::1", "http://user:pw@127.0.0.1/", "ftp://127.0.0.1/"):
        assert _url_error(await _create(gql, site_id, url)) == (["input", "url"], "INVALID_VALUE")


# -- sending -------------------------------------------------------------------------------


async def test_a_name_that_resolves_to_loopback_is_saved_but_never_sent_to(
    db: Database, gql: GraphQLClient, clock: Clock, receiver: Receiver
) -> None:
    # given: an endpoint under a name that resolves to the receiver on 127.0.0.1
    port = httpx.URL(receiver.url).port
    site_id = await _site_with_endpoint(db, gql, clock, f"http://hooks.example.test:{port}/h")
    dns = Dns({"hooks.example.test": ["127.0.0.1"]})
    refusal = "refused: hooks.example.test resolves to 127.0.0.1, a non-public address (loopback)"
    async with httpx.AsyncClient() as client:
        # when: the worker tries
        assert await deliver(db, clock=clock, client=client, resolve=dns) == 1
        # then: no request, a failed attempt that says why, retried on the usual backoff
        assert receiver.requests == []
        assert dns.asked == [("hooks.example.test", port)]
        assert await _deliveries(gql, site_id) == [
            {"status": "PENDING", "attempts": 1, "lastStatusCode": None, "lastError": refusal}
        ]
        for attempt in range(1, MAX_ATTEMPTS):
            clock.now += backoff(attempt)
            assert await deliver(db, clock=clock, client=client, resolve=dns) == 1
    # until the attempts run out: dead-lettered, and the receiver never got anything
    assert await _deliveries(gql, site_id) == [
        {"status": "DEAD", "attempts": MAX_ATTEMPTS, "lastStatusCode": None, "lastError": refusal}
    ]
    assert receiver.requests == []


async def test_one_non_public_address_among_public_ones_refuses_the_attempt(
    db: Database, gql: GraphQLClient, clock: Clock
) -> None:
    # given
    site_id = await _site_with_endpoint(db, gql, clock, "https://hooks.example.com/hook")
    dns = Dns({"hooks.example.com": [PUBLIC_V4, "10.1.2.3"]})
    sent = Recorder()
    # when
    async with sent.client() as client:
        await deliver(db, clock=clock, client=client, resolve=dns)
    # then
    assert sent.requests == []
    [delivery] = await _deliveries(gql, site_id)
    assert delivery["lastError"] == (
        "refused: hooks.example.com resolves to 10.1.2.3, a non-public address (private)"
    )


@pytest.mark.parametrize("settings", [True], indirect=True)
async def test_an_address_saved_while_allowed_is_refused_once_the_setting_is_off(
    db: Database, gql: GraphQLClient, clock: Clock, receiver: Receiver
) -> None:
    # given: an endpoint on 127.0.0.1 saved while private targets were allowed
    site_id = await _site_with_endpoint(db, gql, clock, f"{receiver.url}/hook")
    # when: a worker without the setting sends
    async with httpx.AsyncClient() as client:
        await deliver(db, clock=clock, client=client)
    # then
    assert receiver.requests == []
    [delivery] = await _deliveries(gql, site_id)
    assert delivery["lastError"] == "refused: 127.0.0.1 is a non-public address (loopback)"


async def test_a_name_that_does_not_resolve_is_a_failed_attempt(
    db: Database, gql: GraphQLClient, clock: Clock
) -> None:
    site_id = await _site_with_endpoint(db, gql, clock, "https://gone.example.com/hook")
    sent = Recorder()
    async with sent.client() as client:
        await deliver(db, clock=clock, client=client, resolve=Dns())
    assert sent.requests == []
    [delivery] = await _deliveries(gql, site_id)
    assert (delivery["status"], delivery["attempts"], delivery["lastError"]) == (
        "PENDING", 1,
        "DNS: gone.example.com could not be resolved (gaierror: [Errno -2] Name or service "
        "not known)",
    )  # fmt: skip


async def test_a_public_name_is_sent_to_the_address_that_was_checked(
    db: Database, gql: GraphQLClient, clock: Clock
) -> None:
    # given: a name that resolves to a public address now, and to loopback on any later
    # lookup (DNS rebinding between the check and the connection)
    site_id = await _site_with_endpoint(db, gql, clock, "https://hooks.example.com/h?x=1")
    dns = Dns({"hooks.example.com": [PUBLIC_V4]})
    dns.later("hooks.example.com", ["127.0.0.1"])
    sent = Recorder()
    # when
    async with sent.client() as client:
        assert await deliver(db, clock=clock, client=client, resolve=dns) == 1
    # then: one lookup, and the request went to the checked address under the name
    assert dns.asked == [("hooks.example.com", 443)]
    [request] = sent.requests
    assert str(request.url) == f"https://{PUBLIC_V4}/h?x=1"
    assert request.headers["host"] == "hooks.example.com"
    assert request.extensions["sni_hostname"] == "hooks.example.com"  # TLS checks the name
    assert request.headers["connection"] == "close"
    assert request.headers["webhook-id"] == "evt_1"
    assert [d["status"] for d in await _deliveries(gql, site_id)] == ["DELIVERED"]


async def test_an_http_name_with_a_port_keeps_the_port_and_names_it_in_host(
    db: Database, gql: GraphQLClient, clock: Clock
) -> None:
    await _site_with_endpoint(db, gql, clock, "http://hooks.example.com:8080/h")
    sent = Recorder()
    async with sent.client() as client:
        await deliver(
            db, clock=clock, client=client, resolve=Dns({"hooks.example.com": [PUBLIC_V6]})
        )
    [request] = sent.requests
    assert str(request.url) == f"http://[{PUBLIC_V6}]:8080/h"
    assert request.headers["host"] == "hooks.example.com:8080"
    assert "sni_hostname" not in request.extensions


async def test_when_the_first_address_refuses_the_connection_the_next_is_tried(
    db: Database, gql: GraphQLClient, clock: Clock
) -> None:
    # given: two public addresses, the first unreachable
    site_id = await _site_with_endpoint(db, gql, clock, "https://hooks.example.com/h")

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == PUBLIC_V6:
            raise httpx.ConnectError("Network is unreachable", request=request)
        return httpx.Response(204)

    sent = Recorder(answer)
    # when
    async with sent.client() as client:
        dns = Dns({"hooks.example.com": [PUBLIC_V6, PUBLIC_V4]})
        await deliver(db, clock=clock, client=client, resolve=dns)
    # then
    assert [r.url.host for r in sent.requests] == [PUBLIC_V6, PUBLIC_V4]
    [delivery] = await _deliveries(gql, site_id)
    assert (delivery["status"], delivery["lastStatusCode"]) == ("DELIVERED", 204)


@pytest.mark.parametrize("settings", [True], indirect=True)
async def test_the_connection_goes_to_the_resolved_address_not_a_new_lookup(
    db: Database, gql: GraphQLClient, clock: Clock, receiver: Receiver
) -> None:
    # given: private targets allowed, and a name no real resolver knows (.test) that the
    # worker's resolver maps to the receiver on 127.0.0.1
    port = httpx.URL(receiver.url).port
    site_id = await _site_with_endpoint(db, gql, clock, f"http://hooks.example.test:{port}/h")
    # when: a real connection
    async with httpx.AsyncClient() as client:
        await deliver(
            db, clock=clock, client=client, allow_private=True,
            resolve=Dns({"hooks.example.test": ["127.0.0.1"]}),
        )  # fmt: skip
    # then: it arrived, addressed to the name
    [request] = receiver.requests
    assert (request.path, request.headers["host"]) == ("/h", f"hooks.example.test:{port}")
    assert [d["status"] for d in await _deliveries(gql, site_id)] == ["DELIVERED"]


@pytest.mark.parametrize("settings", [True], indirect=True)
async def test_https_to_a_name_verifies_the_certificate_for_the_name(
    db: Database, gql: GraphQLClient, clock: Clock, tmp_path: Path
) -> None:
    # given: an https receiver on 127.0.0.1 whose certificate names hooks.example.test only,
    # and a worker that trusts its CA
    ca = certificates(tmp_path, "hooks.example.test")
    trust = ssl.create_default_context(cafile=str(ca))
    async with webhook_receiver(
        certfile=str(tmp_path / "cert.pem"), keyfile=str(tmp_path / "key.pem")
    ) as receiver:
        port = httpx.URL(receiver.url).port
        url = f"https://hooks.example.test:{port}/h"
        site_id = await _site_with_endpoint(db, gql, clock, url)
        dns = Dns({"hooks.example.test": ["127.0.0.1"]})
        # when
        async with httpx.AsyncClient(verify=trust) as client:
            await deliver(db, clock=clock, client=client, allow_private=True, resolve=dns)
            # the same receiver reached by its address fails verification (the
            # certificate does not name 127.0.0.1): the name is what was checked above
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await client.get(receiver.url)
    # then
    [request] = receiver.requests
    assert request.headers["host"] == f"hooks.example.test:{port}"
    assert [d["status"] for d in await _deliveries(gql, site_id)] == ["DELIVERED"]


@pytest.mark.parametrize("settings", [True], indirect=True)
async def test_a_redirect_is_a_failed_attempt_and_is_not_followed(
    db: Database, gql: GraphQLClient, clock: Clock, receiver: Receiver
) -> None:
    # given: a receiver that redirects elsewhere, and a client that would follow redirects
    site_id = await _site_with_endpoint(db, gql, clock, f"{receiver.url}/hook")
    receiver.redirect(f"{receiver.url}/elsewhere")
    # when
    async with httpx.AsyncClient(follow_redirects=True) as client:
        await deliver(db, clock=clock, client=client, allow_private=True)
    # then
    assert [(r.path, r.status) for r in receiver.requests] == [("/hook", 302)]
    assert await _deliveries(gql, site_id) == [
        {"status": "PENDING", "attempts": 1, "lastStatusCode": 302, "lastError": "HTTP 302"}
    ]


async def test_the_service_refuses_private_targets_by_default(db: Database, clock: Clock) -> None:
    # given: code that saves endpoints without the API (the default is the safe one)
    the_shop = await shop(db, clock, code="shop-a")
    # when / then
    with pytest.raises(DomainError) as refused:
        await webhooks.create_endpoint(
            db, site_id=the_shop.site_id, url="http://10.0.0.1/", events=(), actor=ADMIN,
            clock=clock, retry=Idempotency("createWebhookEndpoint"),
        )  # fmt: skip
    [problem] = refused.value.problems
    assert (problem.field, problem.code.value) == (("url",), "INVALID_VALUE")
    async with db.read_sessions() as session:
        assert list(await session.scalars(select(WebhookEndpointRow))) == []
