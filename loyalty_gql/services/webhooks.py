"""Webhooks: endpoints per site, and delivering outbox events to them reliably.

Two steps, each safe with any number of workers:

- `dispatch` takes undispatched outbox events (PostgreSQL: `FOR UPDATE SKIP
  LOCKED`), renders each event's notification with the site's templates, and
  writes one delivery per matching endpoint (unique per endpoint and event) with
  the exact body every attempt will send and a stable `webhook-id`.
- `send_due` claims due deliveries with a lease (a short transaction), sends them
  signed by the Standard Webhooks scheme outside any transaction, and records
  each outcome. A worker that dies mid-batch leaves leases that run out; the
  deliveries are sent again, under the same webhook-id, so receivers can drop
  duplicates. Failures back off exponentially; after MAX_ATTEMPTS a delivery is
  DEAD until `retry_delivery` sends it again.

Targets are public addresses only (`domain.webhook_targets`; no SSRF into the shop's
network). Saving an endpoint refuses malformed URLs, IP literals that are not public
and ``localhost``. Sending resolves the host, refuses the attempt when any address it
resolved to is not public, and connects to the address it vetted (the request goes to
the IP, with the name in ``Host`` and, for https, as the TLS server name that the
certificate is verified against), so DNS that changes between the check and the
connection cannot lead elsewhere. A refused attempt is a failed attempt like any other
(no request is made; ``last_error`` says why) and follows the same backoff and
dead-letter rules, since DNS can be corrected. https requests to a name close their
connection afterwards: the pool keys connections by the IP, and a connection whose TLS
was verified for one name must not carry a request for another. Redirects are never
followed (a 3xx is a failed attempt). ``allow_private``
(LOYALTY_WEBHOOK_ALLOW_PRIVATE) lifts the address rules, for development and tests.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import logging
import secrets
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook

from loyalty_gql.db.dialect import insert_for
from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import (
    CustomerRow,
    OutboxEventRow,
    SiteRow,
    WebhookDeliveryRow,
    WebhookEndpointRow,
)
from loyalty_gql.domain import webhook_targets
from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem
from loyalty_gql.services import notifications
from loyalty_gql.services.common import Actor, Clock
from loyalty_gql.services.idempotency import run_once
from loyalty_gql.services.uow import UnitOfWork

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
FIRST_BACKOFF = timedelta(seconds=10)
MAX_BACKOFF = timedelta(hours=6)
LEASE = timedelta(seconds=60)
TIMEOUT_SECONDS = 10.0
MAX_ENDPOINTS_PER_SITE = 20


def backoff(attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: 10 s, 20 s, 40 s ... at most 6 hours."""
    wait: timedelta = FIRST_BACKOFF * 2 ** max(0, attempts - 1)
    return min(wait, MAX_BACKOFF)


