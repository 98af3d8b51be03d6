"""Reading tiers and the measures that qualify customers for them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from loyalty_gql.db.models import CustomerDayRow, PointAccountRow, TierRow
from loyalty_gql.domain.tiers import Measures, TierMetric, TierRule, window_start


def rule_of(row: TierRow) -> TierRule:
    """The domain rule of a tier row."""
    return TierRule(
        id=row.id,
        name=row.name,
        rank=row.rank,
        metric=TierMetric(row.metric),
        threshold=row.threshold,
        window_months=row.window_months,
        earn_multiplier=row.earn_multiplier,
    )


async def tiers_of_site(session: AsyncSession, site_id: int) -> list[TierRow]:
    """A site's tiers, lowest rank first."""
    rows = await session.scalars(
        select(TierRow).where(TierRow.site_id == site_id).order_by(TierRow.rank, TierRow.id)
    )
    return list(rows)


async def tiers_of_sites(
    session: AsyncSession, site_ids: Sequence[int]
) -> dict[int, list[TierRow]]:
    """Tiers of several sites, lowest rank first, in one query."""
    rows = await session.scalars(
        select(TierRow).where(TierRow.site_id.in_(site_ids)).order_by(TierRow.rank, TierRow.id)
    )
    result: dict[int, list[TierRow]] = {site_id: [] for site_id in site_ids}
    for row in rows:
        result[row.site_id].append(row)
    return result


# built once (hot: every order); see orders._order_by_external_id
_WINDOW_SUMS = select(
    func.coalesce(func.sum(CustomerDayRow.points_earned), 0),
    func.coalesce(func.sum(CustomerDayRow.spent_minor), 0),
).where(
    CustomerDayRow.customer_id == bindparam("customer_id"),
    CustomerDayRow.day >= bindparam("start", type_=CustomerDayRow.__table__.c.day.type),
)


async def measures_for(
    session: AsyncSession, account: PointAccountRow, rules: Sequence[TierRule], today: date
) -> Measures:
    """The values of every (metric, window) the rules use, for one customer."""
    measures: Measures = {}
    windows = {rule.window_months for rule in rules}
    for months in windows:
        if months is None:
            measures[(TierMetric.POINTS_EARNED, None)] = account.lifetime_earned
            measures[(TierMetric.AMOUNT_SPENT, None)] = account.lifetime_spent_minor
            continue
        start = window_start(today, months)
        found = await session.execute(
            _WINDOW_SUMS, {"customer_id": account.customer_id, "start": start}
        )
        row = found.one()
        measures[(TierMetric.POINTS_EARNED, months)] = int(row[0])
        measures[(TierMetric.AMOUNT_SPENT, months)] = int(row[1])
    return measures


async def measures_for_many(
    session: AsyncSession,
    accounts: Sequence[PointAccountRow],
    rules: Sequence[TierRule],
    today: date,
) -> dict[int, Measures]:
    """Measures of many customers of one site: one query per window the rules use."""
    result: dict[int, Measures] = {}
    for account in accounts:
        result[account.customer_id] = {
            (TierMetric.POINTS_EARNED, None): account.lifetime_earned,
            (TierMetric.AMOUNT_SPENT, None): account.lifetime_spent_minor,
        }
    ids = [a.customer_id for a in accounts]
    for months in {rule.window_months for rule in rules} - {None}:
        start = window_start(today, months)
        rows = await session.execute(
            select(
                CustomerDayRow.customer_id,
                func.sum(CustomerDayRow.points_earned),
                func.sum(CustomerDayRow.spent_minor),
            )
            .where(CustomerDayRow.customer_id.in_(ids), CustomerDayRow.day >= start)
            .group_by(CustomerDayRow.customer_id)
        )
        sums = {cid: (int(p or 0), int(s or 0)) for cid, p, s in rows}
        for cid in ids:
            points, spent = sums.get(cid, (0, 0))
            result[cid][(TierMetric.POINTS_EARNED, months)] = points
            result[cid][(TierMetric.AMOUNT_SPENT, months)] = spent
    return result


async def tiers_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, TierRow]:
    """Tiers keyed by id."""
    rows = await session.scalars(select(TierRow).where(TierRow.id.in_(ids)))
    return {row.id: row for row in rows}


async def tier_by_id(session: AsyncSession, tier_id: int, *, lock: bool) -> TierRow | None:
    """A tier, locked for this transaction when ``lock``."""
    query = select(TierRow).where(TierRow.id == tier_id)
    if lock:
        query = query.with_for_update()
    row: TierRow | None = await session.scalar(query)
    return row


async def tier_name_taken(
    session: AsyncSession, site_id: int, name: str, *, other_than: int | None
) -> bool:
    """Whether another tier of the site (not ``other_than``) has this name."""
    query = select(TierRow.id).where(TierRow.site_id == site_id, TierRow.name == name)
    if other_than is not None:
        query = query.where(TierRow.id != other_than)
    return await session.scalar(query) is not None


async def members_of_tier(
    session: AsyncSession, tier_id: int, *, lock: bool
) -> list[PointAccountRow]:
    """The accounts in a tier, locked for this transaction when ``lock``."""
    query = select(PointAccountRow).where(PointAccountRow.tier_id == tier_id)
    if lock:
        query = query.with_for_update()
    return list(await session.scalars(query))


async def accounts_to_review(
    session: AsyncSession, *, after: int, limit: int, lock: bool
) -> list[PointAccountRow]:
    """The next ``limit`` accounts after customer ``after``, in customer order; with
    ``lock``, locked, skipping those another transaction holds (SKIP LOCKED)."""
    query = (
        select(PointAccountRow)
        .where(PointAccountRow.customer_id > after)
        .order_by(PointAccountRow.customer_id)
        .limit(limit)
    )
    if lock:
        query = query.with_for_update(skip_locked=True)
    return list(await session.scalars(query))
