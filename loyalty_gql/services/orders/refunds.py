"""Refunds: points taken back in proportion to the money refunded."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import OrderRefundRow, OrderRow
from loyalty_gql.db.repositories import orders as orders_repo
from loyalty_gql.db.session import Session
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.orders import OrderStatus
from loyalty_gql.domain.points import SourceType
from loyalty_gql.domain.values import Money
from loyalty_gql.services.core.common import Actor, Clock
from loyalty_gql.services.core.idempotency import Idempotency, request_fingerprint
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.orders.common import (
    MAX_ORDER_ID,
    checked_order_id,
    locked_order,
    open_order_book,
    order_event,
    run_order_command,
)
from loyalty_gql.services.orders.lifecycle import take_back
from loyalty_gql.services.points.ledger import Source


@dataclass(frozen=True, slots=True)
class RefundLine:
    """How many of one order line were refunded."""

    line_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """A refund: some lines or an amount of money."""

    refund_id: str
    lines: tuple[RefundLine, ...] = ()
    amount: Decimal | None = None

    def request(self) -> dict[str, Any]:
        """Plain data for the fingerprint (stored with the refund: its shape stays)."""
        amount = None if self.amount is None else format(self.amount.normalize(), "f")
        return {
            "lines": sorted([line.line_id, line.quantity] for line in self.lines),
            "amount": amount,
        }


async def refund_order(
    db: Database,
    *,
    site_id: int,
    order_id: str,
    refund: RefundRequest,
    retry: Idempotency,
    actor: Actor,
    clock: Clock,
) -> OrderRow:
    """Record a refund and take back the order's points in proportion to the money
    refunded from lines that earn points. Idempotent on (order, refund id); ``retry``
    names the operation (the API: ``refundOrder``), part of the refund's fingerprint."""
    if (refund.amount is None) == (not refund.lines):
        raise DomainError.single(ErrorCode.INVALID_VALUE, "give either lines or an amount")
    if not 0 < len(refund.refund_id) <= MAX_ORDER_ID:
        raise DomainError.single(ErrorCode.INVALID_VALUE, "1-128 characters", "refund_id")
    now = clock()
    fingerprint = request_fingerprint(retry.operation, refund.request())

    async def work(uow: UnitOfWork) -> OrderRow:
        session = uow.session
        order = await locked_order(uow, site_id, checked_order_id(order_id))
        earlier = await orders_repo.refund_of_order(session, order.id, refund.refund_id)
        if earlier is not None:
            if earlier.request_hash != fingerprint:
                raise DomainError.single(
                    ErrorCode.REFUND_ALREADY_RECORDED,
                    f"refund {refund.refund_id} was already recorded with other contents",
                    "refund_id",
                )
            return order
        if order.status == OrderStatus.CANCELLED:
            raise DomainError.single(
                ErrorCode.INVALID_STATE, "a cancelled order cannot be refunded", "order_id"
            )
        money, base, lines = await _refund_amounts(session, order, refund)
        order.refunded_minor += money
        order.refunded_points_base_minor += base
        target = _points_share(order)
        source = Source(SourceType.ORDER, str(actor), order.external_id, reason="order refunded")
        taken = 0
        if target > order.points_taken_back and order.member_order:
            book = await open_order_book(uow, order, now)
            taken = await take_back(
                book, order, target - order.points_taken_back, source, "order-refund"
            )
        if order.refunded_minor >= order.total_minor:
            order.status = OrderStatus.REFUNDED
        await orders_repo.set_order_value_of_offers(
            session, order.id, order.total_minor - order.refunded_minor
        )
        order.updated_at = now
        session.add(
            OrderRefundRow(
                order_id=order.id, refund_id=refund.refund_id, request_hash=fingerprint,
                amount_minor=money, points_base_minor=base, points=taken, lines=lines,
                actor=str(actor), created_at=now,
            )
        )  # fmt: skip
        await order_event(session, order, "ORDER_REFUNDED", now, refund=refund.refund_id)
        await session.flush()
        return order

    return await run_order_command(db, site_id, retry, work, now)


async def _refund_amounts(
    session: Session, order: OrderRow, refund: RefundRequest
) -> tuple[int, int, list[dict[str, Any]]]:
    """(money refunded, of it on lines that earn points, the lines)."""
    left = order.total_minor - order.refunded_minor
    if refund.amount is not None:
        try:
            money = Money.from_decimal(refund.amount, order.currency).minor_units
        except ValueError as error:
            raise DomainError.single(ErrorCode.INVALID_VALUE, str(error), "amount") from None
        if not 0 < money <= left:
            raise DomainError.single(
                ErrorCode.INVALID_VALUE,
                f"the amount must be above 0 and at most {Money(left, order.currency).amount}",
                "amount",
            )
        refunded = order.refunded_minor + money
        cumulative = (
            order.points_base_minor
            if refunded >= order.total_minor
            else refunded * order.points_base_minor // max(order.total_minor, 1)
        )
        return money, max(0, cumulative - order.refunded_points_base_minor), []
    rows = await orders_repo.lines_of_order(session, order.id)
    money = base = 0
    lines = []
    for index, asked in enumerate(refund.lines):
        line_id, quantity = asked.line_id, asked.quantity
        row = rows.get(line_id)
        if row is None:
            raise DomainError.single(
                ErrorCode.NOT_FOUND, f"the order has no line {line_id!r}", "lines", str(index)
            )
        if not 0 < quantity <= row.quantity - row.refunded_quantity:
            raise DomainError.single(
                ErrorCode.INVALID_VALUE,
                f"at most {row.quantity - row.refunded_quantity} of line {line_id!r} are left",
                "lines", str(index), "quantity",
            )  # fmt: skip
        row.refunded_quantity += quantity
        cumulative = row.final_minor * row.refunded_quantity // row.quantity
        share = cumulative - row.refunded_minor
        row.refunded_minor = cumulative
        money += share
        base += share if row.earns_points else 0
        lines.append({"line_id": line_id, "quantity": quantity, "amount": share})
    if money > left:  # pragma: no cover - lines never refund more than they cost
        raise DomainError.single(ErrorCode.INVALID_VALUE, "more than the order is refunded")
    return money, base, lines


def _points_share(order: OrderRow) -> int:
    """The order's points that its refunds so far take back, rounded half up."""
    if order.points_base_minor <= 0:
        return order.points if order.refunded_minor >= order.total_minor else 0
    if order.refunded_points_base_minor >= order.points_base_minor:
        return order.points
    share = Decimal(order.points * order.refunded_points_base_minor) / order.points_base_minor
    return int(share.to_integral_value(ROUND_HALF_UP))
