"""What the order use cases share: finding and locking an order, its account book, events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import OrderRow
from loyalty_gql.db.repositories import orders as orders_repo
from loyalty_gql.db.repositories.points import ledger as points_repo
from loyalty_gql.db.session import Session
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.spelling import snake_keys
from loyalty_gql.domain.values import Money
from loyalty_gql.services.core.idempotency import Idempotency, run_once
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.points.ledger import AccountBook, ledger_key, open_book

MAX_ORDER_ID = 128


async def run_order_command(
    db: Database,
    site_id: int,
    retry: Idempotency,
    work: Callable[[UnitOfWork], Awaitable[OrderRow]],
    now: datetime,
) -> OrderRow:
    """Run ``work`` in one transaction, as the operation ``retry`` names. An order is
    idempotent on its order id (and a refund on its refund id), so no key is stored."""
    return await run_once(
        db, scope=f"site:{site_id}", retry=None, request={}, now=now,
        work=work, dump=lambda _: {}, load=never_loaded,
    )  # fmt: skip


async def never_loaded(_: Session, __: dict[str, Any]) -> OrderRow:  # pragma: no cover
    msg = "orders are found by their order id, not replayed by key"
    raise AssertionError(msg)


def checked_order_id(order_id: str) -> str:
    cleaned = order_id.strip()
    if not 0 < len(cleaned) <= MAX_ORDER_ID:
        raise DomainError.single(
            ErrorCode.INVALID_VALUE, "order ids are 1-128 characters", "order_id"
        )
    return cleaned


async def order_lock(uow: UnitOfWork, site_id: int, order_id: str) -> None:
    """Calls for one order id queue here on PostgreSQL (SQLite's write lock does it)."""
    if uow.is_postgres:
        await orders_repo.lock_order_id(uow.session, site_id, order_id)


async def locked_order(uow: UnitOfWork, site_id: int, order_id: str) -> OrderRow:
    """The order, locked for update (PostgreSQL); NOT_FOUND if there is none."""
    order = await orders_repo.order_by_external_id(
        uow.session, site_id, order_id, lock=uow.is_postgres
    )
    if order is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, f"no order {order_id}", "order_id")
    return order


async def open_order_book(uow: UnitOfWork, order: OrderRow, now: datetime) -> AccountBook:
    site, customer = await orders_repo.site_and_customer(
        uow.session, order.site_id, order.customer_id or 0
    )
    if site is None or customer is None:  # pragma: no cover - foreign keys
        raise DomainError.single(ErrorCode.NOT_FOUND, "the order's customer is gone")
    return await open_book(uow, site, customer, now)


def order_document(order: OrderRow) -> dict[str, Any]:
    """The order's quote document in snake_case (orders recorded before it was spelled so
    hold camelCase keys)."""
    return order.quote if "points_base" in order.quote else snake_keys(order.quote)


def expect_changed(changed: bool) -> None:
    """Refuse when a conditional update missed its row: the rows are locked (or SQLite's
    write lock is held), so only a concurrent order that got there first explains it."""
    if not changed:  # pragma: no cover - rows locked
        raise DomainError.single(
            ErrorCode.CONCURRENT_UPDATE, "a concurrent order changed the same offer; retry"
        )


async def order_event(
    session: Session, order: OrderRow, kind: str, now: datetime, **extra: str
) -> None:
    await points_repo.add_event_once(
        session,
        site_id=order.site_id,
        customer_id=order.customer_id,
        kind=kind,
        dedupe_key=ledger_key(kind.lower(), order.id, *extra.values()),
        payload={
            "order_id": order.external_id,
            "status": order.status,
            "currency": order.currency,
            "total": str(Money(order.total_minor, order.currency).amount),
            "refunded": str(Money(order.refunded_minor, order.currency).amount),
            "points": order.points,
            "points_taken_back": order.points_taken_back,
            **extra,
        },
        now=now,
    )