def new_secret() -> str:
    """A signing secret in the Standard Webhooks format (whsec_ + base64 of 32 bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


# -- endpoints (admin) ------------------------------------------------------------------


def _check_endpoint(url: str | None, events: Sequence[str] | None, *, allow_private: bool) -> None:
    problems = []
    if url is not None:
        problem = webhook_targets.url_problem(url, allow_private=allow_private)
        if problem is not None:
            problems.append(FieldProblem(("url",), ErrorCode.INVALID_VALUE, problem))
    if events is not None:
        unknown = sorted(set(events) - set(notifications.EVENTS))
        if unknown:
            problems.append(
                FieldProblem(("events",), ErrorCode.INVALID_VALUE, f"unknown events: {unknown}")
            )
    if problems:
        raise DomainError(problems)


async def create_endpoint(
    db: Database,
    *,
    site_id: int,
    url: str,
    events: Sequence[str],
    actor: Actor,
    clock: Clock,
    idempotency_key: str | None = None,
    allow_private: bool = False,
) -> WebhookEndpointRow:
    """Add an endpoint with a fresh signing secret; no events means every event.
    The URL must reach a public address unless ``allow_private``."""
    url = url.strip()
    _check_endpoint(url, events, allow_private=allow_private)
    now = clock()

    async def work(uow: UnitOfWork) -> WebhookEndpointRow:
        if await uow.session.get(SiteRow, site_id) is None:
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such site", "siteId")
        count = len(
            list(
                await uow.session.scalars(
                    select(WebhookEndpointRow.id).where(WebhookEndpointRow.site_id == site_id)
                )
            )
        )
        if count >= MAX_ENDPOINTS_PER_SITE:
            raise DomainError.single(
                ErrorCode.INVALID_VALUE, f"at most {MAX_ENDPOINTS_PER_SITE} endpoints per site"
            )
        row = WebhookEndpointRow(
            site_id=site_id, url=url, secret=new_secret(), events=sorted(set(events)),
            enabled=True, created_at=now, updated_at=now,
        )  # fmt: skip
        uow.session.add(row)
        await uow.session.flush()
        return row

    return await run_once(
        db, scope=f"site:{site_id}", key=idempotency_key, operation="createWebhookEndpoint",
        request={"url": url, "events": sorted(set(events))}, now=now, work=work,
        dump=lambda row: {"id": row.id}, load=_load_endpoint,
    )  # fmt: skip


async def update_endpoint(
    db: Database,
    *,
    endpoint_id: int,
    url: str | None = None,
    events: Sequence[str] | None = None,
    enabled: bool | None = None,
    rotate_secret: bool = False,
    actor: Actor,
    clock: Clock,
    idempotency_key: str | None = None,
    allow_private: bool = False,
) -> WebhookEndpointRow:
    """Change an endpoint's URL, events, switch it on or off, or give it a new secret.
    A new URL must reach a public address unless ``allow_private``."""
    url = url.strip() if url is not None else None
    _check_endpoint(url, events, allow_private=allow_private)
    now = clock()

    async def work(uow: UnitOfWork) -> WebhookEndpointRow:
        row = await uow.session.get(WebhookEndpointRow, endpoint_id)
        if row is None:
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such endpoint", "endpointId")
        if url is not None:
            row.url = url
        if events is not None:
            row.events = sorted(set(events))
        if enabled is not None:
            row.enabled = enabled
        if rotate_secret:
            row.secret = new_secret()
        row.updated_at = now
        await uow.session.flush()
        return row

    request = {"endpoint": endpoint_id, "url": url, "events": events, "enabled": enabled,
               "rotate": rotate_secret}  # fmt: skip
    return await run_once(
        db, scope=f"webhook-endpoint:{endpoint_id}", key=idempotency_key,
        operation="updateWebhookEndpoint", request=request, now=now, work=work,
        dump=lambda row: {"id": row.id}, load=_load_endpoint,
    )  # fmt: skip


async def retry_delivery(db: Database, *, delivery_id: int, clock: Clock) -> WebhookDeliveryRow:
    """Send a delivery again at once (a DEAD one gets a fresh set of attempts)."""
    now = clock()
    async with UnitOfWork(db) as uow:
        row = await uow.session.get(WebhookDeliveryRow, delivery_id)
        if row is None:
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such delivery", "deliveryId")
        if row.status == "DELIVERED":
            raise DomainError.single(
                ErrorCode.INVALID_STATE, "the delivery was delivered already", "deliveryId"
            )
        if row.status == "DEAD":
            row.attempts = 0
        row.status = "PENDING"
        row.next_attempt_at = now
        row.lease_until = None
        await uow.commit()
        return row


async def _load_endpoint(session: AsyncSession, stored: dict[str, Any]) -> WebhookEndpointRow:
    row = await session.get(WebhookEndpointRow, stored["id"])
    if row is None:  # pragma: no cover - endpoints are never removed
        raise DomainError.single(ErrorCode.NOT_FOUND, "the endpoint is gone")
    return row


# -- dispatching --------------------------------------------------------------------------


async def dispatch(db: Database, *, clock: Clock, batch_size: int = 200) -> int:
    """Turn undispatched outbox events into deliveries; returns the events handled."""
    handled = 0
    while True:
        async with UnitOfWork(db) as uow:
            now = clock()
            session = uow.session
            query = (
                select(OutboxEventRow)
                .where(OutboxEventRow.delivered_at.is_(None))
                .order_by(OutboxEventRow.id)
                .limit(batch_size)
            )
            if uow.is_postgres:
                query = query.with_for_update(skip_locked=True)
            events = list(await session.scalars(query))
            if not events:
                return handled
            await _deliveries_for(session, events, now)
            for event in events:
                event.delivered_at = now
            await uow.commit()
            handled += len(events)


async def _deliveries_for(
    session: AsyncSession, events: list[OutboxEventRow], now: datetime
) -> None:
    site_ids = {e.site_id for e in events}
    endpoints: dict[int, list[WebhookEndpointRow]] = {}
    for row in await session.scalars(
        select(WebhookEndpointRow).where(
            WebhookEndpointRow.site_id.in_(site_ids), WebhookEndpointRow.enabled.is_(True)
        )
    ):
        endpoints.setdefault(row.site_id, []).append(row)
    if not endpoints:
        return
    sites = {
        s.id: s for s in await session.scalars(select(SiteRow).where(SiteRow.id.in_(site_ids)))
    }
    customer_ids = {e.customer_id for e in events if e.customer_id is not None}
    customers = {
        c.id: c
        for c in await session.scalars(select(CustomerRow).where(CustomerRow.id.in_(customer_ids)))
    }
    stored = {
        site_id: await notifications.stored_templates(session, site_id) for site_id in endpoints
    }
    rows = []
    for event in events:
        targets = [
            ep
            for ep in endpoints.get(event.site_id, [])
            if not ep.events or event.kind in ep.events
        ]
        if not targets:
            continue
        site = sites[event.site_id]
        customer = customers.get(event.customer_id) if event.customer_id else None
        rendered = await _rendered(session, site, event, customer, stored[site.id])
        body = _body(event, site, customer, rendered)
        rows += [
            {"site_id": event.site_id, "endpoint_id": ep.id, "event_id": event.id,
             "event": event.kind, "webhook_id": f"evt_{event.id}", "body": body,
             "status": "PENDING", "attempts": 0, "next_attempt_at": now, "created_at": now}
            for ep in targets
        ]  # fmt: skip
    if rows:
        insert = insert_for(session)
        await session.execute(insert(WebhookDeliveryRow).values(rows).on_conflict_do_nothing())


async def _rendered(
    session: AsyncSession,
    site: SiteRow,
    event: OutboxEventRow,
    customer: CustomerRow | None,
    stored: dict[str, notifications.Template],
) -> dict[str, Any] | None:
    try:
        rendered = await notifications.render_event(session, site, event, customer, stored=stored)
    except Exception:  # a broken template must not stop the event
        log.exception("rendering %s %s failed", event.kind, event.id)
        return None
    return {
        "email": {
            "subject": rendered.email_subject,
            "html": rendered.email_html,
            "text": rendered.email_text,
        },
        "push": {"title": rendered.push_title, "body": rendered.push_body},
    }


def _body(
    event: OutboxEventRow,
    site: SiteRow,
    customer: CustomerRow | None,
    rendered: dict[str, Any] | None,
) -> str:
    """The JSON every attempt of this event sends (fixed, so its signature is too)."""
    document = {
        "type": event.kind,
        "timestamp": event.created_at.isoformat(),
        "data": {
            "eventId": event.id,
            "site": site.code,
            "customer": None if customer is None else {
                "externalId": customer.external_id, "email": customer.email,
                "name": customer.name,
            },
            "payload": event.payload,
            "notification": rendered,
        },
    }  # fmt: skip
    return orjson.dumps(document).decode()


# -- sending ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this worker leased, with what it needs to send it."""

    id: int
    lease_until: datetime
    webhook_id: str
    body: str
    url: str
    secret: str
    attempts: int


Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Looks a host name up: (host, port) -> its addresses, most preferred first."""


async def resolve_host(host: str, port: int) -> list[str]:
    """The addresses ``host`` has for TCP, in the system resolver's order (getaddrinfo)."""
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in found))


