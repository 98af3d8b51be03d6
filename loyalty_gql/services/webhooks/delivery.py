"""Sending due deliveries: claimed with a lease, sent to vetted addresses, recorded."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from standardwebhooks.webhooks import Webhook

from loyalty_gql.db.engine import Database
from loyalty_gql.db.repositories.webhooks import Attempt, due_deliveries, record_attempt
from loyalty_gql.domain.webhooks.deliveries import LEASE, MAX_ATTEMPTS, DeliveryStatus, backoff
from loyalty_gql.services.core.common import Clock
from loyalty_gql.services.core.targets import NotSent, Resolver, resolve_host, vetted_targets
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.webhooks.endpoints import TIMEOUT_SECONDS

log = logging.getLogger(__name__)


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
        due = await due_deliveries(uow.session, now, limit=batch_size, lock=uow.is_postgres)
        claimed = []
        for delivery, endpoint in due:
            delivery.lease_until = lease_until
            claimed.append(
                Claimed(delivery.id, lease_until, delivery.webhook_id, delivery.body,
                        endpoint.url, endpoint.secret, delivery.attempts)
            )  # fmt: skip
        await uow.commit()
    return claimed


async def _send(
    client: httpx.AsyncClient,
    delivery: Claimed,
    now: datetime,
    *,
    allow_private: bool,
    resolve: Resolver,
) -> tuple[int | None, str | None]:
    try:
        to = await vetted_targets(
            delivery.url, allow_private=allow_private, resolve=resolve, within=TIMEOUT_SECONDS
        )
    except NotSent as refusal:
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
        attempt = Attempt(
            attempts, status, error, status=DeliveryStatus.DELIVERED, delivered_at=now
        )
    elif attempts >= MAX_ATTEMPTS:
        attempt = Attempt(attempts, status, error, status=DeliveryStatus.DEAD)
    else:
        attempt = Attempt(attempts, status, error, next_attempt_at=now + backoff(attempts))
    async with UnitOfWork(db) as uow:
        # only while the lease is ours: after it ran out another worker owns the row
        await record_attempt(uow.session, delivery.id, delivery.lease_until, attempt)
        await uow.commit()
