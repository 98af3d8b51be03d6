"""Webhook endpoints per site, and dispatching outbox events into deliveries."""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import (
    CustomerRow,
    OutboxEventRow,
    SiteRow,
    WebhookDeliveryRow,
    WebhookEndpointRow,
)
from loyalty_gql.db.repositories import webhooks as stored_webhooks
from loyalty_gql.db.repositories.customers import customers_by_ids
from loyalty_gql.db.repositories.sites import site_by_id, sites_by_ids
from loyalty_gql.db.session import Session
from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem
from loyalty_gql.domain.webhooks import targets as webhook_targets
from loyalty_gql.domain.webhooks.deliveries import DeliveryStatus
from loyalty_gql.services import notifications
from loyalty_gql.services.core.common import Actor, Clock
from loyalty_gql.services.core.idempotency import Idempotency, run_once
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.webhooks import wire

log = logging.getLogger(__name__)


TIMEOUT_SECONDS = 10.0


MAX_ENDPOINTS_PER_SITE = 20


def new_secret() -> str:
    """A signing secret in the Standard Webhooks format (whsec_ + base64 of 32 bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


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
    retry: Idempotency,
    allow_private: bool = False,
) -> WebhookEndpointRow:
    """Add an endpoint with a fresh signing secret; no events means every event.
    The URL must reach a public address unless ``allow_private``."""
    url = url.strip()
    _check_endpoint(url, events, allow_private=allow_private)
    now = clock()

    async def work(uow: UnitOfWork) -> WebhookEndpointRow:
        if await site_by_id(uow.session, site_id) is None:
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such site", "site_id")
        count = len(await stored_webhooks.endpoint_ids_of_site(uow.session, site_id))
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
        db, scope=f"site:{site_id}", retry=retry,
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
    retry: Idempotency,
    allow_private: bool = False,
) -> WebhookEndpointRow:
    """Change an endpoint's URL, events, switch it on or off, or give it a new secret.
    A new URL must reach a public address unless ``allow_private``."""
    url = url.strip() if url is not None else None
    _check_endpoint(url, events, allow_private=allow_private)
    now = clock()

    async def work(uow: UnitOfWork) -> WebhookEndpointRow:
        row = await stored_webhooks.endpoint_by_id(uow.session, endpoint_id)
        if row is None:
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such endpoint", "endpoint_id")
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
        db, scope=f"webhook-endpoint:{endpoint_id}", retry=retry, request=request, now=now,
        work=work, dump=lambda row: {"id": row.id}, load=_load_endpoint,
    )  # fmt: skip


async def retry_delivery(db: Database, *, delivery_id: int, clock: Clock) -> WebhookDeliveryRow:
    """Send a delivery again at once (a DEAD one gets a fresh set of attempts)."""
    now = clock()
    async with UnitOfWork(db) as uow:
        row = await stored_webhooks.delivery_by_id(uow.session, delivery_id)
        if row is None:
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such delivery", "delivery_id")
        if row.status == DeliveryStatus.DELIVERED:
            raise DomainError.single(
                ErrorCode.INVALID_STATE, "the delivery was delivered already", "delivery_id"
            )
        if row.status == DeliveryStatus.DEAD:
            row.attempts = 0
        row.status = DeliveryStatus.PENDING
        row.next_attempt_at = now
        row.lease_until = None
        await uow.commit()
        return row


async def _load_endpoint(session: Session, stored: dict[str, Any]) -> WebhookEndpointRow:
    row = await stored_webhooks.endpoint_by_id(session, stored["id"])
    if row is None:  # pragma: no cover - endpoints are never removed
        raise DomainError.single(ErrorCode.NOT_FOUND, "the endpoint is gone")
    return row


async def dispatch(db: Database, *, clock: Clock, batch_size: int = 200) -> int:
    """Turn undispatched outbox events into deliveries; returns the events handled."""
    handled = 0
    while True:
        async with UnitOfWork(db) as uow:
            now = clock()
            session = uow.session
            events = await stored_webhooks.undispatched_events(
                session, limit=batch_size, lock=uow.is_postgres
            )
            if not events:
                return handled
            await _deliveries_for(session, events, now)
            for event in events:
                event.delivered_at = now
            await uow.commit()
            handled += len(events)


async def _deliveries_for(session: Session, events: list[OutboxEventRow], now: datetime) -> None:
    site_ids = list({e.site_id: None for e in events})
    endpoints: dict[int, list[WebhookEndpointRow]] = {}
    for row in await stored_webhooks.enabled_endpoints_of_sites(session, site_ids):
        endpoints.setdefault(row.site_id, []).append(row)
    if not endpoints:
        return
    sites = await sites_by_ids(session, site_ids)
    customer_ids = list({e.customer_id: None for e in events if e.customer_id is not None})
    customers = await customers_by_ids(session, customer_ids)
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
        body = wire.body(event, site, customer, rendered)
        rows += [
            {"site_id": event.site_id, "endpoint_id": ep.id, "event_id": event.id,
             "event": event.kind, "webhook_id": f"evt_{event.id}", "body": body,
             "status": DeliveryStatus.PENDING, "attempts": 0, "next_attempt_at": now,
             "created_at": now}
            for ep in targets
        ]  # fmt: skip
    if rows:
        await stored_webhooks.add_deliveries(session, rows)


async def _rendered(
    session: Session,
    site: SiteRow,
    event: OutboxEventRow,
    customer: CustomerRow | None,
    stored: dict[str, notifications.Template],
) -> notifications.Rendered | None:
    try:
        rendered = await notifications.render_event(session, site, event, customer, stored=stored)
    except Exception:  # a broken template must not stop the event
        log.exception("rendering %s %s failed", event.kind, event.id)
        return None
    return rendered
