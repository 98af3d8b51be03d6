"""`loyalty-gql verify`: every account equals its ledger, and its lots."""

from __future__ import annotations

from dataclasses import dataclass

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

ACCOUNT_COLUMNS = {
    "available": "points",
    "pending": "pending_points",
    "lifetime_earned": "earned_points",
    "lifetime_redeemed": "redeemed_points",
    "lifetime_expired": "expired_points",
}
# account column -> the customer_days column whose sum over all days equals it
DAY_COLUMNS = {
    "available": "points_change",
    "lifetime_earned": "points_earned",
    "lifetime_redeemed": "points_redeemed",
    "lifetime_expired": "points_expired",
}


@dataclass(frozen=True, slots=True)
class Difference:
    """One number that does not agree with the ledger."""

    customer_id: int
    what: str
    stored: int
    expected: int

    def __str__(self) -> str:
        return (
            f"customer {self.customer_id}: {self.what} is {self.stored}, "
            f"the ledger says {self.expected}"
        )


async def verify_ledger(db: Database) -> list[Difference]:
    """Compare every account with the sums of its entries and its lots; [] when all agree."""
    differences: list[Difference] = []
    # One consistent snapshot for all the sums: REPEATABLE READ on PostgreSQL; on
    # SQLite a write transaction (readers there send no BEGIN), which holds writers
    # back for the few seconds the check takes.
    if db.is_sqlite:
        engine = db.engine.execution_options(**{WRITE: True})
    else:
        engine = db.engine.execution_options(isolation_level="REPEATABLE READ")
    async with AsyncSession(engine) as session, session.begin():
        sums = {
            row[0]: row[1:]
            for row in await session.execute(
                select(
                    LedgerEntryRow.customer_id,
                    *(
                        func.sum(getattr(LedgerEntryRow, column))
                        for column in ACCOUNT_COLUMNS.values()
                    ),
                    func.count(),
                ).group_by(LedgerEntryRow.customer_id)
            )
        }
        lot_rows = await session.execute(
            select(PointLotRow.customer_id, func.sum(PointLotRow.remaining)).group_by(
                PointLotRow.customer_id
            )
        )
        lots = {customer_id: total for customer_id, total in lot_rows}  # noqa: C416
        moved = (
            select(LotMovementRow.lot_id, func.sum(LotMovementRow.points).label("net"))
            .group_by(LotMovementRow.lot_id)
            .subquery()
        )
        bad_lots = await session.execute(
            select(PointLotRow.customer_id, PointLotRow.id, PointLotRow.remaining,
                   PointLotRow.points + func.coalesce(moved.c.net, 0))
            .outerjoin(moved, moved.c.lot_id == PointLotRow.id)
            .where(PointLotRow.remaining != PointLotRow.points + func.coalesce(moved.c.net, 0))
        )  # fmt: skip
        for customer_id, lot_id, remaining, expected in bad_lots:
            differences.append(
                Difference(customer_id, f"lot {lot_id} remaining", remaining, int(expected))
            )
        differences += await _entries_against_their_lots(session)
        by_days = {
            customer_id: tuple(int(total or 0) for total in totals)
            for customer_id, *totals in await session.execute(
                select(
                    CustomerDayRow.customer_id,
                    *(func.sum(getattr(CustomerDayRow, c)) for c in DAY_COLUMNS.values()),
                ).group_by(CustomerDayRow.customer_id)
            )
        }
        accounts = await session.scalars(select(PointAccountRow))
        for account in accounts:
            entry_sums = sums.pop(account.customer_id, (0,) * (len(ACCOUNT_COLUMNS) + 1))
            for (column, _), expected in zip(ACCOUNT_COLUMNS.items(), entry_sums, strict=False):
                stored = getattr(account, column)
                if stored != int(expected or 0):
                    differences.append(
                        Difference(account.customer_id, column, stored, int(expected or 0))
                    )
            if account.entry_count != int(entry_sums[-1] or 0):
                differences.append(
                    Difference(
                        account.customer_id, "entry count", account.entry_count,
                        int(entry_sums[-1] or 0),
                    )
                )  # fmt: skip
            day_sums = by_days.get(account.customer_id, (0,) * len(DAY_COLUMNS))
            for (column, day_column), by_day in zip(DAY_COLUMNS.items(), day_sums, strict=True):
                if by_day != getattr(account, column):
                    differences.append(
                        Difference(
                            account.customer_id, f"{column} vs {day_column} by day",
                            getattr(account, column), by_day,
                        )
                    )  # fmt: skip
            lot_total = int(lots.get(account.customer_id, 0) or 0)
            if account.available != lot_total:
                differences.append(
                    Difference(
                        account.customer_id, "available vs lots", account.available, lot_total
                    )
                )
        for customer_id in sums:
            differences.append(Difference(customer_id, "account", 0, 1))
    return differences


async def _entries_against_their_lots(session: AsyncSession) -> list[Difference]:
    """Each entry's points must be what it moved in lots plus the lots it created."""
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
        Difference(customer_id, f"entry {entry_id} points vs its lot movements", points, int(lots))
        for customer_id, entry_id, points, lots in rows
    ]
