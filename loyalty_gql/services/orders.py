"""The order lifecycle: record, complete, cancel, refund. Each is idempotent.

Recording prices the basket with the same code as the checkout query, inside
one transaction that holds the customer's account lock and the locks of every
counter the order changes (offers with usage limits, single-use coupon codes,
vouchers). Cancelling undoes every effect; refunding takes back points in
proportion to the money refunded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from loyalty_gql.db.dialect import insert_for
from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import (
    CouponCodeRow,
    CustomerRow,
    LedgerEntryRow,
    OfferAssignmentRow,
    OfferCustomerUseRow,
    OfferRow,
    OrderLineRow,
    OrderOfferRow,
    OrderPunchRow,
    OrderRefundRow,
    OrderRow,
    ReferralRow,
    SiteRow,
    VoucherRow,
)
from loyalty_gql.db.repositories import points as points_repo
from loyalty_gql.db.repositories.customers import customer_by_id
from loyalty_gql.db.repositories.sites import settings_of, site_by_id
from loyalty_gql.domain.checkout import Candidate, Quote
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.ledger import EntryKind, SourceType, rolling_expiry
from loyalty_gql.domain.values import Money
from loyalty_gql.services.checkout import Basket, price, quote_document
from loyalty_gql.services.common import Actor, Clock
from loyalty_gql.services.idempotency import request_fingerprint, run_once
from loyalty_gql.services.ledger import AccountBook, Source, ledger_key, open_book
from loyalty_gql.services.points import reward_referral
from loyalty_gql.services.uow import UnitOfWork

MAX_ORDER_ID = 128


# -- recording ----------------------------------------------------------------------------


async def record_order(
    db: Database,
    *,
    site_id: int,
    order_id: str,
    customer_id: int | None,
    basket: Basket,
    actor: Actor,
    clock: Clock,
) -> OrderRow:
    """Store the order with exactly the checkout's quote and apply its effects.

    Idempotent on (site, order id): the same order again returns the stored
    order; the same id with other contents is ORDER_ALREADY_RECORDED.
    """
    order_id = _order_id(order_id)
    basket.check()
    now = clock()
    fingerprint = request_fingerprint("recordOrder", {"customer": customer_id, **basket.request()})

    async def work(uow: UnitOfWork) -> OrderRow:
        session = uow.session
        await _order_lock(uow, site_id, order_id)
        existing = await _find_order(session, site_id, order_id)
        if existing is not None:
            if existing.request_hash != fingerprint:
                raise DomainError.single(
                    ErrorCode.ORDER_ALREADY_RECORDED,
                    f"order {order_id} was already recorded with other contents",
                    "orderId",
                )
            return existing
        site = await site_by_id(session, site_id)
        if site is None:
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such site", "siteId")
        customer = None
        book = None
        if customer_id is not None:
            customer = await customer_by_id(session, customer_id)
            if customer is None or customer.site_id != site.id:
                raise DomainError.single(ErrorCode.NOT_FOUND, "no such customer", "customerId")
            if site.program_enabled and customer.enrolled_at is not None:
                book = await open_book(uow, site, customer, now)  # the account lock, first
            elif uow.is_postgres:
                # no account to lock: the customer row keeps per-customer limits honest
                await session.execute(
                    select(CustomerRow.id).where(CustomerRow.id == customer.id).with_for_update()
                )
        priced = await price(
            session, site, customer, basket, now,
            account=book.account if book else None, lock=uow.is_postgres,
        )  # fmt: skip
        order = _new_order(site, customer, order_id, priced.quote, fingerprint, actor, now, book)
        session.add(order)
        await session.flush()
        _add_lines(session, order, priced.quote)
        await _consume(session, order, priced.quote, customer, priced.assignments, now)
        if book is not None:
            await _earn(uow, book, order, priced.quote, str(actor))
        await _event(session, order, "ORDER_RECORDED", now)
        await session.flush()
        return order

    return await run_once(
        db, scope=f"site:{site_id}", key=None, operation="recordOrder", request={}, now=now,
        work=work, dump=lambda _: {}, load=_never_loaded,
    )  # fmt: skip


def _new_order(  # noqa: PLR0917 - one call site, every part needed
    site: SiteRow,
    customer: CustomerRow | None,
    order_id: str,
    quote: Quote,
    fingerprint: str,
    actor: Actor,
    now: datetime,
    book: AccountBook | None,
) -> OrderRow:
    payment = quote.points_payment
    return OrderRow(
        site_id=site.id,
        external_id=order_id,
        customer_id=customer.id if customer else None,
        status="PLACED",
        currency=site.currency,
        subtotal_minor=quote.subtotal,
        # what offers and member prices took off: points paid are a payment, not a discount
        discount_minor=quote.discount - (payment.amount if payment else 0),
        total_minor=quote.total,
        points_base_minor=quote.points_base,
        member_order=book is not None,
        points=quote.points if book is not None else 0,
        points_paid=payment.used if payment and book is not None else 0,
        threshold_voucher_ids=[],
        previous_last_order_at=book.account.last_order_at if book else None,
        previous_rolling_expires_at=book.account.rolling_expires_at if book else None,
        refunded_minor=0,
        refunded_points_base_minor=0,
        points_taken_back=0,
        points_not_recovered=0,
        quote=quote_document(quote),
        request_hash=fingerprint,
        actor=str(actor),
        created_at=now,
        updated_at=now,
    )


def _add_lines(session: AsyncSession, order: OrderRow, quote: Quote) -> None:
    for q in quote.lines:
        session.add(
            OrderLineRow(
                order_id=order.id, site_id=order.site_id, line_id=q.line.line_id,
                product_id=q.line.product_id, category=q.line.category,
                quantity=q.line.quantity, unit_price_minor=q.line.unit_price,
                original_minor=q.original, discount_minor=q.discount, final_minor=q.final,
                earns_points=q.earns_points, refunded_quantity=0, refunded_minor=0,
            )
        )  # fmt: skip


async def _consume(  # noqa: PLR0917
    session: AsyncSession,
    order: OrderRow,
    quote: Quote,
    customer: CustomerRow | None,
    assignments: dict[int, OfferAssignmentRow],
    now: datetime,
) -> None:
    """Count uses, use up vouchers and codes, move punches. The rows are locked (or the
    SQLite write lock is held), so each conditional UPDATE must hit its row."""
    counted = sorted(
        (a.candidate for a in quote.applied if a.candidate.counts_use and a.candidate.offer_id),
        key=lambda c: c.offer_id or 0,
    )
    # Rows change in one order everywhere (cancelling follows it too): offers with a
    # usage limit, single-use codes and vouchers (all three locked before pricing),
    # then offers without a limit, each by id.
    await _count_uses(session, [c for c in counted if c.terms.max_uses is not None], customer)
    await _use_codes_and_vouchers(session, quote, now)
    await _count_uses(session, [c for c in counted if c.terms.max_uses is None], customer)
    for applied in quote.applied:
        c = applied.candidate
        session.add(
            OrderOfferRow(
                order_id=order.id, site_id=order.site_id, offer_id=c.offer_id,
                origin=c.origin.value, voucher_id=c.voucher_id, coupon_code_id=c.coupon_code_id,
                discount_minor=applied.amount,
                reward_points=applied.reward_points if order.points else 0,
                counted_use=bool(c.counts_use and c.offer_id),
                customer_id=order.customer_id, created_at=order.created_at, cancelled=False,
                order_value_minor=order.total_minor,
            )
        )  # fmt: skip
    for card in quote.punchcards:
        if card.after == card.before or card.candidate.offer_id not in assignments:
            continue
        assignment = assignments[card.candidate.offer_id]
        assignment.punches = card.after
        session.add(
            OrderPunchRow(
                order_id=order.id, assignment_id=assignment.id, before=card.before,
                after=card.after,
            )
        )  # fmt: skip
    await session.flush()


async def _count_uses(
    session: AsyncSession, counted: list[Candidate], customer: CustomerRow | None
) -> None:
    for c in counted:
        await _must(
            session,
            update(OfferRow)
            .where(
                OfferRow.id == c.offer_id,
                (OfferRow.max_uses.is_(None)) | (OfferRow.uses < OfferRow.max_uses),
            )
            .values(uses=OfferRow.uses + 1),
        )
        if customer is not None:
            await _add_customer_use(session, c.offer_id or 0, customer.id, 1)


async def _use_codes_and_vouchers(session: AsyncSession, quote: Quote, now: datetime) -> None:
    used = [a.candidate for a in quote.applied]
    for code_id in sorted(c.coupon_code_id for c in used if c.coupon_code_id):
        await _must(
            session,
            update(CouponCodeRow)
            .where(CouponCodeRow.id == code_id, CouponCodeRow.used_at.is_(None))
            .values(used_at=now),
        )
    for voucher_id in sorted(c.voucher_id for c in used if c.voucher_id):
        await _must(
            session,
            update(VoucherRow)
            .where(VoucherRow.id == voucher_id, VoucherRow.status == "ACTIVE")
            .values(status="USED", used_at=now),
        )


async def _earn(
    uow: UnitOfWork, book: AccountBook, order: OrderRow, quote: Quote, actor: str
) -> None:
    """Pay with points, earn the order's points, note the order; the referral reward."""
    source = Source(SourceType.ORDER, actor, order.external_id)
    if order.points_paid > 0:
        spend = await book.spend(
            order.points_paid, source, ledger_key("order-pay", order.site_id, order.external_id)
        )
        order.spend_entry_id = spend.id
    if order.points > 0:
        entry = await book.earn(
            order.points, source, ledger_key("order", order.site_id, order.external_id),
            pending=book.settings.order_points_pending,
        )  # fmt: skip
        order.earn_entry_id = entry.id
    await book.note_order(Money(quote.total, order.currency))
    order.threshold_voucher_ids = [v.id for v in book.vouchers]
    if not book.settings.order_points_pending:
        await _reward_referral(uow, book, order)


