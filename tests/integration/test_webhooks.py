"""Webhook delivery end to end: outbox events reach a real receiver on loopback, signed by
the Standard Webhooks scheme, once per event; retries back off and end in dead-letter;
workers that crash or run side by side lose and double nothing; the admin API; and the
`loyalty-gql worker` process. The receiver listens on 127.0.0.1, so these tests allow
private webhook targets (LOYALTY_WEBHOOK_ALLOW_PRIVATE); test_webhook_targets.py tests the
rules that refuse them otherwise."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import time_machine
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.config import Settings
from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import OutboxEventRow, WebhookDeliveryRow, WebhookEndpointRow
from loyalty_gql.jobs.worker import deliver, run_worker
from loyalty_gql.services import webhooks
from loyalty_gql.services.core.idempotency import Idempotency
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.points.expiry import expire_points, warn_expiring
from loyalty_gql.services.tiers import review_tiers
from loyalty_gql.services.webhooks import LEASE, MAX_ATTEMPTS, backoff
from tests.conftest import DatabaseBackend, GraphQLClient
from tests.integration.ledger_helpers import ADMIN, shop
from tests.integration.receiver import Received, Receiver, webhook_receiver
from tests.support.clock import Clock
from tests.support.operations import CONFIGURE_PROGRAM, CREATE_TIER, GRANT_POINTS
from tests.support.shop import create_site, register

CLI = str(Path(sys.executable).with_name("loyalty-gql"))
ALLOW_PRIVATE = {"LOYALTY_WEBHOOK_ALLOW_PRIVATE": "true"}  # the receiver is on loopback

ENDPOINT_FIELDS = "id url events enabled secret"
CREATE_ENDPOINT = f"""
mutation($input: CreateWebhookEndpointInput!) {{
  createWebhookEndpoint(input: $input) {{
    endpoint {{ {ENDPOINT_FIELDS} }}
    userErrors {{ field code message }}
  }}
}}
"""
UPDATE_ENDPOINT = f"""
mutation($input: UpdateWebhookEndpointInput!) {{
  updateWebhookEndpoint(input: $input) {{
    endpoint {{ {ENDPOINT_FIELDS} }}
    userErrors {{ field code message }}
  }}
}}
"""
ENDPOINTS = f"query($s: ID!) {{ webhookEndpoints(siteId: $s) {{ {ENDPOINT_FIELDS} }} }}"
DELIVERY_FIELDS = "id endpointId event webhookId status attempts lastStatusCode lastError body"
DELIVERIES = f"""
query($s: ID!, $status: DeliveryStatus) {{
  webhookDeliveries(siteId: $s, status: $status) {{ edges {{ node {{ {DELIVERY_FIELDS} }} }} }}
}}
"""
RETRY = """
mutation($input: RetryWebhookDeliveryInput!) {
  retryWebhookDelivery(input: $input) {
    delivery { id status attempts webhookId }
    userErrors { field code message }
  }
}
"""
RECORD_ORDER = """
mutation($input: RecordOrderInput!) {
  recordOrder(input: $input) { order { status pointsEarned } userErrors { field code message } }
}
"""
COMPLETE_ORDER = """
mutation($input: OrderInput!) {
  completeOrder(input: $input) { order { status } userErrors { field code message } }
}
"""


# -- helpers ------------------------------------------------------------------------------


def _real_now() -> datetime:
    """Wall-clock time to the second: receivers check signatures' timestamps against it."""
    return datetime.now(UTC).replace(microsecond=0)


def _verified(request: Received, secret: str, at: datetime) -> Any:
    """The body, after its Standard Webhooks signature verified as of ``at`` (when it was
    signed by the server's clock)."""
    assert request.headers["webhook-timestamp"] == str(int(at.timestamp()))
    with time_machine.travel(at, tick=False):
        return Webhook(secret).verify(request.body, request.headers)


@pytest.fixture
def settings() -> Settings:
    """The app under test accepts endpoints on loopback, where the receiver listens."""
    return Settings(env="test", webhook_allow_private=True)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A receiver on 127.0.0.1, answering 200 unless told otherwise."""
    async with webhook_receiver() as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP client workers send with."""
    async with httpx.AsyncClient(follow_redirects=False) as http:
        yield http


