"""`loyalty-gql worker`: one long-running process for every background job.

It delivers outbox events to webhooks and, by e-mail and Web Push, to customers
(services/channels; each: dispatch, then send what is due) every second or so, and
runs expiry, expiry warnings, tier review, birthday campaigns and leaderboard prizes on
their own intervals. Expiry, its warnings and birthdays go by calendar days of each
site's timezone, so any interval up to a day sends each warning (and each birthday's
award, once a year) on its day. Every job claims its work with row locks (`FOR UPDATE
SKIP LOCKED` on PostgreSQL) or leases, so several workers share the work without doing
it twice. On SIGTERM or SIGINT it finishes the step in hand and exits. Webhooks go to
public addresses only (checked after DNS resolution, at every attempt) unless
LOYALTY_WEBHOOK_ALLOW_PRIVATE is on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx

from loyalty_gql.db.engine import Database
from loyalty_gql.services import channels
from loyalty_gql.services.birthdays import run_birthdays
from loyalty_gql.services.core.common import Clock
from loyalty_gql.services.leaderboard_prizes import award_prizes
from loyalty_gql.services.points.expiry import expire_points, warn_expiring
from loyalty_gql.services.tiers import review_tiers
from loyalty_gql.services.webhooks import LEASE, Resolver, dispatch, resolve_host, send_due

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Intervals:
    """Seconds between runs of each job (by name: a new job cannot shift the others)."""

    deliver: float = 1.0
    expire: float = 300.0
    warnings: float = 3600.0
    tiers: float = 3600.0
    birthdays: float = 3600.0  # each customer's once a year: any interval up to a day
    lease: float = LEASE.total_seconds()  # how long a claimed webhook batch stays ours
    prizes: float = 300.0  # leaderboard prizes of ended periods


async def deliver(
    db: Database,
    *,
    clock: Clock,
    client: httpx.AsyncClient,
    lease: timedelta = LEASE,
    allow_private: bool = False,
    resolve: Resolver = resolve_host,
) -> int:
    """Dispatch new events, then send every due delivery; returns deliveries tried.
    Only to public addresses unless ``allow_private`` (LOYALTY_WEBHOOK_ALLOW_PRIVATE)."""
    await dispatch(db, clock=clock)
    tried = 0
    while True:
        sent = await send_due(
            db, clock=clock, client=client, lease=lease, allow_private=allow_private,
            resolve=resolve,
        )  # fmt: skip
        tried += sent
        if sent == 0:
            return tried


async def deliver_to_customers(
    db: Database,
    *,
    clock: Clock,
    client: httpx.AsyncClient,
    config: channels.ChannelConfig,
    lease: timedelta = LEASE,
    resolve: Resolver = resolve_host,
) -> int:
    """Dispatch new events to e-mail and push, then send every due delivery (#19)."""
    await channels.dispatch(db, clock=clock, config=config)
    tried = 0
    while True:
        sent = await channels.send_due(
            db, clock=clock, config=config, client=client, lease=lease, resolve=resolve
        )
        tried += sent
        if sent == 0:
            return tried


async def run_worker(
    db: Database,
    *,
    clock: Clock,
    stop: asyncio.Event,
    intervals: Intervals = Intervals(),
    client: httpx.AsyncClient | None = None,
    once: bool = False,
    allow_private: bool = False,
    resolve: Resolver = resolve_host,
    channel_config: channels.ChannelConfig | None = None,
) -> None:
    """Run the jobs until ``stop`` is set (or, with ``once``, each job one time).
    Webhooks go to public addresses only unless ``allow_private``."""
    own_client = client is None
    http = client or httpx.AsyncClient(follow_redirects=False)
    lease = timedelta(seconds=intervals.lease)
    jobs: list[tuple[str, float, Callable[[], Awaitable[object]]]] = [
        (
            "deliver",
            intervals.deliver,
            lambda: deliver(
                db,
                clock=clock,
                client=http,
                lease=lease,
                allow_private=allow_private,
                resolve=resolve,
            ),
        ),
        (
            "deliver-to-customers",
            intervals.deliver,
            lambda: deliver_to_customers(
                db,
                clock=clock,
                client=http,
                lease=lease,
                resolve=resolve,
                config=channel_config or channels.ChannelConfig(),
            ),
        ),
        ("expire", intervals.expire, lambda: expire_points(db, clock=clock)),
        ("expiry-warnings", intervals.warnings, lambda: warn_expiring(db, clock=clock)),
        ("tier-review", intervals.tiers, lambda: review_tiers(db, clock=clock)),
        ("birthdays", intervals.birthdays, lambda: run_birthdays(db, clock=clock)),
        ("leaderboard-prizes", intervals.prizes, lambda: award_prizes(db, clock=clock)),
    ]
    due = dict.fromkeys((name for name, _, _ in jobs), 0.0)
    try:
        while not stop.is_set():
            for name, every, job in jobs:
                if stop.is_set() or time.monotonic() < due[name]:
                    continue
                try:
                    await job()
                except Exception:  # one failing job must not stop the others
                    log.exception("job %s failed", name)
                due[name] = time.monotonic() + every
            if once:
                return
            wait = max(0.0, min(due.values()) - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)
    finally:
        if own_client:
            await http.aclose()