async def _reward_referral(uow: UnitOfWork, book: AccountBook, order: OrderRow) -> None:
    """The referrer earns on the friend's first order once it counts: when recorded if
    order points are final at once, else when completed."""
    referral = await reward_referral(uow, book.customer, book.site, book.now, order.external_id)
    if referral is not None:
        order.referral_entry_id = referral.id


# -- completing ---------------------------------------------------------------------------


async def complete_order(
    db: Database, *, site_id: int, order_id: str, actor: Actor, clock: Clock
) -> OrderRow:
    """The order is final: its pending points become available. Again: no change."""
    now = clock()

    async def work(uow: UnitOfWork) -> OrderRow:
        order = await _locked_order(uow, site_id, _order_id(order_id))
        if order.completed_at is not None:
            return order
        if order.status == "CANCELLED":
            raise DomainError.single(
                ErrorCode.INVALID_STATE, "a cancelled order cannot be completed", "orderId"
            )
        earned = await _entry(uow.session, order.earn_entry_id)
        book = await _book(uow, order, now) if order.member_order else None
        if book is not None and settings_of(book.site).order_points_pending:
            await _reward_referral(uow, book, order)
        if book is not None and earned is not None and earned.kind == EntryKind.PENDING.value:
            _, done_pending, _ = await points_repo.reversed_so_far(uow.session, earned.id)
            if earned.pending_points + done_pending > 0:
                activated = await book.activate(
                    earned, ledger_key("order-complete", order.site_id, order.external_id)
                )
                order.activate_entry_id = activated.id
                order.threshold_voucher_ids = [
                    *order.threshold_voucher_ids,
                    *(v.id for v in book.vouchers),
                ]
        if order.status == "PLACED":
            order.status = "COMPLETED"
        order.completed_at = now
        order.updated_at = now
        await _event(uow.session, order, "ORDER_COMPLETED", now)
        await uow.session.flush()
        return order

    return await _run(db, site_id, "completeOrder", work, now)