async def _create_endpoint(
    gql: GraphQLClient, site_code: str, site_id: str, url: str, **fields: Any
) -> dict[str, Any]:
    body = await gql.execute(
        CREATE_ENDPOINT,
        {"input": {"siteId": site_id, "url": url, **fields}},
        token=gql.token("admin", site_code),
    )
    payload: dict[str, Any] = body["data"]["createWebhookEndpoint"]
    return payload


async def _update_endpoint(
    gql: GraphQLClient, site_code: str, endpoint_id: str, **fields: Any
) -> dict[str, Any]:
    body = await gql.execute(
        UPDATE_ENDPOINT,
        {"input": {"endpointId": endpoint_id, **fields}},
        token=gql.token("admin", site_code),
    )
    payload: dict[str, Any] = body["data"]["updateWebhookEndpoint"]
    return payload


async def _deliveries(
    gql: GraphQLClient, site_id: str, status: str | None = None, site_code: str = "shop-a"
) -> list[dict[str, Any]]:
    body = await gql.execute(
        DELIVERIES, {"s": site_id, "status": status}, token=gql.token("admin", site_code)
    )
    return [edge["node"] for edge in body["data"]["webhookDeliveries"]["edges"]]


async def _events(db: Database, site_id: int | None = None) -> dict[str, str]:
    """webhook-id -> kind of every outbox event (of the site)."""
    query = select(OutboxEventRow)
    if site_id is not None:
        query = query.where(OutboxEventRow.site_id == site_id)
    async with db.read_sessions() as session:
        return {f"evt_{row.id}": row.kind for row in await session.scalars(query)}


async def _delivery_rows(db: Database) -> list[WebhookDeliveryRow]:
    async with db.read_sessions() as session:
        return list(
            await session.scalars(select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.id))
        )


async def _insert_events(
    db: Database, site_id: int, customer_id: int, count: int, at: datetime
) -> list[int]:
    """``count`` ORDER_RECORDED events written straight into the outbox."""
    batch = uuid.uuid4().hex[:8]
    async with UnitOfWork(db) as uow:
        rows = [
            OutboxEventRow(
                site_id=site_id, customer_id=customer_id, kind="ORDER_RECORDED",
                dedupe_key=f"test:{batch}:{n}", created_at=at,
                payload={"orderId": f"o-{batch}-{n}", "status": "RECORDED", "currency": "EUR",
                         "total": "10.00", "refunded": "0.00", "points": 10,
                         "pointsTakenBack": 0},
            )
            for n in range(count)
        ]  # fmt: skip
        uow.session.add_all(rows)
        await uow.session.flush()
        ids = [row.id for row in rows]
        await uow.commit()
    return ids


async def _service_site(
    db: Database, clock: Clock, url: str, *, code: str = "shop", events: tuple[str, ...] = ()
) -> tuple[int, int, WebhookEndpointRow]:
    """A site with one enrolled customer and one endpoint: (site, customer, endpoint)."""
    the_shop = await shop(db, clock, code=code)
    endpoint = await webhooks.create_endpoint(
        db,
        site_id=the_shop.site_id,
        url=url,
        events=events,
        actor=ADMIN,
        clock=clock,
        retry=Idempotency("createWebhookEndpoint"),
        allow_private=True,
    )
    return the_shop.site_id, the_shop.customer_ids[0], endpoint


async def _shop_with_endpoint(
    gql: GraphQLClient, url: str, **fields: Any
) -> tuple[str, dict[str, Any]]:
    """Site shop-a (program on, every registered customer enrolled) and an endpoint."""
    site_id = await create_site(gql, "shop-a")
    body = await gql.execute(
        CONFIGURE_PROGRAM,
        {"input": {"siteId": site_id, "participation": "ALL_REGISTERED_CUSTOMERS"}},
        token=gql.token("admin", "shop-a"),
    )
    assert body["data"]["configureProgram"]["userErrors"] == []
    created = await _create_endpoint(gql, "shop-a", site_id, url, **fields)
    assert created["userErrors"] == []
    return site_id, created["endpoint"]


async def _record_order(
    gql: GraphQLClient, site_id: str, order_id: str, customer_id: str, price: str
) -> None:
    body = await gql.execute(
        RECORD_ORDER,
        {"input": {"siteId": site_id, "orderId": order_id, "customerId": customer_id,
                   "lines": [{"productId": "p1", "quantity": 1, "unitPrice": price}]}},
        token=gql.token("service", "shop-a"),
    )  # fmt: skip
    assert body["data"]["recordOrder"]["userErrors"] == [], body


