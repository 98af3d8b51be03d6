"""`loyalty-gql verify`: every account equals its ledger, and its lots; every campaign's
budget spent equals what its awards hold."""

from __future__ import annotations

from dataclasses import dataclass

from loyalty_gql.db.engine import Database
from loyalty_gql.db.repositories.campaigns import budgets_unlike_awards
from loyalty_gql.db.repositories.points.verify import (
    all_accounts,
    consistent_snapshot,
    day_sums_by_customer,
    entries_unlike_their_lots,
    entry_sums_by_customer,
    lot_totals_by_customer,
    lots_unlike_their_movements,
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
    # One consistent snapshot for all the sums (see consistent_snapshot).
    async with consistent_snapshot(db) as session:
        sums = await entry_sums_by_customer(session, list(ACCOUNT_COLUMNS.values()))
        lots = await lot_totals_by_customer(session)
        differences += [
            Difference(customer_id, f"lot {lot_id} remaining", remaining, moved)
            for customer_id, lot_id, remaining, moved in await lots_unlike_their_movements(session)
        ]
        differences += [
            Difference(customer_id, f"entry {entry_id} points vs its lot movements", points, moved)
            for customer_id, entry_id, points, moved in await entries_unlike_their_lots(session)
        ]
        by_days = await day_sums_by_customer(session, list(DAY_COLUMNS.values()))
        accounts = await all_accounts(session)
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
        # a campaign's budget spent is what its awards hold (take-backs gave back), and
        # never more than the budget (customer 0: the campaign is nobody's)
        for campaign_id, spent, budget, held in await budgets_unlike_awards(session):
            what = f"campaign {campaign_id} budget spent (of {budget})"
            differences.append(Difference(0, what, spent, min(held, budget)))
    return differences
