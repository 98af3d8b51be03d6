"""Expire points whose validity ended, and warn customers before it does."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import select

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import CustomerRow, PointAccountRow, PointLotRow, SiteRow
from loyalty_gql.db.repositories.points import add_event_once
from loyalty_gql.db.repositories.sites import settings_of
from loyalty_gql.domain.ledger import warning_step
from loyalty_gql.domain.program import ValidityPolicy
from loyalty_gql.services.core.common import Clock
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.points.ledger import AccountBook


async def expire_points(db: Database, *, clock: Clock, batch_size: int = 200) -> int:
    """Write EXPIRED entries for every lot past its date and every account past its
    rolling date. Idempotent: what expired is gone, so a second run finds nothing.
    Returns the number of EXPIRED entries written."""
    written = 0
    while True:
        async with UnitOfWork(db) as uow:
            now = clock()
            session = uow.session
            due_lots = select(PointLotRow.customer_id).where(
                PointLotRow.remaining > 0, PointLotRow.expires_at <= now
            )
            due_accounts = select(PointAccountRow.customer_id).where(
                PointAccountRow.rolling_expires_at <= now, PointAccountRow.available > 0
            )
            candidates = set(await session.scalars(due_lots.distinct().limit(batch_size)))
            candidates |= set(await session.scalars(due_accounts.limit(batch_size)))
            if not candidates:
                return written
            lock = (
                select(PointAccountRow)
                .where(PointAccountRow.customer_id.in_(candidates))
                .order_by(PointAccountRow.customer_id)
            )
            if uow.is_postgres:
                lock = lock.with_for_update(skip_locked=True)
            accounts = list(await session.scalars(lock))
            if not accounts:
                return written  # another worker holds them all; it will expire them
            written += await _expire_accounts(uow, accounts, now)
            await uow.commit()


async def _expire_accounts(uow: UnitOfWork, accounts: list[PointAccountRow], now: datetime) -> int:
    session = uow.session
    ids = [a.customer_id for a in accounts]
    customers = {
        c.id: c for c in await session.scalars(select(CustomerRow).where(CustomerRow.id.in_(ids)))
    }
    site_ids = {a.site_id for a in accounts}
    sites = {
        s.id: s for s in await session.scalars(select(SiteRow).where(SiteRow.id.in_(site_ids)))
    }
    open_lots = await session.scalars(
        select(PointLotRow)
        .where(PointLotRow.customer_id.in_(ids), PointLotRow.remaining > 0)
        .order_by(PointLotRow.customer_id, PointLotRow.id)
    )
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
                    "expiredAt": now.isoformat(),
                    "available": account.available,
                },
                now=now,
            )
    return written


async def warn_expiring(db: Database, *, clock: Clock) -> int:
    """Write one POINTS_EXPIRING event per customer, expiry date and schedule step,
    never two (the outbox's dedupe key). Returns how many were written."""
    now = clock()
    async with db.read_sessions() as session:
        sites = list(await session.scalars(select(SiteRow).where(SiteRow.program_enabled)))
    written = 0
    for site in sites:
        settings = settings_of(site)
        schedule = settings.expiry_warning_days
        if not schedule or settings.validity_policy is ValidityPolicy.NONE:
            continue
        horizon = now + timedelta(days=max(schedule))
        async with UnitOfWork(db) as uow:
            expiring = await _expiring(uow, site.id, settings.validity_policy, now, horizon)
            for (customer_id, day), (points, expires_at) in sorted(expiring.items()):
                days_left = (expires_at - now).total_seconds() / 86400
                step = warning_step(days_left, schedule)
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
                        "expiresAt": expires_at.isoformat(),
                        "expiresOn": day.isoformat(),
                        "daysBefore": step,
                    },
                    now=now,
                ):
                    written += 1
            await uow.commit()
    return written


async def _expiring(
    uow: UnitOfWork, site_id: int, policy: ValidityPolicy, now: datetime, horizon: datetime
) -> dict[tuple[int, date], tuple[int, datetime]]:
    """Points expiring by (customer, day) before the horizon, with the earliest moment."""
    result: dict[tuple[int, date], tuple[int, datetime]] = {}
    if policy is ValidityPolicy.ROLLING_DAYS:
        rows = await uow.session.execute(
            select(
                PointAccountRow.customer_id,
                PointAccountRow.available,
                PointAccountRow.rolling_expires_at,
            ).where(
                PointAccountRow.site_id == site_id,
                PointAccountRow.available > 0,
                PointAccountRow.rolling_expires_at > now,
                PointAccountRow.rolling_expires_at <= horizon,
            )
        )
        for customer_id, available, expires_at in rows:
            if expires_at is not None:
                result[(customer_id, expires_at.date())] = (available, expires_at)
        return result
    rows = await uow.session.execute(
        select(PointLotRow.customer_id, PointLotRow.remaining, PointLotRow.expires_at).where(
            PointLotRow.site_id == site_id,
            PointLotRow.remaining > 0,
            PointLotRow.expires_at > now,
            PointLotRow.expires_at <= horizon,
        )
    )
    for customer_id, remaining, expires_at in rows:
        if expires_at is None:  # pragma: no cover - filtered by the query
            continue
        key = (customer_id, expires_at.date())
        points, first = result.get(key, (0, expires_at))
        result[key] = (points + remaining, min(first, expires_at))
    return result