# -- a) a scripted day ---------------------------------------------------------------------


async def test_a_scripted_day_reaches_the_receiver_once_per_event_and_signed(
    gql: GraphQLClient,
    db: Database,
    clock: Clock,
    receiver: Receiver,
    client: httpx.AsyncClient,
) -> None:
    # given: a shop whose points last 30 days, a threshold reward, a tier, three endpoints
    today = _real_now()
    clock.now = today - timedelta(days=40)
    admin = gql.token("admin", "shop-a")
    site_id = await create_site(gql, "shop-a")
    reward = {"enabled": True, "points": 500, "valueType": "PERCENT", "value": "10",
              "validityDays": 60}  # fmt: skip
    body = await gql.execute(
        CONFIGURE_PROGRAM,
        {"input": {"siteId": site_id, "participation": "ALL_REGISTERED_CUSTOMERS",
                   "validityPolicy": "FIXED_DAYS", "validityDays": 30,
                   "thresholdReward": reward}},
        token=admin,
    )  # fmt: skip
    assert body["data"]["configureProgram"]["userErrors"] == []
    tier = await gql.execute(
        CREATE_TIER,
        {"input": {"siteId": site_id, "name": "Silver", "rank": 1, "metric": "POINTS_EARNED",
                   "threshold": 100}},
        token=admin,
    )  # fmt: skip
    assert tier["data"]["createTier"]["userErrors"] == []
    every = await _create_endpoint(gql, "shop-a", site_id, f"{receiver.url}/all")
    orders_only = await _create_endpoint(
        gql, "shop-a", site_id, f"{receiver.url}/orders", events=["ORDER_RECORDED"]
    )
    switched_off = await _create_endpoint(gql, "shop-a", site_id, f"{receiver.url}/off")
    for created in (every, orders_only, switched_off):
        assert created["userErrors"] == [], created
    off = await _update_endpoint(gql, "shop-a", switched_off["endpoint"]["id"], enabled=False)
    assert off["endpoint"]["enabled"] is False
    secret = every["endpoint"]["secret"]
    assert secret.startswith("whsec_")
    # the day: orders (one completed), a reward, a tier change; weeks later, an expiry
    ann = await register(gql, "shop-a", site_id, "ann", name="Ann")
    bob = await register(gql, "shop-a", site_id, "bob", name="Bob")
    await _record_order(gql, site_id, "o-1", ann["id"], "80.00")
    await _record_order(gql, site_id, "o-2", bob["id"], "15.00")
    completed = await gql.execute(
        COMPLETE_ORDER,
        {"input": {"siteId": site_id, "orderId": "o-1"}},
        token=gql.token("service", "shop-a"),
    )
    assert completed["data"]["completeOrder"]["userErrors"] == []
    granted = await gql.execute(
        GRANT_POINTS,
        {"input": {"customerId": ann["id"], "points": 600, "reason": "welcome"}},
        token=admin,
    )
    assert granted["data"]["grantPoints"]["userErrors"] == []
    clock.now = today
    assert await expire_points(db, clock=clock) >= 1
    await warn_expiring(db, clock=clock)
    await review_tiers(db, clock=clock)
    site_pk = parse_id(site_id, "Site")
    events = await _events(db, site_pk)
    kinds = set(events.values())
    assert {"ORDER_RECORDED", "ORDER_COMPLETED", "REWARD_EARNED", "POINTS_EXPIRED",
            "TIER_CHANGED"} <= kinds  # fmt: skip
    # when
    await run_worker(
        db, clock=clock, stop=asyncio.Event(), once=True, client=client, allow_private=True
    )
    # then: every event of the site reached the catch-all endpoint exactly once
    assert await _events(db, site_pk) == events, "the worker's own jobs wrote new events"
    assert receiver.ids("/all") == Counter(dict.fromkeys(events, 1))
    for request in receiver.at("/all"):
        document = _verified(request, secret, clock.now)
        assert document["type"] == events[request.webhook_id]
        assert document["data"]["eventId"] == int(request.webhook_id.removeprefix("evt_"))
        assert document["data"]["site"] == "shop-a"
        assert request.method == "POST"
        assert request.headers["content-type"] == "application/json"
    # a wrong secret does not verify
    with pytest.raises(WebhookVerificationError), time_machine.travel(clock.now, tick=False):
        Webhook(orders_only["endpoint"]["secret"]).verify(
            receiver.at("/all")[0].body, receiver.at("/all")[0].headers
        )
    # the endpoint for orders got only ORDER_RECORDED, each once; the switched-off one nothing
    recorded = {wid for wid, kind in events.items() if kind == "ORDER_RECORDED"}
    assert len(recorded) == 2
    assert receiver.ids("/orders") == Counter(dict.fromkeys(recorded, 1))
    for request in receiver.at("/orders"):
        _verified(request, orders_only["endpoint"]["secret"], clock.now)
    assert receiver.at("/off") == []
    assert {r.path for r in receiver.requests} == {"/all", "/orders"}
    # and the log says so
    log = await _deliveries(gql, site_id)
    assert len(log) == len(events) + len(recorded)
    assert {d["status"] for d in log} == {"DELIVERED"}
    assert {d["attempts"] for d in log} == {1}
    # a second pass sends nothing again
    receiver.clear()
    await run_worker(
        db, clock=clock, stop=asyncio.Event(), once=True, client=client, allow_private=True
    )
    assert receiver.requests == []


