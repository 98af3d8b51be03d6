"""The sums `loyalty-gql verify` compares: each account against its entries, its lots,
its daily rollup, and each lot and entry against the lots' movements."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from loyalty_gql.db.engine import WRITE, Database
from loyalty_gql.db.models import (
    CustomerDayRow,
    LedgerEntryRow,
    LotMovementRow,
    PointAccountRow,
    PointLotRow,
)


@asynccontextmanager
async def consistent_snapshot(db: Database) -> AsyncIterator[AsyncSession]:
    """A session whose reads all see one moment: REPEATABLE READ on PostgreSQL; on
    SQLite a write transaction (readers there send no BEGIN), which holds writers back
    while it lasts."""
    if db.is_sqlite:
        engine = db.engine.execution_options(**{WRITE: True})
    else:
        engine = db.engine.execution_options(isolation_level="REPEATABLE READ")
    async with AsyncSession(engine) as session, session.begin():
        yield session


async def entry_sums_by_customer(
    session: AsyncSession, columns: Sequence[str]
) -> dict[int, tuple[int | None, ...]]:
    """Per customer: the sums of the entries' ``columns``, then the number of entries."""
    rows = await session.execute(
        select(
            LedgerEntryRow.customer_id,
            *(func.sum(getattr(LedgerEntryRow, column)) for column in columns),
            func.count(),
        ).group_by(LedgerEntryRow.customer_id)
    )
    return {row[0]: tuple(row[1:]) for row in rows}


async def lot_totals_by_customer(session: AsyncSession) -> dict[int, int | None]:
    """Per customer: the points left in their lots."""
    rows = await session.execute(
        select(PointLotRow.customer_id, func.sum(PointLotRow.remaining)).group_by(
            PointLotRow.customer_id
        )
    )
    return {customer_id: total for customer_id, total in rows}  # noqa: C416


async def lots_unlike_their_movements(session: AsyncSession) -> list[tuple[int, int, int, int]]:
    """(customer id, lot id, remaining, points plus movements) of every lot whose
    remaining points are not its points plus what its movements moved."""
    moved = (
        select(LotMovementRow.lot_id, func.sum(LotMovementRow.points).label("net"))
        .group_by(LotMovementRow.lot_id)
        .subquery()
    )
    rows = await session.execute(
        select(PointLotRow.customer_id, PointLotRow.id, PointLotRow.remaining,
               PointLotRow.points + func.coalesce(moved.c.net, 0))
        .outerjoin(moved, moved.c.lot_id == PointLotRow.id)
        .where(PointLotRow.remaining != PointLotRow.points + func.coalesce(moved.c.net, 0))
    )  # fmt: skip
    return [
        (customer_id, lot_id, remaining, int(expected))
        for customer_id, lot_id, remaining, expected in rows
    ]


async def entries_unlike_their_lots(session: AsyncSession) -> list[tuple[int, int, int, int]]:
    """(customer id, entry id, points, points in lots) of every entry whose points are
    not what it moved in lots plus the lots it created."""
    moved = (
        select(LotMovementRow.entry_id, func.sum(LotMovementRow.points).label("net"))
        .group_by(LotMovementRow.entry_id)
        .subquery()
    )
    created = (
        select(PointLotRow.entry_id, func.sum(PointLotRow.points).label("points"))
        .group_by(PointLotRow.entry_id)
        .subquery()
    )
    in_lots = func.coalesce(moved.c.net, 0) + func.coalesce(created.c.points, 0)
    rows = await session.execute(
        select(LedgerEntryRow.customer_id, LedgerEntryRow.id, LedgerEntryRow.points, in_lots)
        .outerjoin(moved, moved.c.entry_id == LedgerEntryRow.id)
        .outerjoin(created, created.c.entry_id == LedgerEntryRow.id)
        .where(LedgerEntryRow.points != in_lots)
    )
    return [
        (customer_id, entry_id, points, int(lots)) for customer_id, entry_id, points, lots in rows
    ]


async def day_sums_by_customer(
    session: AsyncSession, columns: Sequence[str]
) -> dict[int, tuple[int, ...]]:
    """Per customer: the sums of the daily rollup's ``columns`` over all days."""
    rows = await session.execute(
        select(
            CustomerDayRow.customer_id,
            *(func.sum(getattr(CustomerDayRow, c)) for c in columns),
        ).group_by(CustomerDayRow.customer_id)
    )
    return {
        customer_id: tuple(int(total or 0) for total in totals) for customer_id, *totals in rows
    }


async def all_accounts(session: AsyncSession) -> list[PointAccountRow]:
    """Every points account."""
    return list(await session.scalars(select(PointAccountRow)))
