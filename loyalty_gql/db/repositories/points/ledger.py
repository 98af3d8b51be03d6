"""Queries of the points ledger: accounts, lots, movements, daily rollups, outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from loyalty_gql.db import direct
from loyalty_gql.db.dialect import dialect_of, insert_for
from loyalty_gql.db.models import (
    CustomerDayRow,
    LedgerEntryRow,
    LotMovementRow,
    OutboxEventRow,
    PointAccountRow,
    PointLotRow,
    TierRow,
    VoucherRow,
)
from loyalty_gql.db.paging import Window, windowed
from loyalty_gql.db.versions import scoped, touch, touch_events
from loyalty_gql.domain.points import EntryKind

REVERSED = EntryKind.REVERSED.value
EXPIRED = EntryKind.EXPIRED.value
FIRST_LOT_CHUNK = 8
MAX_LOT_CHUNK = 512


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
    await _create_account(session, site_id, customer_id, now)
    account = await session.scalar(query.execution_options(populate_existing=True))
    if account is None:  # pragma: no cover - the insert or a concurrent one made it
        msg = f"account of customer {customer_id} could not be created"
        raise RuntimeError(msg)
    return account


@cache
def _account_and_tiers(lock: bool, fresh: bool) -> Any:
    # built once (hot: every order and grant); see orders._order_by_external_id
    query = (
        select(PointAccountRow, TierRow)
        .outerjoin(TierRow, TierRow.site_id == PointAccountRow.site_id)
        .where(PointAccountRow.customer_id == bindparam("customer_id"))
        .order_by(TierRow.rank, TierRow.id)
    )
    if lock:
        query = query.with_for_update(of=PointAccountRow)
    return query.execution_options(populate_existing=True) if fresh else query


async def locked_account_and_tiers(
    session: AsyncSession, site_id: int, customer_id: int, now: datetime, *, lock: bool
) -> tuple[PointAccountRow, list[TierRow]]:
    """The customer's account, created if missing, locked for this transaction (FOR
    UPDATE of the account's row only), and its site's tiers, lowest rank first: one
    query."""
    key = {"customer_id": customer_id}
    # through the driver (db/direct.load): every order and grant reads them
    rows = await direct.load(session, _account_and_tiers(lock, False), key)
    if not rows:
        await _create_account(session, site_id, customer_id, now)
        rows = await direct.load(session, _account_and_tiers(lock, True), key)
    if not rows:  # pragma: no cover - the insert or a concurrent one made it
        msg = f"account of customer {customer_id} could not be created"
        raise RuntimeError(msg)
    return rows[0][0], [tier for _, tier in rows if tier is not None]


async def _create_account(
    session: AsyncSession, site_id: int, customer_id: int, now: datetime
) -> None:
    insert = insert_for(session)
    touch(session, customers=[customer_id])
    await session.execute(
        scoped(insert(PointAccountRow))
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
        chunk_size = FIRST_LOT_CHUNK  # most spends need a lot or two; grow when not
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
            chunk = list(await session.scalars(query.limit(chunk_size)))
            lots += chunk
            covered += sum(lot.remaining for lot in chunk)
            if len(chunk) < chunk_size:
                break
            after = (chunk[-1].expires_at, chunk[-1].id)
            chunk_size = min(chunk_size * 4, MAX_LOT_CHUNK)
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
    reversal = LedgerEntryRow.kind == REVERSED
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
        .where(LotMovementRow.lot_id == lot_id, LedgerEntryRow.kind == EXPIRED)
    )
    forgiven = await session.scalar(
        select(
            func.coalesce(func.sum(LedgerEntryRow.points - LedgerEntryRow.earned_points), 0)
        ).where(LedgerEntryRow.reverses_entry_id == entry_id, LedgerEntryRow.kind == REVERSED)
    )
    # expired is negative (taken from the lot); forgiven is voided minus taken, >= 0
    return max(0, -int(expired or 0) - int(forgiven or 0))


async def last_expiry_day(session: AsyncSession, lot_id: int) -> date | None:
    """The day points of a lot last expired."""
    moment: datetime | None = await session.scalar(
        select(LedgerEntryRow.created_at)
        .join(LotMovementRow, LotMovementRow.entry_id == LedgerEntryRow.id)
        .where(LotMovementRow.lot_id == lot_id, LedgerEntryRow.kind == EXPIRED)
        .order_by(LedgerEntryRow.id.desc())
        .limit(1)
    )
    return moment.date() if moment else None


@cache
def _add_to_customer_day(dialect: str, changed: tuple[str, ...]) -> Any:
    # the table's INSERT, not the entity's: parameters given to an ORM insert are rows
    table = CustomerDayRow.__table__
    columns = table.c
    statement = scoped(insert_for(dialect)(table)).values(
        site_id=bindparam("site_id"),
        customer_id=bindparam("customer_id"),
        day=bindparam("day", type_=columns.day.type),
        **{name: bindparam(f"v_{name}") for name in DAY_AMOUNTS},
    )
    return statement.on_conflict_do_update(
        index_elements=[CustomerDayRow.customer_id, CustomerDayRow.day],
        set_={name: columns[name] + bindparam(f"d_{name}") for name in changed},
    )


async def add_to_customer_day(
    session: AsyncSession,
    *,
    site_id: int,
    customer_id: int,
    day: date,
    **amounts: int,
) -> None:
    """Add ``amounts`` (points_earned=5, orders=1...) to a customer's daily rollup,
    creating the day's row if needed."""
    touch(session, customers=[customer_id])
    values: dict[str, Any] = {"site_id": site_id, "customer_id": customer_id, "day": day}
    for name in DAY_AMOUNTS:
        values[f"v_{name}"] = amounts.get(name, 0)
    for name, value in amounts.items():
        values[f"d_{name}"] = value
    statement = _add_to_customer_day(dialect_of(session), tuple(amounts))
    await direct.fetch(session, statement, values)


