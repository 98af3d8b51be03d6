"""Queries of the points ledger: accounts, lots, movements, daily rollups, outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from loyalty_gql.db.models import (
    CustomerDayRow,
    LedgerEntryRow,
    LotMovementRow,
    OutboxEventRow,
    PointAccountRow,
    PointLotRow,
)

LOT_CHUNK = 200


def _insert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


async def locked_account(
    session: AsyncSession, site_id: int, customer_id: int, now: datetime, *, lock: bool
) -> PointAccountRow:
    """The customer's account, created if missing, locked for this transaction."""
    query = select(PointAccountRow).where(PointAccountRow.customer_id == customer_id)
    if lock:
        query = query.with_for_update()
    account = await session.scalar(query)
    if account is not None:
        return account
    insert = _insert(session)
    await session.execute(
        insert(PointAccountRow)
        .values(
            customer_id=customer_id,
            site_id=site_id,
            available=0,
            pending=0,
            lifetime_earned=0,
            lifetime_redeemed=0,
            lifetime_expired=0,
            lifetime_spent_minor=0,
            entry_count=0,
            updated_at=now,
        )
        .on_conflict_do_nothing()
    )
    account = await session.scalar(query.execution_options(populate_existing=True))
    if account is None:  # pragma: no cover - the insert or a concurrent one made it
        msg = f"account of customer {customer_id} could not be created"
        raise RuntimeError(msg)
    return account


async def open_lots_in_spending_order(
    session: AsyncSession, customer_id: int, needed: int, *, exclude: int | None = None
) -> list[PointLotRow]:
    """Enough of the customer's open lots to cover ``needed``, soonest expiry first.

    Fetched in chunks along the partial index, so a customer with a long
    history costs no more than one with a short one.
    """
    lots: list[PointLotRow] = []
    covered = 0
    for expiring in (True, False):
        after: tuple[datetime | None, int] | None = None
        while covered < needed:
            query = select(PointLotRow).where(
                PointLotRow.customer_id == customer_id, PointLotRow.remaining > 0
            )
            if exclude is not None:
                query = query.where(PointLotRow.id != exclude)
            if expiring:
                query = query.where(PointLotRow.expires_at.is_not(None))
                if after is not None:
                    query = query.where(
                        (PointLotRow.expires_at > after[0])
                        | ((PointLotRow.expires_at == after[0]) & (PointLotRow.id > after[1]))
                    )
                query = query.order_by(PointLotRow.expires_at, PointLotRow.id)
            else:
                query = query.where(PointLotRow.expires_at.is_(None))
                if after is not None:
                    query = query.where(PointLotRow.id > after[1])
                query = query.order_by(PointLotRow.id)
            chunk = list(await session.scalars(query.limit(LOT_CHUNK)))
            lots += chunk
            covered += sum(lot.remaining for lot in chunk)
            if len(chunk) < LOT_CHUNK:
                break
            after = (chunk[-1].expires_at, chunk[-1].id)
    return lots


async def lots_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, PointLotRow]:
    """Lots keyed by id."""
    rows = await session.scalars(select(PointLotRow).where(PointLotRow.id.in_(ids)))
    return {row.id: row for row in rows}


async def net_movements_of_entry(session: AsyncSession, entry_id: int) -> list[tuple[int, int]]:
    """(lot id, net points) an entry and its reversals moved, in the order first used."""
    reversal_ids = select(LedgerEntryRow.id).where(LedgerEntryRow.reverses_entry_id == entry_id)
    rows = await session.execute(
        select(LotMovementRow.lot_id, func.sum(LotMovementRow.points), func.min(LotMovementRow.id))
        .where((LotMovementRow.entry_id == entry_id) | LotMovementRow.entry_id.in_(reversal_ids))
        .group_by(LotMovementRow.lot_id)
        .order_by(func.min(LotMovementRow.id))
    )
    return [(lot_id, int(net)) for lot_id, net, _ in rows]


async def reversed_so_far(session: AsyncSession, entry_id: int) -> tuple[int, int, int]:
    """What later entries did to ``entry_id``: (points and earned points its reversals
    moved, pending points moved by its reversals and activations)."""
    reversal = LedgerEntryRow.kind == "REVERSED"
    row = (
        await session.execute(
            select(
                func.coalesce(func.sum(case((reversal, LedgerEntryRow.points), else_=0)), 0),
                func.coalesce(func.sum(LedgerEntryRow.pending_points), 0),
                func.coalesce(func.sum(case((reversal, LedgerEntryRow.earned_points), else_=0)), 0),
            ).where(LedgerEntryRow.reverses_entry_id == entry_id)
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


async def expired_not_forgiven(session: AsyncSession, lot_id: int, entry_id: int) -> int:
    """Points of a lot that expired and that no reversal of its entry has written off yet."""
    expired = await session.scalar(
        select(func.coalesce(func.sum(LotMovementRow.points), 0))
        .join(LedgerEntryRow, LedgerEntryRow.id == LotMovementRow.entry_id)
        .where(LotMovementRow.lot_id == lot_id, LedgerEntryRow.kind == "EXPIRED")
    )
    forgiven = await session.scalar(
        select(
            func.coalesce(func.sum(LedgerEntryRow.points - LedgerEntryRow.earned_points), 0)
        ).where(LedgerEntryRow.reverses_entry_id == entry_id, LedgerEntryRow.kind == "REVERSED")
    )
    # expired is negative (taken from the lot); forgiven is voided minus taken, >= 0
    return max(0, -int(expired or 0) - int(forgiven or 0))


async def add_to_customer_day(
    session: AsyncSession,
    *,
    site_id: int,
    customer_id: int,
    day: date,
    points_earned: int = 0,
    spent_minor: int = 0,
    orders: int = 0,
) -> None:
    """Add to a customer's daily rollup, creating the day's row if needed."""
    insert = _insert(session)
    statement = insert(CustomerDayRow).values(
        site_id=site_id,
        customer_id=customer_id,
        day=day,
        points_earned=points_earned,
        spent_minor=spent_minor,
        orders=orders,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[CustomerDayRow.customer_id, CustomerDayRow.day],
            set_={
                "points_earned": CustomerDayRow.points_earned + points_earned,
                "spent_minor": CustomerDayRow.spent_minor + spent_minor,
                "orders": CustomerDayRow.orders + orders,
            },
        )
    )


async def add_event_once(
    session: AsyncSession,
    *,
    site_id: int,
    customer_id: int | None,
    kind: str,
    dedupe_key: str,
    payload: dict[str, Any],
    now: datetime,
) -> bool:
    """Write an outbox event unless one with the same key exists; True when written."""
    insert = _insert(session)
    result = await session.execute(
        insert(OutboxEventRow)
        .values(
            site_id=site_id,
            customer_id=customer_id,
            kind=kind,
            dedupe_key=dedupe_key,
            payload=payload,
            created_at=now,
        )
        .on_conflict_do_nothing()
    )
    return bool(getattr(result, "rowcount", 0))
