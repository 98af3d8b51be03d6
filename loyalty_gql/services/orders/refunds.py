"""Refunds: the order's earned points taken back and its paid points given back in
proportion to what was refunded, its vouchers given back once what they paid for is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import CampaignAwardRow, OrderLineRow, OrderRefundRow, OrderRow
from loyalty_gql.db.repositories import orders as orders_repo
from loyalty_gql.db.session import Session
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.orders import OrderStatus, refunded_points
from loyalty_gql.domain.points import SourceType
from loyalty_gql.domain.values import Money, PointsRounding
from loyalty_gql.services.campaigns import give_back_budgets
from loyalty_gql.services.core.common import Actor, Clock
from loyalty_gql.services.core.idempotency import Idempotency, request_fingerprint
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.gamification.progress import on_order_uncounted
from loyalty_gql.services.orders.common import (
    MAX_ORDER_ID,
    checked_order_id,
    locked_order,
    open_order_book,
    order_document,
    order_event,
    run_order_command,
)
from loyalty_gql.services.orders.lifecycle import (
    give_back_paid,
    take_back,
    take_back_campaigns,
    uncount_spend,
)
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
    """Record a refund: the order's earned points are taken back in proportion to the money
    refunded from lines that earn points, its paid points given back in proportion to the
    points payment the refunded lines (or amount) carried, both by the site's points
    rounding and cumulatively; a voucher comes back once every line it took something off
    (or the whole order) is refunded in full; the money no longer counts as spend.
    Idempotent on (order, refund id); ``retry`` names the operation (the API:
    ``refundOrder``), part of the refund's fingerprint."""
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
        doc = order_document(order)
        rows = await orders_repo.lines_of_order(session, order.id) if refund.lines else {}
        share = _refund_amounts(order, rows, _points_paid_by_line(doc), refund)
        order.refunded_minor += share.money
        order.refunded_points_base_minor += share.base
        order.refunded_payment_minor += share.payment
        in_full = order.refunded_minor >= order.total_minor and (
            order.total_minor > 0 or all(r.refunded_quantity == r.quantity for r in rows.values())
        )
        source = Source(SourceType.ORDER, str(actor), order.external_id, reason="order refunded")
        taken = given = 0
        book = None
        budgets: dict[int, int] = {}
        if order.member_order:
            book = await open_order_book(uow, order, now)
            rounding = book.settings.points_rounding
            target = refunded_points(
                order.points, order.refunded_points_base_minor, order.points_base_minor,
                rounding, in_full=in_full,
            )  # fmt: skip
            if target > order.points_taken_back:
                taken = await take_back(
                    book, order, target - order.points_taken_back, source, "order-refund"
                )
            paid_back = refunded_points(
                order.points_paid, order.refunded_payment_minor, _payment_of(doc),
                rounding, in_full=in_full,
            )  # fmt: skip
            given = await give_back_paid(
                book, order, paid_back - order.points_given_back, source, "order-refund-pay"
            )
            await uncount_spend(book, order, share.money)
            await on_order_uncounted(
                uow, book, order, in_full=in_full, lines=list(rows.values()) if rows else None
            )  # gamification: what was refunded no longer counts towards challenges
            if order.campaign_points > 0 and not rows:
                rows = await orders_repo.lines_of_order(session, order.id)
            budgets = await take_back_campaigns(
                book, order, _campaign_share(order, rows, rounding, in_full=in_full), source,
                "order-refund-campaign",
            )  # fmt: skip
        await _give_back_vouchers(session, order, doc, rows, now, in_full=in_full)
        if book is not None and budgets:
            # after the vouchers, in the lock order
            await give_back_budgets(book, budgets)
        if in_full:
            order.status = OrderStatus.REFUNDED
        await orders_repo.set_order_value_of_offers(
            session, order.id, order.total_minor - order.refunded_minor
        )
        order.updated_at = now
        session.add(
            OrderRefundRow(
                order_id=order.id, refund_id=refund.refund_id, request_hash=fingerprint,
                amount_minor=share.money, points_base_minor=share.base, points=taken,
                points_given_back=given, lines=share.lines, actor=str(actor), created_at=now,
            )
        )  # fmt: skip
        await order_event(session, order, "ORDER_REFUNDED", now, refund=refund.refund_id)
        await session.flush()
        return order

    return await run_order_command(db, site_id, retry, work, now)