DAY_AMOUNTS = (
    "points_earned",
    "spent_minor",
    "orders",
    "points_redeemed",
    "points_expired",
    "points_change",
)


@cache
def _add_event_once(dialect: str) -> Any:
    # the table's INSERT, not the entity's: parameters given to an ORM insert are rows
    # (an ORM bulk insert); RETURNING says whether the row was written, and its id
    table = OutboxEventRow.__table__
    return (
        insert_for(dialect)(table)
        .values(
            site_id=bindparam("site_id"),
            customer_id=bindparam("customer_id"),
            kind=bindparam("kind"),
            dedupe_key=bindparam("dedupe_key"),
            payload=bindparam("payload", type_=table.c.payload.type),
            created_at=bindparam("created_at", type_=table.c.created_at.type),
        )
        .on_conflict_do_nothing()
        .returning(table.c.id)
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
    """Write an outbox event unless one with the same key exists; True when written
    (its site's event subscribers are told at commit)."""
    event_id = await direct.scalar(
        session,
        _add_event_once(dialect_of(session)),
        {
            "site_id": site_id,
            "customer_id": customer_id,
            "kind": kind,
            "dedupe_key": dedupe_key,
            "payload": payload,
            "created_at": now,
        },
    )
    if event_id is None:
        return False
    touch_events(session, site_id, [event_id])
    return True


async def accounts_by_customer_ids(
    session: AsyncSession, ids: Sequence[int]
) -> dict[int, PointAccountRow]:
    """Accounts keyed by customer id, in one query."""
    rows = await session.scalars(
        select(PointAccountRow).where(PointAccountRow.customer_id.in_(ids))
    )
    return {row.customer_id: row for row in rows}


async def expiring_lots_by_customer(
    session: AsyncSession, ids: Sequence[int]
) -> dict[int, list[tuple[datetime, int]]]:
    """Per customer: (expiry moment, points) of open lots that expire, soonest first."""
    rows = await session.execute(
        select(PointLotRow.customer_id, PointLotRow.expires_at, func.sum(PointLotRow.remaining))
        .where(
            PointLotRow.customer_id.in_(ids),
            PointLotRow.remaining > 0,
            PointLotRow.expires_at.is_not(None),
        )
        .group_by(PointLotRow.customer_id, PointLotRow.expires_at)
        .order_by(PointLotRow.customer_id, PointLotRow.expires_at)
    )
    result: dict[int, list[tuple[datetime, int]]] = {}
    for customer_id, expires_at, points in rows:
        if expires_at is not None:
            result.setdefault(customer_id, []).append((expires_at, int(points)))
    return result


async def ledger_pages(
    session: AsyncSession, customer_ids: Sequence[int], window: Window
) -> dict[int, list[LedgerEntryRow]]:
    """The window of each customer's ledger (newest first; reversed when read from its
    end), in one query."""
    newest_first = not window.from_end
    position = (
        func.row_number()
        .over(
            partition_by=LedgerEntryRow.customer_id,
            order_by=LedgerEntryRow.id.desc() if newest_first else LedgerEntryRow.id.asc(),
        )
        .label("position")
    )
    inner = select(LedgerEntryRow.id, position).where(LedgerEntryRow.customer_id.in_(customer_ids))
    if window.after is not None:
        inner = inner.where(LedgerEntryRow.id < window.after)
    if window.before is not None:
        inner = inner.where(LedgerEntryRow.id > window.before)
    ranked = inner.subquery()
    rows = await session.scalars(
        select(LedgerEntryRow)
        .join(ranked, ranked.c.id == LedgerEntryRow.id)
        .where(ranked.c.position <= window.limit)
        .order_by(
            LedgerEntryRow.customer_id,
            LedgerEntryRow.id.desc() if newest_first else LedgerEntryRow.id.asc(),
        )
    )
    result: dict[int, list[LedgerEntryRow]] = {cid: [] for cid in customer_ids}
    for row in rows:
        result[row.customer_id].append(row)
    return result


async def ledger_lengths(session: AsyncSession, customer_ids: Sequence[int]) -> dict[int, int]:
    """How many entries each customer's ledger holds, in one query (along its index)."""
    rows = await session.execute(
        select(LedgerEntryRow.customer_id, func.count())
        .where(LedgerEntryRow.customer_id.in_(customer_ids))
        .group_by(LedgerEntryRow.customer_id)
    )
    found = {customer_id: int(n) for customer_id, n in rows}
    return {customer_id: found.get(customer_id, 0) for customer_id in customer_ids}


async def entries_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, LedgerEntryRow]:
    """Ledger entries keyed by id."""
    rows = await session.scalars(select(LedgerEntryRow).where(LedgerEntryRow.id.in_(ids)))
    return {row.id: row for row in rows}