async def send_due(
    db: Database,
    *,
    clock: Clock,
    client: httpx.AsyncClient,
    batch_size: int = 50,
    lease: timedelta = LEASE,
    allow_private: bool = False,
    resolve: Resolver = resolve_host,
) -> int:
    """Send the deliveries that are due (one leased batch); returns how many were tried.
    ``lease`` must outlast sending a batch; a dead worker's leases free after it.
    Targets must resolve to public addresses only, unless ``allow_private``."""
    claimed = await _claim(db, clock(), batch_size, lease)
    for delivery in claimed:
        status, error = await _send(
            client, delivery, clock(), allow_private=allow_private, resolve=resolve
        )
        await _record(db, delivery, status, error, clock())
    return len(claimed)


async def _claim(
    db: Database, now: datetime, batch_size: int, lease: timedelta = LEASE
) -> list[Claimed]:
    lease_until = now + lease
    async with UnitOfWork(db) as uow:
        query = (
            select(WebhookDeliveryRow, WebhookEndpointRow)
            .join(WebhookEndpointRow, WebhookEndpointRow.id == WebhookDeliveryRow.endpoint_id)
            .where(
                WebhookDeliveryRow.status == "PENDING",
                WebhookDeliveryRow.next_attempt_at <= now,
                WebhookEndpointRow.enabled.is_(True),  # a switched-off endpoint waits
                or_(
                    WebhookDeliveryRow.lease_until.is_(None),
                    WebhookDeliveryRow.lease_until <= now,
                ),
            )
            .order_by(WebhookDeliveryRow.next_attempt_at, WebhookDeliveryRow.id)
            .limit(batch_size)
        )
        if uow.is_postgres:
            query = query.with_for_update(skip_locked=True, of=WebhookDeliveryRow)
        claimed = []
        for delivery, endpoint in await uow.session.execute(query):
            delivery.lease_until = lease_until
            claimed.append(
                Claimed(delivery.id, lease_until, delivery.webhook_id, delivery.body,
                        endpoint.url, endpoint.secret, delivery.attempts)
            )  # fmt: skip
        await uow.commit()
    return claimed