# -- cancelling ---------------------------------------------------------------------------


async def cancel_order(
    db: Database, *, site_id: int, order_id: str, actor: Actor, clock: Clock
) -> OrderRow:
    """Undo the order: its points taken back, points it spent and vouchers it used given
    back, codes and usage counts released, punches removed. Again: no change."""
    now = clock()

    async def work(uow: UnitOfWork) -> OrderRow:
        session = uow.session
        order = await _locked_order(uow, site_id, _order_id(order_id))
        if order.status == "CANCELLED":
            return order
        source = Source(SourceType.ORDER, str(actor), order.external_id, reason="order cancelled")
        if order.member_order:
            book = await _book(uow, order, now)
            await _cancel_threshold_vouchers(book, order, source)
            await _take_back(book, order, None, source, "order-cancel")
            spend = await _entry(session, order.spend_entry_id)
            if spend is not None:
                await book.reverse(
                    spend, None, source, ledger_key("order-cancel-pay", order.site_id,
                                                    order.external_id),
                )  # fmt: skip
            await _undo_note(book, order)
            await _cancel_referral(uow, order, source, now)
        await _release(session, order)
        order.status = "CANCELLED"
        order.cancelled_at = now
        order.updated_at = now
        await _event(session, order, "ORDER_CANCELLED", now)
        await session.flush()
        return order

    return await _run(db, site_id, "cancelOrder", work, now)


