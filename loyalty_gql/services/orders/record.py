"""Recording an order: price the basket, consume offers, codes and vouchers, earn points."""

from __future__ import annotations

from datetime import datetime

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import (
    CustomerRow,
    OfferAssignmentRow,
    OrderLineRow,
    OrderOfferRow,
    OrderPunchRow,
    OrderRow,
    SiteRow,
)
from loyalty_gql.db.repositories import orders as orders_repo
from loyalty_gql.db.repositories.customers import customer_by_id
from loyalty_gql.db.repositories.sites import site_by_id
from loyalty_gql.db.session import Session
from loyalty_gql.domain.checkout import Candidate, Quote
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.orders import OrderStatus, QuoteExpectation
from loyalty_gql.domain.points import SourceType
from loyalty_gql.domain.values import Money
from loyalty_gql.services.checkout import Basket, price, quote_document
from loyalty_gql.services.core.common import Actor, Clock
from loyalty_gql.services.core.idempotency import Idempotency, request_fingerprint
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.orders.common import (
    checked_order_id,
    expect_changed,
    order_event,
    order_lock,
    run_order_command,
)
from loyalty_gql.services.points import reward_referral
from loyalty_gql.services.points.ledger import AccountBook, Source, ledger_key, open_book


async def record_order(
    db: Database,
    *,
    site_id: int,
    order_id: str,
    customer_id: int | None,
    basket: Basket,
    retry: Idempotency,
    actor: Actor,
    clock: Clock,
    expected: QuoteExpectation | None = None,
) -> OrderRow:
    """Store the order with exactly the checkout's quote and apply its effects.

    Idempotent on (site, order id): the same order again returns the stored
    order; the same id with other contents is ORDER_ALREADY_RECORDED. ``retry``
    names the operation (the API: ``recordOrder``), part of the order's fingerprint.
    With ``expected``, a recalculation that differs from it is QUOTE_CHANGED and
    nothing is written; it is not part of the fingerprint, so a retry that adds it
    still replays (and is ORDER_ALREADY_RECORDED if the stored order differs from it).
    """
    order_id = checked_order_id(order_id)
    basket.check()
    if expected is not None:
        expected.check()
    now = clock()
    fingerprint = request_fingerprint(
        retry.operation, {"customer": customer_id, **basket.request()}
    )

    async def work(uow: UnitOfWork) -> OrderRow:
        session = uow.session
        await order_lock(uow, site_id, order_id)
        existing = await orders_repo.order_by_external_id(session, site_id, order_id)
        if existing is not None:
            if existing.request_hash != fingerprint:
                raise DomainError.single(
                    ErrorCode.ORDER_ALREADY_RECORDED,
                    f"order {order_id} was already recorded with other contents",
                    "order_id",
                )
            _check_replay(existing, expected)
            return existing
        site = await site_by_id(session, site_id)
        if site is None:
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such site", "site_id")
        customer = None
        book = None
        if customer_id is not None:
            customer = await customer_by_id(session, customer_id)
            if customer is None or customer.site_id != site.id:
                raise DomainError.single(ErrorCode.NOT_FOUND, "no such customer", "customer_id")
            if site.program_enabled and customer.enrolled_at is not None:
                book = await open_book(uow, site, customer, now)  # the account lock, first
            elif uow.is_postgres:
                # no account to lock: the customer row keeps per-customer limits honest
                await orders_repo.lock_customer(session, customer.id)
        priced = await price(
            session, site, customer, basket, now,
            account=book.account if book else None, lock=uow.is_postgres,
        )  # fmt: skip
        if expected is not None:
            quote, payment = priced.quote, priced.quote.points_payment
            expected.check_quote(
                site.currency, total=quote.total, points=quote.points if book else 0,
                points_paid=payment.used if payment and book else 0,
            )  # fmt: skip
        order = _new_order(site, customer, order_id, priced.quote, fingerprint, actor, now, book)
        session.add(order)
        await session.flush()
        _add_lines(session, order, priced.quote)
        await _consume(session, order, priced.quote, customer, priced.assignments, now)
        if book is not None:
            await _earn(uow, book, order, priced.quote, str(actor))
        await order_event(session, order, "ORDER_RECORDED", now)
        await session.flush()
        return order

    return await run_order_command(db, site_id, retry, work, now)


def _check_replay(order: OrderRow, expected: QuoteExpectation | None) -> None:
    """A retry that expects other numbers than the order was recorded with is refused:
    the order stands as recorded."""
    if expected is None:
        return
    differences = expected.differences(
        order.currency, total=order.total_minor, points=order.points,
        points_paid=order.points_paid,
    )  # fmt: skip
    if differences:
        field, wanted, stored = differences[0]
        raise DomainError.single(
            ErrorCode.ORDER_ALREADY_RECORDED,
            f"order {order.external_id} was recorded with {stored}, not the {wanted} expected",
            field,
        )


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
        status=OrderStatus.PLACED,
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
        refunded_payment_minor=0,
        points_given_back=0,
        spend_uncounted_minor=0,
        quote=quote_document(quote),
        request_hash=fingerprint,
        actor=str(actor),
        created_at=now,
        updated_at=now,
    )


def _add_lines(session: Session, order: OrderRow, quote: Quote) -> None:
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
    session: Session,
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
    session: Session, counted: list[Candidate], customer: CustomerRow | None
) -> None:
    for c in counted:
        expect_changed(await orders_repo.count_offer_use(session, c.offer_id or 0))
        if customer is not None:
            await orders_repo.add_customer_use(session, c.offer_id or 0, customer.id, 1)


async def _use_codes_and_vouchers(session: Session, quote: Quote, now: datetime) -> None:
    used = [a.candidate for a in quote.applied]
    for code_id in sorted(c.coupon_code_id for c in used if c.coupon_code_id):
        expect_changed(await orders_repo.use_coupon_code(session, code_id, now))
    for voucher_id in sorted(c.voucher_id for c in used if c.voucher_id):
        expect_changed(await orders_repo.use_voucher(session, voucher_id, now))


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
        await reward_order_referral(uow, book, order)


async def reward_order_referral(uow: UnitOfWork, book: AccountBook, order: OrderRow) -> None:
    """The referrer earns on the friend's first order once it counts: when recorded if
    order points are final at once, else when completed."""
    referral = await reward_referral(uow, book.customer, book.site, book.now, order.external_id)
    if referral is not None:
        order.referral_entry_id = referral.id