# -- b) a worker killed mid-batch ----------------------------------------------------------


async def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_under_the_same_id(
    db: Database, clock: Clock, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    # given: 120 events dispatched to one endpoint
    clock.now = started = _real_now()
    site_id, customer_id, endpoint = await _service_site(db, clock, f"{receiver.url}/hook")
    await _insert_events(db, site_id, customer_id, 120, clock.now)
    assert await webhooks.dispatch(db, clock=clock) == 120
    expected = set(await _events(db, site_id))
    # a worker claims a batch, sends its first delivery and dies before the answer
    receiver.hold()
    sending = asyncio.create_task(
        webhooks.send_due(db, clock=clock, client=client, allow_private=True)
    )
    await receiver.wait_for(1)
    sending.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sending
    receiver.release()
    [in_flight] = receiver.requests
    # another worker claims the next batch and dies before sending anything
    abandoned = await webhooks.delivery._claim(db, clock.now, 50)
    assert len(abandoned) == 50
    # when: a worker runs while those leases hold, and again after they ran out
    await run_worker(
        db, clock=clock, stop=asyncio.Event(), once=True, client=client, allow_private=True
    )
    early = receiver.ids() - Counter({in_flight.webhook_id: 1})
    clock.now += LEASE + timedelta(seconds=1)
    await run_worker(
        db, clock=clock, stop=asyncio.Event(), once=True, client=client, allow_private=True
    )
    # then: the leased deliveries waited for their leases; the 20 others went at once
    assert len(early) == 20
    assert not set(early) & {c.webhook_id for c in abandoned}
    # every event arrived; the one in flight when the worker died arrived twice, same id
    received = receiver.ids()
    assert set(received) == expected
    assert {wid: n for wid, n in received.items() if n > 1} == {in_flight.webhook_id: 2}
    copies = [r for r in receiver.requests if r.webhook_id == in_flight.webhook_id]
    assert copies[0].body == copies[1].body
    for n, request in enumerate(receiver.requests):  # 21 sent before the leases ran out
        _verified(request, endpoint.secret, started if n < 21 else clock.now)
    rows = await _delivery_rows(db)
    assert len(rows) == 120
    assert {row.status for row in rows} == {"DELIVERED"}
    assert {row.lease_until for row in rows} == {None}


# -- c) retries, backoff, dead-letter ------------------------------------------------------


async def test_a_receiver_failing_three_times_gets_the_event_on_the_fourth_attempt(
    gql: GraphQLClient,
    db: Database,
    clock: Clock,
    receiver: Receiver,
    client: httpx.AsyncClient,
) -> None:
    # given: one order recorded, a receiver that fails 3 times
    clock.now = _real_now()
    site_id, endpoint = await _shop_with_endpoint(gql, f"{receiver.url}/hook")
    ann = await register(gql, "shop-a", site_id, "ann")
    await _record_order(gql, site_id, "o-1", ann["id"], "12.00")
    [webhook_id] = await _events(db)
    receiver.fail(3)
    sent_at = []
    # when: the first attempt, then one pass at each backoff (and one a second too early)
    assert await deliver(db, clock=clock, client=client, allow_private=True) == 1
    sent_at.append(clock.now)
    for failed in (1, 2, 3):
        clock.now += backoff(failed) - timedelta(seconds=1)
        assert await deliver(db, clock=clock, client=client, allow_private=True) == 0, (
            "sent before its backoff"
        )
        clock.now += timedelta(seconds=1)
        assert await deliver(db, clock=clock, client=client, allow_private=True) == 1
        sent_at.append(clock.now)
    # then
    assert [r.status for r in receiver.requests] == [500, 500, 500, 200]
    assert receiver.ids() == Counter({webhook_id: 4})
    assert len({r.body for r in receiver.requests}) == 1
    for request, at in zip(receiver.requests, sent_at, strict=True):
        assert _verified(request, endpoint["secret"], at)["type"] == "ORDER_RECORDED"
    [delivery] = await _deliveries(gql, site_id)
    assert delivery == {
        "id": delivery["id"],
        "endpointId": endpoint["id"],
        "event": "ORDER_RECORDED",
        "webhookId": webhook_id,
        "status": "DELIVERED",
        "attempts": 4,
        "lastStatusCode": 200,
        "lastError": None,
        "body": receiver.requests[0].text,
    }
    assert await deliver(db, clock=clock, client=client, allow_private=True) == 0
    # a delivered delivery cannot be retried
    retried = await gql.execute(
        RETRY, {"input": {"deliveryId": delivery["id"]}}, token=gql.token("admin", "shop-a")
    )
    payload = retried["data"]["retryWebhookDelivery"]
    assert payload["delivery"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["INVALID_STATE"]


async def test_a_receiver_that_always_fails_ends_in_dead_letter_and_can_be_retried(
    gql: GraphQLClient,
    db: Database,
    clock: Clock,
    receiver: Receiver,
    client: httpx.AsyncClient,
) -> None:
    # given
    clock.now = _real_now() - timedelta(hours=3)
    site_id, endpoint = await _shop_with_endpoint(gql, f"{receiver.url}/hook")
    ann = await register(gql, "shop-a", site_id, "ann")
    await _record_order(gql, site_id, "o-1", ann["id"], "12.00")
    [webhook_id] = await _events(db)
    receiver.always(503)
    # when: every attempt fails
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert await deliver(db, clock=clock, client=client, allow_private=True) == 1, attempt
        pending = await _deliveries(gql, site_id, "PENDING")
        if attempt < MAX_ATTEMPTS:
            assert [(d["attempts"], d["lastStatusCode"]) for d in pending] == [(attempt, 503)]
        clock.now += backoff(attempt)
    # then: dead, and no more attempts
    assert await deliver(db, clock=clock, client=client, allow_private=True) == 0
    assert len(receiver.requests) == MAX_ATTEMPTS
    assert await _deliveries(gql, site_id, "PENDING") == []
    [dead] = await _deliveries(gql, site_id, "DEAD")
    assert (dead["webhookId"], dead["attempts"], dead["lastStatusCode"], dead["lastError"]) == (
        webhook_id,
        MAX_ATTEMPTS,
        503,
        "HTTP 503",
    )
    # when: retried, with the receiver healthy again
    clock.now = _real_now()
    receiver.always(200)
    retried = await gql.execute(
        RETRY, {"input": {"deliveryId": dead["id"]}}, token=gql.token("admin", "shop-a")
    )
    assert retried["data"]["retryWebhookDelivery"] == {
        "delivery": {"id": dead["id"], "status": "PENDING", "attempts": 0,
                     "webhookId": webhook_id},
        "userErrors": [],
    }  # fmt: skip
    assert await _deliveries(gql, site_id, "DEAD") == []
    assert await deliver(db, clock=clock, client=client, allow_private=True) == 1
    # then: delivered under the same webhook-id, with the same body
    last = receiver.requests[-1]
    assert (last.webhook_id, last.status, last.body) == (webhook_id, 200, receiver.requests[0].body)
    _verified(last, endpoint["secret"], clock.now)
    [delivered] = await _deliveries(gql, site_id, "DELIVERED")
    assert (delivered["id"], delivered["attempts"]) == (dead["id"], 1)


# -- d) the admin API ----------------------------------------------------------------------


async def test_bad_urls_and_unknown_events_are_user_errors(gql: GraphQLClient) -> None:
    site_id = await create_site(gql, "shop-a")
    for url in ("ftp://example.com/x", "not a url", "https://", "http://x/" + "a" * 2000):
        payload = await _create_endpoint(gql, "shop-a", site_id, url)
        assert payload["endpoint"] is None, url
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
            (["input", "url"], "INVALID_VALUE")
        ], url
    unknown = await _create_endpoint(
        gql, "shop-a", site_id, "https://example.com/h", events=["ORDER_RECORDED", "NOPE"]
    )
    assert unknown["endpoint"] is None
    assert [(e["field"], e["code"]) for e in unknown["userErrors"]] == [
        (["input", "events"], "INVALID_VALUE")
    ]
    assert "NOPE" in unknown["userErrors"][0]["message"]
    created = await _create_endpoint(gql, "shop-a", site_id, "https://example.com/h")
    changed = await _update_endpoint(
        gql, "shop-a", created["endpoint"]["id"], url="gopher://x", events=["NOPE"]
    )
    assert changed["endpoint"] is None
    assert sorted(e["field"][-1] for e in changed["userErrors"]) == ["events", "url"]
    body = await gql.execute(ENDPOINTS, {"s": site_id}, token=gql.token("admin", "shop-a"))
    assert [e["url"] for e in body["data"]["webhookEndpoints"]] == ["https://example.com/h"]


async def test_only_the_sites_admins_see_and_change_its_endpoints(
    gql: GraphQLClient, db: Database, clock: Clock, receiver: Receiver,
    client: httpx.AsyncClient,
) -> None:  # fmt: skip
    # given: an endpoint of shop-a with a dead delivery, and shop-b's admin
    clock.now = _real_now()
    site_id, endpoint = await _shop_with_endpoint(gql, f"{receiver.url}/hook")
    await create_site(gql, "shop-b")
    ann = await register(gql, "shop-a", site_id, "ann")
    await _record_order(gql, site_id, "o-1", ann["id"], "12.00")
    receiver.always(500)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        await deliver(db, clock=clock, client=client, allow_private=True)
        clock.now += backoff(attempt)
    [dead] = await _deliveries(gql, site_id, "DEAD")
    other, service = gql.token("admin", "shop-b"), gql.token("service", "shop-a")
    calls: list[tuple[str, dict[str, Any]]] = [
        (ENDPOINTS, {"s": site_id}),
        (DELIVERIES, {"s": site_id}),
        (CREATE_ENDPOINT, {"input": {"siteId": site_id, "url": "https://evil.example/h"}}),
        (UPDATE_ENDPOINT, {"input": {"endpointId": endpoint["id"], "url": "https://evil.example/h"}}),
        (UPDATE_ENDPOINT, {"input": {"endpointId": endpoint["id"], "rotateSecret": True}}),
        (RETRY, {"input": {"deliveryId": dead["id"]}}),
    ]  # fmt: skip
    # when / then: each is refused, for another site's admin and for a service token
    for token in (other, service):
        for query, variables in calls:
            body = await gql.execute(query, variables, token=token, expect_errors=True)
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", (query, body)
            assert endpoint["secret"] not in orjson.dumps(body).decode()
    # nothing changed
    body = await gql.execute(ENDPOINTS, {"s": site_id}, token=gql.token("admin", "shop-a"))
    assert body["data"]["webhookEndpoints"] == [endpoint]
    assert [d["status"] for d in await _deliveries(gql, site_id)] == ["DEAD"]


async def test_rotating_the_secret_signs_later_deliveries_with_the_new_one(
    gql: GraphQLClient,
    db: Database,
    clock: Clock,
    receiver: Receiver,
    client: httpx.AsyncClient,
) -> None:
    # given
    clock.now = _real_now()
    site_id, endpoint = await _shop_with_endpoint(gql, f"{receiver.url}/hook")
    old = endpoint["secret"]
    # when
    rotated = await _update_endpoint(
        gql, "shop-a", endpoint["id"], rotateSecret=True, idempotencyKey="rotate-1"
    )
    replayed = await _update_endpoint(
        gql, "shop-a", endpoint["id"], rotateSecret=True, idempotencyKey="rotate-1"
    )
    # then: a new secret, once (the retried request replays the first answer)
    new = rotated["endpoint"]["secret"]
    assert rotated["userErrors"] == []
    assert new.startswith("whsec_")
    assert new != old
    assert rotated["endpoint"] == {**endpoint, "secret": new}
    assert replayed == rotated
    body = await gql.execute(ENDPOINTS, {"s": site_id}, token=gql.token("admin", "shop-a"))
    assert body["data"]["webhookEndpoints"] == [rotated["endpoint"]]
    # and deliveries are signed with it
    ann = await register(gql, "shop-a", site_id, "ann")
    await _record_order(gql, site_id, "o-1", ann["id"], "12.00")
    assert await deliver(db, clock=clock, client=client, allow_private=True) == 1
    [request] = receiver.requests
    _verified(request, new, clock.now)
    with pytest.raises(WebhookVerificationError), time_machine.travel(clock.now, tick=False):
        Webhook(old).verify(request.body, request.headers)


async def test_create_retried_with_its_key_makes_one_endpoint(gql: GraphQLClient) -> None:
    # given
    site_id = await create_site(gql, "shop-a")
    fields = {"events": ["REWARD_EARNED", "TIER_CHANGED"], "idempotencyKey": "ep-1"}
    # when
    first = await _create_endpoint(gql, "shop-a", site_id, "https://example.com/h", **fields)
    again = await _create_endpoint(gql, "shop-a", site_id, "https://example.com/h", **fields)
    other = await _create_endpoint(gql, "shop-a", site_id, "https://example.com/other", **fields)
    # then
    assert first["userErrors"] == []
    assert first["endpoint"]["events"] == ["REWARD_EARNED", "TIER_CHANGED"]
    assert again == first
    assert other["endpoint"] is None
    assert [e["code"] for e in other["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    body = await gql.execute(ENDPOINTS, {"s": site_id}, token=gql.token("admin", "shop-a"))
    assert body["data"]["webhookEndpoints"] == [first["endpoint"]]


async def test_the_delivery_log_pages_newest_first(
    gql: GraphQLClient, db: Database, clock: Clock, receiver: Receiver
) -> None:
    # given: three events dispatched to one endpoint
    site_id, _ = await _shop_with_endpoint(gql, f"{receiver.url}/hook")
    ann = await register(gql, "shop-a", site_id, "ann")
    for n in range(3):
        await _record_order(gql, site_id, f"o-{n}", ann["id"], "12.00")
    assert await webhooks.dispatch(db, clock=clock) == 3
    query = """
    query($s: ID!, $after: String) {
      webhookDeliveries(siteId: $s, first: 2, after: $after) {
        edges { node { webhookId status } } pageInfo { hasNextPage endCursor }
      }
    }
    """
    admin = gql.token("admin", "shop-a")
    # when
    first = (await gql.execute(query, {"s": site_id}, token=admin))["data"]["webhookDeliveries"]
    after = first["pageInfo"]["endCursor"]
    second = (await gql.execute(query, {"s": site_id, "after": after}, token=admin))["data"][
        "webhookDeliveries"
    ]
    # then
    ids = sorted(await _events(db), key=lambda wid: -int(wid.removeprefix("evt_")))
    assert [e["node"]["webhookId"] for e in first["edges"]] == ids[:2]
    assert first["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["webhookId"] for e in second["edges"]] == ids[2:]
    assert second["pageInfo"]["hasNextPage"] is False
    assert {e["node"]["status"] for e in first["edges"] + second["edges"]} == {"PENDING"}


async def test_an_endpoint_switched_off_gets_no_more_attempts(
    gql: GraphQLClient,
    db: Database,
    clock: Clock,
    receiver: Receiver,
    client: httpx.AsyncClient,
) -> None:
    # given: a delivery whose first attempt failed
    site_id, endpoint = await _shop_with_endpoint(gql, f"{receiver.url}/hook")
    ann = await register(gql, "shop-a", site_id, "ann")
    await _record_order(gql, site_id, "o-1", ann["id"], "12.00")
    receiver.fail(1)
    assert await deliver(db, clock=clock, client=client, allow_private=True) == 1
    # when: the admin switches the endpoint off, and the retry falls due
    off = await _update_endpoint(gql, "shop-a", endpoint["id"], enabled=False)
    assert off["endpoint"]["enabled"] is False
    clock.now += backoff(1)
    await deliver(db, clock=clock, client=client, allow_private=True)
    # then: nothing more is sent to it ("enabled: whether events are sent to it")
    assert len(receiver.requests) == 1, "a switched-off endpoint was sent a retry"


# -- e) workers side by side -------------------------------------------------------------


@pytest.mark.concurrency
async def test_two_workers_side_by_side_deliver_each_of_1000_events_once(
    db: Database, clock: Clock, receiver: Receiver
) -> None:
    # given: 1,000 undispatched events for one endpoint
    site_id, customer_id, _ = await _service_site(db, clock, f"{receiver.url}/hook")
    await _insert_events(db, site_id, customer_id, 1000, clock.now)
    expected = set(await _events(db, site_id))
    # when: two workers, each with its own HTTP client, run at the same time
    async with (
        httpx.AsyncClient(headers={"x-worker": "1"}) as first,
        httpx.AsyncClient(headers={"x-worker": "2"}) as second,
    ):
        await asyncio.gather(
            run_worker(
                db, clock=clock, stop=asyncio.Event(), once=True, client=first, allow_private=True
            ),
            run_worker(
                db, clock=clock, stop=asyncio.Event(), once=True, client=second, allow_private=True
            ),
        )
    # then: every event arrived once
    received = receiver.ids()
    assert set(received) == expected
    assert [wid for wid, n in received.items() if n > 1] == []
    assert len(receiver.requests) == 1000
    by_worker = Counter(r.headers["x-worker"] for r in receiver.requests)
    assert set(by_worker) == {"1", "2"}, f"one worker did everything: {by_worker}"
    rows = await _delivery_rows(db)
    assert len(rows) == 1000
    assert Counter((row.status, row.attempts) for row in rows) == {("DELIVERED", 1): 1000}


# -- f) the worker process ---------------------------------------------------------------


async def test_the_worker_process_delivers_and_stops_cleanly_on_sigterm(
    db: Database, backend: DatabaseBackend, clock: Clock, receiver: Receiver
) -> None:
    # given: a pending event (the process runs on the real clock)
    clock.now = _real_now()
    site_id, customer_id, endpoint = await _service_site(db, clock, f"{receiver.url}/hook")
    [event_id] = await _insert_events(db, site_id, customer_id, 1, clock.now)
    process = await asyncio.create_subprocess_exec(
        CLI, "worker", "--deliver-every", "0.2",
        env={**os.environ, "LOYALTY_DATABASE_URL": backend.url, **ALLOW_PRIVATE},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        # when: the event arrives, then the process is told to stop
        await receiver.wait_for(1, within=30)
        await asyncio.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    # then
    assert process.returncode == 0, err.decode()
    assert "Traceback" not in err.decode(), err.decode()
    [request] = receiver.requests
    assert request.webhook_id == f"evt_{event_id}"
    assert Webhook(endpoint.secret).verify(request.body, request.headers)["type"] == (
        "ORDER_RECORDED"
    )
    [row] = await _delivery_rows(db)
    assert (row.status, row.attempts, row.lease_until) == ("DELIVERED", 1, None)


async def test_a_worker_process_killed_mid_batch_and_started_again_loses_nothing(
    db: Database, backend: DatabaseBackend, clock: Clock, receiver: Receiver
) -> None:
    # given: 30 pending events, and a receiver that holds its answers
    clock.now = _real_now()
    site_id, customer_id, _ = await _service_site(db, clock, f"{receiver.url}/hook")
    event_ids = await _insert_events(db, site_id, customer_id, 30, clock.now)
    env = {**os.environ, "LOYALTY_DATABASE_URL": backend.url, **ALLOW_PRIVATE}
    receiver.hold()
    first = await asyncio.create_subprocess_exec(
        CLI, "worker", "--deliver-every", "0.2", "--lease-seconds", "2", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        # when: the worker is killed (SIGKILL: no clean-up) while a request is in flight
        await receiver.wait_for(1, within=30)
        first.kill()
        await first.wait()
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
    receiver.release()
    await asyncio.sleep(2.5)  # its leases run out
    second = await asyncio.create_subprocess_exec(
        CLI, "worker", "--once", "--lease-seconds", "2", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(second.communicate(), timeout=60)
    # then: every event arrived; a repeat, if any, under the same webhook-id
    assert second.returncode == 0, err.decode()
    received = receiver.ids()
    assert set(received) == {f"evt_{n}" for n in event_ids}
    assert all(count <= 2 for count in received.values()), received
    rows = await _delivery_rows(db)
    assert {row.status for row in rows} == {"DELIVERED"}
    assert len(rows) == 30