async def _cancel_threshold_vouchers(book: AccountBook, order: OrderRow, source: Source) -> None:
    """Rewards the order's points triggered go back while unused, with their points."""
    if not order.threshold_voucher_ids:
        return
    vouchers = await book.session.scalars(
        select(VoucherRow)
        .where(VoucherRow.id.in_(order.threshold_voucher_ids))
        .order_by(VoucherRow.id)
    )
    for voucher in vouchers:
        spend = await _entry(book.session, voucher.ledger_entry_id)
        if voucher.status == "ACTIVE" and spend is not None:
            await book.reverse(spend, None, source, ledger_key("order-cancel-reward", voucher.id))


async def _take_back(
    book: AccountBook, order: OrderRow, points: int | None, source: Source, step: str
) -> int:
    """Take back ``points`` (None: all that is left) of what the order earned: from the
    pending entry before completion, from the activated points after. Points the
    customer no longer has are recorded on the order as not recovered."""
    entry = await _entry(book.session, order.activate_entry_id or order.earn_entry_id)
    if entry is None:
        return 0
    _, done_pending, done_earned = await points_repo.reversed_so_far(book.session, entry.id)
    pending = entry.kind == EntryKind.PENDING.value
    left = entry.pending_points + done_pending if pending else entry.points + done_earned
    wanted = left if points is None else min(points, left)
    if wanted <= 0:
        return 0
    taking = wanted if pending else min(wanted, await book.reversible(entry))
    key = ledger_key(step, order.site_id, order.external_id, order.points_taken_back)
    if taking > 0:
        await book.reverse(entry, taking, source, key)
    order.points_taken_back += wanted
    order.points_not_recovered += wanted - taking
    return wanted


async def _undo_note(book: AccountBook, order: OrderRow) -> None:
    """The order no longer counts as spend; the expiry clock goes back if nothing
    happened since."""
    account = book.account
    account.lifetime_spent_minor -= order.total_minor
    await points_repo.add_to_customer_day(
        book.session, site_id=order.site_id, customer_id=order.customer_id or 0,
        day=order.created_at.date(), spent_minor=-order.total_minor, orders=-1,
    )  # fmt: skip
    if account.last_order_at == order.created_at:
        account.last_order_at = order.previous_last_order_at
        settings = book.settings
        set_by_this_order = rolling_expiry(
            settings.validity_policy, settings.validity_days, order.created_at
        )
        if account.rolling_expires_at == set_by_this_order:
            # nothing extended the clock since (an activation would have)
            account.rolling_expires_at = order.previous_rolling_expires_at


async def _cancel_referral(uow: UnitOfWork, order: OrderRow, source: Source, now: datetime) -> None:
    entry = await _entry(uow.session, order.referral_entry_id)
    if entry is None:
        return
    site = await site_by_id(uow.session, order.site_id)
    referrer = await customer_by_id(uow.session, entry.customer_id)
    if site is None or referrer is None:  # pragma: no cover - foreign keys
        return
    book = await open_book(uow, site, referrer, now)
    *_, done_earned = await points_repo.reversed_so_far(uow.session, entry.id)
    left = entry.points + done_earned
    taking = min(left, await book.reversible(entry))
    if taking > 0:
        await book.reverse(
            entry, taking, source, ledger_key("order-cancel-referral", order.site_id,
                                              order.external_id),
        )  # fmt: skip
    # the friend's next order may earn the referral again
    await uow.session.execute(
        update(ReferralRow)
        .where(ReferralRow.rewarded_entry_id == entry.id)
        .values(rewarded_entry_id=None)
    )