def _campaign_share(
    order: OrderRow, rows: dict[str, OrderLineRow], rounding: PointsRounding, *, in_full: bool
) -> Callable[[CampaignAwardRow], int]:
    """The points of an award that the refunds so far cover: a basket-wide award as the
    order's own points (the money refunded from lines that earn); an award on some lines
    by the money refunded from those lines, amount refunds counted on every line in
    proportion. Cumulative, by the site's rounding; all of it once refunded in full."""
    by_lines = sum(row.refunded_minor for row in rows.values())
    by_amount = max(0, order.refunded_minor - by_lines)

    def share(award: CampaignAwardRow) -> int:
        if award.qualifying is None:
            return refunded_points(
                award.points, order.refunded_points_base_minor, order.points_base_minor,
                rounding, in_full=in_full,
            )  # fmt: skip
        paid = sum(int(amount) for _, amount in award.qualifying)
        refunded = sum(rows[line].refunded_minor for line, _ in award.qualifying if line in rows)
        refunded += by_amount * paid // max(order.total_minor, 1)
        return refunded_points(award.points, min(refunded, paid), paid, rounding, in_full=in_full)

    return share


@dataclass(frozen=True, slots=True)
class RefundShare:
    """What one refund covers: money, of it on lines that earn points, the money value
    of the points payment it carries, and the lines."""

    money: int
    base: int
    payment: int
    lines: list[dict[str, Any]]


def _points_paid_by_line(doc: dict[str, Any]) -> dict[str, int]:
    """The money the points payment took off each line, by line id."""
    return {
        q["line_id"]: sum(d["amount"] for d in q["discounts"] if d["points_payment"])
        for q in doc["lines"]
    }


def _payment_of(doc: dict[str, Any]) -> int:
    return sum(_points_paid_by_line(doc).values())


def _refund_amounts(
    order: OrderRow,
    rows: dict[str, OrderLineRow],
    paid_by_line: dict[str, int],
    refund: RefundRequest,
) -> RefundShare:
    """The refund's share of the order: an amount in proportion to the order's total, lines
    by the quantity refunded of each (cumulative per line, so the parts add up)."""
    left = order.total_minor - order.refunded_minor
    payment_total = sum(paid_by_line.values())
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
        total = max(order.total_minor, 1)
        in_full = refunded >= order.total_minor
        base = order.points_base_minor if in_full else refunded * order.points_base_minor // total
        payment = payment_total if in_full else refunded * payment_total // total
        return RefundShare(
            money,
            max(0, base - order.refunded_points_base_minor),
            max(0, payment - order.refunded_payment_minor),
            [],
        )
    money = base = payment = 0
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
        paid = paid_by_line.get(line_id, 0)
        payment -= paid * row.refunded_quantity // row.quantity
        row.refunded_quantity += quantity
        payment += paid * row.refunded_quantity // row.quantity
        cumulative = row.final_minor * row.refunded_quantity // row.quantity
        share = cumulative - row.refunded_minor
        row.refunded_minor = cumulative
        money += share
        base += share if row.earns_points else 0
        lines.append({"line_id": line_id, "quantity": quantity, "amount": share})
    if money > left:  # pragma: no cover - lines never refund more than they cost
        raise DomainError.single(ErrorCode.INVALID_VALUE, "more than the order is refunded")
    payment = min(payment, payment_total - order.refunded_payment_minor)
    return RefundShare(money, base, max(0, payment), lines)


async def _give_back_vouchers(
    session: Session,
    order: OrderRow,
    doc: dict[str, Any],
    rows: dict[str, OrderLineRow],
    now: datetime,
    *,
    in_full: bool,
) -> None:
    """A voucher the order used is active again (until its own expiry) once every line it
    took something off is refunded in full, or the whole order is."""
    if not any(a.get("voucher_id") for a in doc["applied"]):
        return
    paid_for: dict[int, set[str]] = {}
    for applied in doc["applied"]:
        if applied.get("voucher_id"):
            paid_for[applied["voucher_id"]] = {
                q["line_id"]
                for q in doc["lines"]
                if any(d["key"] == applied["key"] and d["amount"] > 0 for d in q["discounts"])
            }
    used = await orders_repo.offers_of_order(session, order.id)
    for use in sorted(
        (u for u in used if u.voucher_id and u.given_back_at is None and not u.cancelled),
        key=lambda u: u.voucher_id or 0,
    ):
        lines = paid_for.get(use.voucher_id or 0, set())
        refunded = bool(lines) and all(
            line in rows and rows[line].refunded_quantity == rows[line].quantity for line in lines
        )
        if in_full or refunded:
            await orders_repo.release_voucher(session, use.voucher_id or 0)
            use.given_back_at = now
