"""Expire points whose validity ended, and warn customers before it does."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import PointAccountRow, PointLotRow
from loyalty_gql.db.repositories.points.expiry import (
    customers_by_ids,
    customers_due_to_expire,
    lock_accounts_skipping_held,
    lot_expiries_between,
    open_lots_of,
    rolling_expiries_between,
    sites_by_ids,
    sites_with_program,
)
from loyalty_gql.db.repositories.points.ledger import add_event_once
from loyalty_gql.db.repositories.sites import settings_of
from loyalty_gql.domain.points import end_of_day, last_valid_day, local_day, warning_due
from loyalty_gql.domain.sites import ProgramSettings, ValidityPolicy
from loyalty_gql.services.core.common import Clock
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.points.ledger import AccountBook


async def expire_points(db: Database, *, clock: Clock, batch_size: int = 200) -> int:
    """Write EXPIRED entries for every lot past its date and every account past its
    rolling date. Stored expiries are the end of the last valid day in the site's
    timezone, so a job on any hour of the next day expires them, and none on that day.
    Idempotent: what expired is gone, so a second run finds nothing.
    Returns the number of EXPIRED entries written."""
    written = 0
    while True:
        async with UnitOfWork(db) as uow:
            now = clock()
            candidates = await customers_due_to_expire(uow.session, now, limit=batch_size)
            if not candidates:
                return written
            accounts = await lock_accounts_skipping_held(
                uow.session, candidates, lock=uow.is_postgres
            )
            if not accounts:
                return written  # another worker holds them all; it will expire them
            written += await _expire_accounts(uow, accounts, now)
            await uow.commit()


async def _expire_accounts(uow: UnitOfWork, accounts: list[PointAccountRow], now: datetime) -> int:
    ids = [a.customer_id for a in accounts]
    customers = await customers_by_ids(uow.session, ids)
    sites = await sites_by_ids(uow.session, {a.site_id for a in accounts})
    open_lots = await open_lots_of(uow.session, ids)
    lots_of: dict[int, list[PointLotRow]] = defaultdict(list)
    for lot in open_lots:
        lots_of[lot.customer_id].append(lot)
    written = 0
    for account in accounts:
        rolling_due = account.rolling_expires_at is not None and account.rolling_expires_at <= now
        due = [
            lot
            for lot in lots_of[account.customer_id]
            if rolling_due or (lot.expires_at is not None and lot.expires_at <= now)
        ]
        if not due:
            continue
        book = AccountBook(
            uow, sites[account.site_id], customers[account.customer_id], account, now
        )
        key = f"expire:{account.customer_id}:{now.isoformat()}:{due[0].id}"
        entry = await book.expire_lots(due, key)
        if entry is not None:
            written += 1
            await add_event_once(
                uow.session,
                site_id=account.site_id,
                customer_id=account.customer_id,
                kind="POINTS_EXPIRED",
                dedupe_key=f"expired:{entry.id}",
                payload={
                    "points": entry.expired_points,
                    "expired_at": now.isoformat(),
                    "available": account.available,
                },
                now=now,
            )
    return written


async def warn_expiring(db: Database, *, clock: Clock) -> int:
    """Write one POINTS_EXPIRING event per customer, last valid day and schedule step,
    never two (the outbox's dedupe key). A step is due on its calendar day in the site's
    timezone, so a daily job sends it that day whatever the hour it runs. Returns how
    many were written."""
    now = clock()
    async with db.read_sessions() as session:
        sites = await sites_with_program(session)
    written = 0
    for site in sites:
        settings = settings_of(site)
        schedule = settings.expiry_warning_days
        if not schedule or settings.validity_policy is ValidityPolicy.NONE:
            continue
        zone = settings.zone
        horizon = end_of_day(local_day(now, zone) + timedelta(days=max(schedule)), zone)
        async with UnitOfWork(db) as uow:
            expiring = await _expiring(uow, site.id, settings, now, horizon)
            for (customer_id, day), (points, expires_at) in sorted(expiring.items()):
                step = warning_due(expires_at, now, zone, schedule)
                if step is None:
                    continue
                if await add_event_once(
                    uow.session,
                    site_id=site.id,
                    customer_id=customer_id,
                    kind="POINTS_EXPIRING",
                    dedupe_key=f"expiring:{customer_id}:{day.isoformat()}:{step}",
                    payload={
                        "points": points,
                        "expires_at": expires_at.isoformat(),
                        "expires_on": day.isoformat(),
                        "days_before": step,
                    },
                    now=now,
                ):
                    written += 1
            await uow.commit()
    return written


async def _expiring(
    uow: UnitOfWork, site_id: int, settings: ProgramSettings, now: datetime, horizon: datetime
) -> dict[tuple[int, date], tuple[int, datetime]]:
    """Points expiring by (customer, last valid day in the site's timezone) before the
    horizon, with the earliest moment."""
    result: dict[tuple[int, date], tuple[int, datetime]] = {}
    zone = settings.zone
    if settings.validity_policy is ValidityPolicy.ROLLING_DAYS:
        rows = await rolling_expiries_between(uow.session, site_id, now, horizon)
        for customer_id, available, expires_at in rows:
            if expires_at is not None:
                result[(customer_id, last_valid_day(expires_at, zone))] = (available, expires_at)
        return result
    lots = await lot_expiries_between(uow.session, site_id, now, horizon)
    for customer_id, remaining, expires_at in lots:
        if expires_at is None:  # pragma: no cover - filtered by the query
            continue
        key = (customer_id, last_valid_day(expires_at, zone))
        points, first = result.get(key, (0, expires_at))
        result[key] = (points + remaining, min(first, expires_at))
    return result