async def _release(session: AsyncSession, order: OrderRow) -> None:
    """Uncount uses, give back codes and vouchers, remove punches. Rows are changed in
    the order recording locks them: offers with a usage limit, single-use codes,
    vouchers, then offers without a limit, each by id."""
    used = list(
        await session.scalars(select(OrderOfferRow).where(OrderOfferRow.order_id == order.id))
    )
    counted = sorted({r.offer_id for r in used if r.counted_use and r.offer_id})
    limits: dict[int, int | None] = {}
    if counted:
        rows = await session.execute(
            select(OfferRow.id, OfferRow.max_uses).where(OfferRow.id.in_(counted))
        )
        limits = {int(pk): limit for pk, limit in rows}

    async def uncount(offer_ids: list[int]) -> None:
        for offer_id in offer_ids:
            await session.execute(
                update(OfferRow).where(OfferRow.id == offer_id).values(uses=OfferRow.uses - 1)
            )
            if order.customer_id is not None:
                await _add_customer_use(session, offer_id, order.customer_id, -1)

    await uncount([pk for pk in counted if limits.get(pk) is not None])
    for code_id in sorted({r.coupon_code_id for r in used if r.coupon_code_id}):
        await session.execute(
            update(CouponCodeRow).where(CouponCodeRow.id == code_id).values(used_at=None)
        )
    for voucher_id in sorted({r.voucher_id for r in used if r.voucher_id}):
        await session.execute(
            update(VoucherRow)
            .where(VoucherRow.id == voucher_id, VoucherRow.status == "USED")
            .values(status="ACTIVE", used_at=None)
        )
    await uncount([pk for pk in counted if limits.get(pk) is None])
    if used:
        await session.execute(
            update(OrderOfferRow).where(OrderOfferRow.order_id == order.id).values(cancelled=True)
        )
    punches = await session.scalars(select(OrderPunchRow).where(OrderPunchRow.order_id == order.id))
    for punch in punches:
        assignment = await session.get(OfferAssignmentRow, punch.assignment_id)
        if assignment is not None:
            assignment.punches = max(0, assignment.punches + punch.before - punch.after)


# -- refunding ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """A refund: some lines (line id, quantity) or an amount of money."""

    refund_id: str
    lines: tuple[tuple[str, int], ...] = ()
    amount: Decimal | None = None

    def request(self) -> dict[str, Any]:
        """Plain data for the fingerprint."""
        amount = None if self.amount is None else format(self.amount.normalize(), "f")
        return {"lines": sorted(list(x) for x in self.lines), "amount": amount}


async def refund_order(
    db: Database,
    *,
    site_id: int,
    order_id: str,
    refund: RefundRequest,
    actor: Actor,
    clock: Clock,
) -> OrderRow:
    """Record a refund and take back the order's points in proportion to the money
    refunded from lines that earn points. Idempotent on (order, refund id)."""
    if (refund.amount is None) == (not refund.lines):
        raise DomainError.single(ErrorCode.INVALID_VALUE, "give either lines or an amount")
    if not 0 < len(refund.refund_id) <= MAX_ORDER_ID:
        raise DomainError.single(ErrorCode.INVALID_VALUE, "1-128 characters", "refundId")
    now = clock()
    fingerprint = request_fingerprint("refundOrder", refund.request())

    async def work(uow: UnitOfWork) -> OrderRow:
        session = uow.session
        order = await _locked_order(uow, site_id, _order_id(order_id))
        earlier = await session.scalar(
            select(OrderRefundRow).where(
                OrderRefundRow.order_id == order.id, OrderRefundRow.refund_id == refund.refund_id
            )
        )
        if earlier is not None:
            if earlier.request_hash != fingerprint:
                raise DomainError.single(
                    ErrorCode.REFUND_ALREADY_RECORDED,
                    f"refund {refund.refund_id} was already recorded with other contents",
                    "refundId",
                )
            return order
        if order.status == "CANCELLED":
            raise DomainError.single(
                ErrorCode.INVALID_STATE, "a cancelled order cannot be refunded", "orderId"
            )
        money, base, lines = await _refund_amounts(session, order, refund)
        order.refunded_minor += money
        order.refunded_points_base_minor += base
        target = _points_share(order)
        source = Source(SourceType.ORDER, str(actor), order.external_id, reason="order refunded")
        taken = 0
        if target > order.points_taken_back and order.member_order:
            book = await _book(uow, order, now)
            taken = await _take_back(
                book, order, target - order.points_taken_back, source, "order-refund"
            )
        if order.refunded_minor >= order.total_minor:
            order.status = "REFUNDED"
        await session.execute(
            update(OrderOfferRow)
            .where(OrderOfferRow.order_id == order.id)
            .values(order_value_minor=order.total_minor - order.refunded_minor)
        )
        order.updated_at = now
        session.add(
            OrderRefundRow(
                order_id=order.id, refund_id=refund.refund_id, request_hash=fingerprint,
                amount_minor=money, points_base_minor=base, points=taken, lines=lines,
                actor=str(actor), created_at=now,
            )
        )  # fmt: skip
        await _event(session, order, "ORDER_REFUNDED", now, refund=refund.refund_id)
        await session.flush()
        return order

    return await _run(db, site_id, "refundOrder", work, now)