@dataclass(frozen=True, slots=True)
class _Target:
    """One vetted address to send a delivery to: the URL with the address as its host,
    and for a name, the ``Host`` header and the TLS server name to keep."""

    url: httpx.URL
    headers: dict[str, str]
    extensions: dict[str, Any]
    address: str


class _NotSent(Exception):  # noqa: N818 - an outcome, not an error of ours
    """Why an attempt made no request (becomes the delivery's last error)."""


async def _targets(url: str, *, allow_private: bool, resolve: Resolver) -> list[_Target]:
    """Where to send to ``url``: one target per address its host resolves to, in order.
    Raises _NotSent when the URL is unusable, the name does not resolve, or (unless
    ``allow_private``) any of its addresses is not public."""
    try:
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii")
        literal = webhook_targets.literal_address(host)
    except (httpx.InvalidURL, ValueError) as error:  # UnicodeError is a ValueError
        raise _NotSent(f"invalid URL: {error}") from None
    if parsed.scheme not in ("http", "https") or not host:
        raise _NotSent("invalid URL: an http(s) URL with a host is needed")
    if literal is not None:
        addresses = [literal]
    else:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        addresses = await _resolved(host, port, resolve)
    if not allow_private:
        for address in addresses:
            kind = webhook_targets.non_public(address)
            if kind is not None:
                where = f"{host} is" if literal is not None else f"{host} resolves to {address},"
                raise _NotSent(f"refused: {where} a non-public address ({kind})")
    headers: dict[str, str] = {}
    extensions: dict[str, Any] = {}
    if literal is None:  # the connection goes to the vetted address, under the name
        headers["host"] = parsed.netloc.decode("ascii")
        if parsed.scheme == "https":
            extensions["sni_hostname"] = host
            headers["connection"] = "close"  # pooled connections are keyed by the address
    try:
        return [
            _Target(parsed.copy_with(host=str(address)), headers, extensions, str(address))
            for address in addresses
        ]
    except httpx.InvalidURL as error:
        raise _NotSent(f"invalid URL: {error}") from None


async def _resolved(host: str, port: int, resolve: Resolver) -> list[webhook_targets.IPAddress]:
    try:
        found = await asyncio.wait_for(resolve(host, port), TIMEOUT_SECONDS)
        addresses = [ipaddress.ip_address(address) for address in found]
    except (OSError, TimeoutError, ValueError) as error:
        reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        raise _NotSent(f"DNS: {host} could not be resolved ({reason})") from None
    if not addresses:
        raise _NotSent(f"DNS: {host} has no address")
    return addresses


async def _send(
    client: httpx.AsyncClient,
    delivery: Claimed,
    now: datetime,
    *,
    allow_private: bool,
    resolve: Resolver,
) -> tuple[int | None, str | None]:
    try:
        to = await _targets(delivery.url, allow_private=allow_private, resolve=resolve)
    except _NotSent as refusal:
        log.warning("webhook delivery %s not sent: %s", delivery.id, refusal)
        return None, str(refusal)[:1000]
    signature = Webhook(delivery.secret).sign(delivery.webhook_id, now, delivery.body)
    headers = {
        "content-type": "application/json",
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "user-agent": "loyalty-gql-webhooks",
    }
    error = ""
    for target in to:
        try:
            response = await client.post(
                target.url, content=delivery.body, headers={**headers, **target.headers},
                extensions=target.extensions, timeout=TIMEOUT_SECONDS, follow_redirects=False,
            )  # fmt: skip
        except httpx.ConnectError as failure:  # nothing was sent: try the next address
            error = f"{type(failure).__name__}: {failure}"
            if "host" in target.headers:
                error += f" ({target.address})"
            continue
        except httpx.HTTPError as failure:
            return None, f"{type(failure).__name__}: {failure}"[:1000]
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}"
    return None, error[:1000]


async def _record(
    db: Database, delivery: Claimed, status: int | None, error: str | None, now: datetime
) -> None:
    attempts = delivery.attempts + 1
    if error is None:
        values: dict[str, Any] = {"status": "DELIVERED", "delivered_at": now}
    elif attempts >= MAX_ATTEMPTS:
        values = {"status": "DEAD"}
    else:
        values = {"next_attempt_at": now + backoff(attempts)}
    async with UnitOfWork(db) as uow:
        # only while the lease is ours: after it ran out another worker owns the row
        await uow.session.execute(
            update(WebhookDeliveryRow)
            .where(
                WebhookDeliveryRow.id == delivery.id,
                WebhookDeliveryRow.lease_until == delivery.lease_until,
            )
            .values(
                attempts=attempts, lease_until=None, last_status_code=status, last_error=error,
                **values,
            )
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        await uow.commit()
