"""What the order use cases share: finding and locking an order, its account book, events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from loyalty_gql.db.dialect import insert_for
from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import (
    LedgerEntryRow,
    OfferCustomerUseRow,
    OrderRow,
)
from loyalty_gql.db.repositories import points as points_repo
from loyalty_gql.db.repositories.customers import customer_by_id
from loyalty_gql.db.repositories.sites import site_by_id
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.values import Money
from loyalty_gql.services.core.idempotency import run_once
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.points.ledger import AccountBook, ledger_key, open_book

MAX_ORDER_ID = 128


async def run_order_command(
    db: Database, site_id: int, operation: str, work: Any, now: datetime
) -> OrderRow:
    result: OrderRow = await run_once(
        db, scope=f"site:{site_id}", key=None, operation=operation, request={}, now=now,
        work=work, dump=lambda _: {}, load=never_loaded,
    )  # fmt: skip
    return result


async def never_loaded(_: AsyncSession, __: dict[str, Any]) -> OrderRow:  # pragma: no cover
    msg = "orders are found by their order id, not replayed by key"
    raise AssertionError(msg)


def checked_order_id(order_id: str) -> str:
    cleaned = order_id.strip()
    if not 0 < len(cleaned) <= MAX_ORDER_ID:
        raise DomainError.single(
            ErrorCode.INVALID_VALUE, "order ids are 1-128 characters", "orderId"
        )
    return cleaned


async def order_lock(uow: UnitOfWork, site_id: int, order_id: str) -> None:
    """Calls for one order id queue here on PostgreSQL (SQLite's write lock does it)."""
    if uow.is_postgres:
        await uow.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"order|{site_id}|{order_id}"},
        )


async def find_order(session: AsyncSession, site_id: int, order_id: str) -> OrderRow | None:
    found: OrderRow | None = await session.scalar(
        select(OrderRow).where(OrderRow.site_id == site_id, OrderRow.external_id == order_id)
    )
    return found


async def locked_order(uow: UnitOfWork, site_id: int, order_id: str) -> OrderRow:
    query = select(OrderRow).where(OrderRow.site_id == site_id, OrderRow.external_id == order_id)
    if uow.is_postgres:
        query = query.with_for_update()
    order = await uow.session.scalar(query)
    if order is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, f"no order {order_id}", "orderId")
    return order


async def open_order_book(uow: UnitOfWork, order: OrderRow, now: datetime) -> AccountBook:
    site = await site_by_id(uow.session, order.site_id)
    customer = await customer_by_id(uow.session, order.customer_id or 0)
    if site is None or customer is None:  # pragma: no cover - foreign keys
        raise DomainError.single(ErrorCode.NOT_FOUND, "the order's customer is gone")
    return await open_book(uow, site, customer, now)


async def ledger_entry(session: AsyncSession, entry_id: int | None) -> LedgerEntryRow | None:
    if entry_id is None:
        return None
    return await session.get(LedgerEntryRow, entry_id)


async def update_one(session: AsyncSession, statement: Any) -> None:
    result = await session.execute(statement.execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]  # pragma: no cover - rows locked
        raise DomainError.single(
            ErrorCode.CONCURRENT_UPDATE, "a concurrent order changed the same offer; retry"
        )


async def add_customer_use(session: AsyncSession, offer_id: int, customer_id: int, n: int) -> None:
    insert = insert_for(session)
    await session.execute(
        insert(OfferCustomerUseRow)
        .values(offer_id=offer_id, customer_id=customer_id, uses=max(n, 0))
        .on_conflict_do_update(
            index_elements=[OfferCustomerUseRow.offer_id, OfferCustomerUseRow.customer_id],
            set_={"uses": OfferCustomerUseRow.uses + n},
        )
    )


async def order_event(
    session: AsyncSession, order: OrderRow, kind: str, now: datetime, **extra: str
) -> None:
    await points_repo.add_event_once(
        session,
        site_id=order.site_id,
        customer_id=order.customer_id,
        kind=kind,
        dedupe_key=ledger_key(kind.lower(), order.id, *extra.values()),
        payload={
            "orderId": order.external_id,
            "status": order.status,
            "currency": order.currency,
            "total": str(Money(order.total_minor, order.currency).amount),
            "refunded": str(Money(order.refunded_minor, order.currency).amount),
            "points": order.points,
            "pointsTakenBack": order.points_taken_back,
            **extra,
        },
        now=now,
    )