async def vouchers_by_customer(
    session: AsyncSession, ids: Sequence[int]
) -> dict[int, list[VoucherRow]]:
    """Each customer's vouchers, newest first, in one query."""
    rows = await session.scalars(
        select(VoucherRow)
        .where(VoucherRow.customer_id.in_(ids))
        .order_by(VoucherRow.customer_id, VoucherRow.id.desc())
    )
    result: dict[int, list[VoucherRow]] = {cid: [] for cid in ids}
    for row in rows:
        result[row.customer_id].append(row)
    return result


async def site_ledger_page(
    session: AsyncSession,
    site_id: int,
    window: Window,
    *,
    kinds: Sequence[str] | None = None,
    customer_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[LedgerEntryRow]:
    """A window of a site's ledger (newest first), filtered."""
    query = select(LedgerEntryRow).where(LedgerEntryRow.site_id == site_id)
    if kinds:
        query = query.where(LedgerEntryRow.kind.in_(kinds))
    if customer_id is not None:
        query = query.where(LedgerEntryRow.customer_id == customer_id)
    if since is not None:
        query = query.where(LedgerEntryRow.created_at >= since)
    if until is not None:
        query = query.where(LedgerEntryRow.created_at < until)
    rows = await session.scalars(windowed(query, LedgerEntryRow.id, window, descending=True))
    return list(rows)


async def voided_points(session: AsyncSession, entry_id: int) -> int:
    """Points of an earning that its reversals cancelled (0 for other entries)."""
    voided = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntryRow.earned_points), 0)).where(
            LedgerEntryRow.reverses_entry_id == entry_id, LedgerEntryRow.kind == REVERSED
        )
    )
    return -int(voided or 0)


async def latest_expiry_taken_by_reversals(session: AsyncSession, entry_id: int) -> datetime | None:
    """The latest expiry among the lots that reversals of ``entry_id`` took points from."""
    reversals = select(LedgerEntryRow.id).where(
        LedgerEntryRow.reverses_entry_id == entry_id, LedgerEntryRow.kind == REVERSED
    )
    latest: datetime | None = await session.scalar(
        select(func.max(PointLotRow.expires_at))
        .join(LotMovementRow, LotMovementRow.lot_id == PointLotRow.id)
        .where(LotMovementRow.entry_id.in_(reversals), LotMovementRow.points < 0)
    )
    return latest


async def entry_by_id(session: AsyncSession, entry_id: int) -> LedgerEntryRow | None:
    """A ledger entry by primary key (from the session's identity map when loaded)."""
    return await session.get(LedgerEntryRow, entry_id)


async def entry_by_key(session: AsyncSession, site_id: int, key: str) -> LedgerEntryRow | None:
    """The entry written earlier under the ledger key ``key``, if any."""
    found: LedgerEntryRow | None = await session.scalar(
        select(LedgerEntryRow).where(
            LedgerEntryRow.site_id == site_id, LedgerEntryRow.idempotency_key == key
        )
    )
    return found


async def lot_of_entry(session: AsyncSession, entry_id: int) -> PointLotRow | None:
    """The lot a gain created."""
    lot: PointLotRow | None = await session.scalar(
        select(PointLotRow).where(PointLotRow.entry_id == entry_id)
    )
    return lot


async def voucher_of_entry(session: AsyncSession, entry_id: int) -> VoucherRow | None:
    """The voucher a spend bought, if it bought one."""
    voucher: VoucherRow | None = await session.scalar(
        select(VoucherRow).where(VoucherRow.ledger_entry_id == entry_id)
    )
    return voucher
