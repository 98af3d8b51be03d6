"""Queries of expiry: whose points are due, the accounts to lock, and what expires soon."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loyalty_gql.db.models import CustomerRow, PointAccountRow, PointLotRow, SiteRow


async def customers_due_to_expire(session: AsyncSession, now: datetime, *, limit: int) -> set[int]:
    """Customers with an open lot past its date, and customers whose rolling date passed
    while they hold points (up to ``limit`` of each)."""
    due_lots = select(PointLotRow.customer_id).where(
        PointLotRow.remaining > 0, PointLotRow.expires_at <= now
    )
    due_accounts = select(PointAccountRow.customer_id).where(
        PointAccountRow.rolling_expires_at <= now, PointAccountRow.available > 0
    )
    candidates = set(await session.scalars(due_lots.distinct().limit(limit)))
    candidates |= set(await session.scalars(due_accounts.limit(limit)))
    return candidates


async def lock_accounts_skipping_held(
    session: AsyncSession, customer_ids: Collection[int], *, lock: bool
) -> list[PointAccountRow]:
    """The customers' accounts in customer order, locked (``lock``) except those another
    transaction holds (SKIP LOCKED), which are left out."""
    query = (
        select(PointAccountRow)
        .where(PointAccountRow.customer_id.in_(customer_ids))
        .order_by(PointAccountRow.customer_id)
    )
    if lock:
        query = query.with_for_update(skip_locked=True)
    return list(await session.scalars(query))


async def customers_by_ids(
    session: AsyncSession, customer_ids: Collection[int]
) -> dict[int, CustomerRow]:
    """Customers keyed by id."""
    rows = await session.scalars(select(CustomerRow).where(CustomerRow.id.in_(customer_ids)))
    return {c.id: c for c in rows}


async def sites_by_ids(session: AsyncSession, site_ids: Collection[int]) -> dict[int, SiteRow]:
    """Sites keyed by id."""
    rows = await session.scalars(select(SiteRow).where(SiteRow.id.in_(site_ids)))
    return {s.id: s for s in rows}


async def open_lots_of(session: AsyncSession, customer_ids: Collection[int]) -> list[PointLotRow]:
    """The customers' lots with points left, by customer then age."""
    rows = await session.scalars(
        select(PointLotRow)
        .where(PointLotRow.customer_id.in_(customer_ids), PointLotRow.remaining > 0)
        .order_by(PointLotRow.customer_id, PointLotRow.id)
    )
    return list(rows)


async def sites_with_program(session: AsyncSession) -> list[SiteRow]:
    """Every site whose program is switched on."""
    return list(await session.scalars(select(SiteRow).where(SiteRow.program_enabled)))


async def rolling_expiries_between(
    session: AsyncSession, site_id: int, after: datetime, until: datetime
) -> list[tuple[int, int, datetime | None]]:
    """(customer id, available points, rolling expiry) of accounts of the site whose
    points all expire after ``after`` and by ``until``."""
    rows = await session.execute(
        select(
            PointAccountRow.customer_id,
            PointAccountRow.available,
            PointAccountRow.rolling_expires_at,
        ).where(
            PointAccountRow.site_id == site_id,
            PointAccountRow.available > 0,
            PointAccountRow.rolling_expires_at > after,
            PointAccountRow.rolling_expires_at <= until,
        )
    )
    return [(customer_id, available, at) for customer_id, available, at in rows]


async def lot_expiries_between(
    session: AsyncSession, site_id: int, after: datetime, until: datetime
) -> list[tuple[int, int, datetime | None]]:
    """(customer id, points left, expiry) of open lots of the site that expire after
    ``after`` and by ``until``."""
    rows = await session.execute(
        select(PointLotRow.customer_id, PointLotRow.remaining, PointLotRow.expires_at).where(
            PointLotRow.site_id == site_id,
            PointLotRow.remaining > 0,
            PointLotRow.expires_at > after,
            PointLotRow.expires_at <= until,
        )
    )
    return [(customer_id, remaining, at) for customer_id, remaining, at in rows]
