"""Sending due e-mail and push deliveries: claimed (the attempt counted) before the
send, sent within the lease, and recorded.

What this guarantees: a delivery is claimed by one worker at a time (row locks on
PostgreSQL, the write lock on SQLite, then a lease); a worker starts a send only when
its lease outlasts the send's timeout, so no other worker can claim it while it runs.
Only a worker that dies (or loses the database) after handing a message over and before
recording it leaves a delivery to be sent again, after its lease ran out, with the same
Message-ID (e-mail) or Topic (push), so the receiver can tell the copy. Every such
claim counts as an attempt: a message that kills its worker ends DEAD after
MAX_ATTEMPTS instead of being sent forever.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from loyalty_gql.db.engine import Database
from loyalty_gql.db.repositories import channels as stored
from loyalty_gql.db.repositories.webhooks import Attempt
from loyalty_gql.domain.channels import Channel
from loyalty_gql.domain.webhooks.deliveries import LEASE, MAX_ATTEMPTS, DeliveryStatus, backoff
from loyalty_gql.services.channels import email, push
from loyalty_gql.services.channels.config import ChannelConfig
from loyalty_gql.services.channels.email import Outcome
from loyalty_gql.services.core.common import Clock
from loyalty_gql.services.core.targets import Resolver, resolve_host
from loyalty_gql.services.core.uow import UnitOfWork

log = logging.getLogger(__name__)

LOST = "the worker stopped during attempt {n} (it may have been sent); not tried again"


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this worker leased (its attempt already counted), with what it sends."""

    id: int
    lease_until: datetime
    channel: Channel
    target: str
    message_id: str
    body: dict[str, Any]
    attempts: int
    subscription: tuple[int, str, str] | None  # id, p256dh, auth
    vapid: tuple[str | None, str]  # private key, subject


async def send_due(
    db: Database,
    *,
    clock: Clock,
    config: ChannelConfig,
    client: httpx.AsyncClient,
    batch_size: int = 20,
    lease: timedelta = LEASE,
    resolve: Resolver = resolve_host,
) -> int:
    """Send the e-mail and push deliveries that are due (one leased batch); returns how
    many were tried."""
    claimed = await _claim(db, clock(), batch_size, lease, config)
    margin = timedelta(seconds=config.timeout + 2)
    tried = 0
    for n, delivery in enumerate(claimed):
        if delivery.lease_until - clock() < margin:  # too late to start: give the rest back
            log.warning("lease too short to send %s deliveries; given back", len(claimed) - n)
            async with UnitOfWork(db) as uow:
                for rest in claimed[n:]:
                    await stored.release(uow.session, rest.id, rest.lease_until)
                await uow.commit()
            break
        outcome = await _send(delivery, config, client, clock(), resolve)
        await _record(db, delivery, outcome, clock())
        tried += 1
    return tried


async def _claim(
    db: Database, now: datetime, batch_size: int, lease: timedelta, config: ChannelConfig
) -> list[Claimed]:
    lease_until = now + lease
    async with UnitOfWork(db) as uow:
        due = await stored.due_deliveries(uow.session, now, limit=batch_size, lock=uow.is_postgres)
        subscriptions = await stored.subscriptions_by_ids(
            uow.session, [d.subscription_id for d in due if d.subscription_id is not None]
        )
        settings = await stored.settings_of_sites(uow.session, {d.site_id for d in due})
        claimed = []
        for row in due:
            if row.attempts >= MAX_ATTEMPTS:  # its last claim's worker died mid-send
                row.status = DeliveryStatus.DEAD
                row.lease_until = None
                row.last_error = LOST.format(n=row.attempts)
                continue
            row.attempts += 1
            row.lease_until = lease_until
            found = subscriptions.get(row.subscription_id or 0)
            setting = settings.get(row.site_id)
            key = (setting.vapid_private_key if setting else None) or config.vapid_private_key
            subject = (setting.vapid_subject if setting else None) or config.vapid_subject
            claimed.append(
                Claimed(
                    row.id, lease_until, Channel(row.channel), row.target, row.message_id,
                    dict(row.body), row.attempts,
                    (found.id, found.p256dh, found.auth) if found else None, (key, subject),
                )
            )  # fmt: skip
        await uow.commit()
    return claimed


async def _send(
    delivery: Claimed,
    config: ChannelConfig,
    client: httpx.AsyncClient,
    now: datetime,
    resolve: Resolver,
) -> Outcome:
    if delivery.channel == Channel.EMAIL:
        return await email.hand_over(
            config.smtp, sender=delivery.body["from"], to=delivery.target,
            message=delivery.body["message"], within=config.timeout,
        )  # fmt: skip
    if delivery.subscription is None:
        return Outcome(None, "the push subscription was removed", permanent=True)
    _, p256dh, auth = delivery.subscription
    key, subject = delivery.vapid
    return await push.post(
        client, endpoint=delivery.target, p256dh=p256dh, auth=auth,
        message={k: str(v) for k, v in delivery.body.items()}, vapid_private_key=key,
        vapid_subject=subject, topic=delivery.message_id, now=now, within=config.timeout,
        allow_private=config.allow_private, resolve=resolve,
    )  # fmt: skip


async def _record(db: Database, delivery: Claimed, outcome: Outcome, now: datetime) -> None:
    n, code, error = delivery.attempts, outcome.status_code, outcome.error
    if error is None:
        attempt = Attempt(n, code, None, status=DeliveryStatus.DELIVERED, delivered_at=now)
    elif outcome.permanent or n >= MAX_ATTEMPTS:
        attempt = Attempt(n, code, error, status=DeliveryStatus.DEAD)
    else:
        attempt = Attempt(n, code, error, next_attempt_at=now + backoff(n))
    if error is not None:
        log.warning("%s delivery %s attempt %s failed: %s", delivery.channel, delivery.id, n, error)
    async with UnitOfWork(db) as uow:
        await stored.record_attempt(uow.session, delivery.id, delivery.lease_until, attempt)
        if outcome.gone and delivery.subscription is not None:
            await stored.remove_subscription(uow.session, delivery.subscription[0])
        await uow.commit()