async def _refund_amounts(
    session: AsyncSession, order: OrderRow, refund: RefundRequest
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
    rows = {
        row.line_id: row
        for row in await session.scalars(
            select(OrderLineRow).where(OrderLineRow.order_id == order.id)
        )
    }
    money = base = 0
    lines = []
    for index, (line_id, quantity) in enumerate(refund.lines):
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
        lines.append({"lineId": line_id, "quantity": quantity, "amount": share})
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


# -- shared ---------------------------------------------------------------------------------


async def _run(db: Database, site_id: int, operation: str, work: Any, now: datetime) -> OrderRow:
    result: OrderRow = await run_once(
        db, scope=f"site:{site_id}", key=None, operation=operation, request={}, now=now,
        work=work, dump=lambda _: {}, load=_never_loaded,
    )  # fmt: skip
    return result


async def _never_loaded(_: AsyncSession, __: dict[str, Any]) -> OrderRow:  # pragma: no cover
    msg = "orders are found by their order id, not replayed by key"
    raise AssertionError(msg)


def _order_id(order_id: str) -> str:
    cleaned = order_id.strip()
    if not 0 < len(cleaned) <= MAX_ORDER_ID:
        raise DomainError.single(
            ErrorCode.INVALID_VALUE, "order ids are 1-128 characters", "orderId"
        )
    return cleaned


async def _order_lock(uow: UnitOfWork, site_id: int, order_id: str) -> None:
    """Calls for one order id queue here on PostgreSQL (SQLite's write lock does it)."""
    if uow.is_postgres:
        await uow.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"order|{site_id}|{order_id}"},
        )


async def _find_order(session: AsyncSession, site_id: int, order_id: str) -> OrderRow | None:
    found: OrderRow | None = await session.scalar(
        select(OrderRow).where(OrderRow.site_id == site_id, OrderRow.external_id == order_id)
    )
    return found


async def _locked_order(uow: UnitOfWork, site_id: int, order_id: str) -> OrderRow:
    query = select(OrderRow).where(OrderRow.site_id == site_id, OrderRow.external_id == order_id)
    if uow.is_postgres:
        query = query.with_for_update()
    order = await uow.session.scalar(query)
    if order is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, f"no order {order_id}", "orderId")
    return order


async def _book(uow: UnitOfWork, order: OrderRow, now: datetime) -> AccountBook:
    site = await site_by_id(uow.session, order.site_id)
    customer = await customer_by_id(uow.session, order.customer_id or 0)
    if site is None or customer is None:  # pragma: no cover - foreign keys
        raise DomainError.single(ErrorCode.NOT_FOUND, "the order's customer is gone")
    return await open_book(uow, site, customer, now)


async def _entry(session: AsyncSession, entry_id: int | None) -> LedgerEntryRow | None:
    if entry_id is None:
        return None
    return await session.get(LedgerEntryRow, entry_id)


async def _must(session: AsyncSession, statement: Any) -> None:
    result = await session.execute(statement.execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]  # pragma: no cover - rows locked
        raise DomainError.single(
            ErrorCode.CONCURRENT_UPDATE, "a concurrent order changed the same offer; retry"
        )


async def _add_customer_use(session: AsyncSession, offer_id: int, customer_id: int, n: int) -> None:
    insert = insert_for(session)
    await session.execute(
        insert(OfferCustomerUseRow)
        .values(offer_id=offer_id, customer_id=customer_id, uses=max(n, 0))
        .on_conflict_do_update(
            index_elements=[OfferCustomerUseRow.offer_id, OfferCustomerUseRow.customer_id],
            set_={"uses": OfferCustomerUseRow.uses + n},
        )
    )


async def _event(
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
