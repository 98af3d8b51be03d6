"""Recording an order: price the basket, consume offers, codes and vouchers, earn points."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import (
    CustomerRow,
    OfferAssignmentRow,
    OrderPunchRow,
    OrderRow,
    SiteRow,
)
from loyalty_gql.db.repositories import orders as orders_repo
from loyalty_gql.db.repositories.points.activities import unrewarded_referral_of
from loyalty_gql.db.repositories.sites import settings_of
from loyalty_gql.db.rows import flush, insert_new
from loyalty_gql.db.session import Session
from loyalty_gql.domain.campaigns import Outcome, Trigger
from loyalty_gql.domain.checkout import Quote
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.orders import OrderStatus, QuoteExpectation
from loyalty_gql.domain.points import SourceType
from loyalty_gql.domain.values import Money
from loyalty_gql.services.campaigns import apply_awards, award_trigger, referral_source_key
from loyalty_gql.services.checkout import Basket, Priced, price, quote_document
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
from loyalty_gql.services.points import referral_reward
from loyalty_gql.services.points.ledger import AccountBook, Source, ledger_key, open_book


async def record_order(
    db: Database,
    *,
    site_id: int,
    order_id: str,
    customer_id: int | None,
    basket: Callable[[str], Basket],
    retry: Idempotency,
    actor: Actor,
    clock: Clock,
    expected: Callable[[str], QuoteExpectation | None] | None = None,
) -> OrderRow:
    """Store the order with exactly the checkout's quote and apply its effects.

    ``basket`` (and ``expected``) give the basket (and what the caller expects of its
    quote) with amounts in a currency: the site's, read under the order's lock, so the
    caller reads no site before the transaction (a replay: the recorded order's).

    Idempotent on (site, order id): the same order again returns the stored
    order; the same id with other contents is ORDER_ALREADY_RECORDED. ``retry``
    names the operation (the API: ``recordOrder``), part of the order's fingerprint.
    With ``expected``, a recalculation that differs from it is QUOTE_CHANGED and
    nothing is written; it is not part of the fingerprint, so a retry that adds it
    still replays (and is ORDER_ALREADY_RECORDED if the stored order differs from it).
    """
    order_id = checked_order_id(order_id)
    now = clock()

    def asked(currency: str) -> tuple[Basket, QuoteExpectation | None, str]:
        """The basket and the expectation in ``currency``, checked, and the fingerprint."""
        in_currency = basket(currency)
        in_currency.check()
        expectation = expected(currency) if expected is not None else None
        if expectation is not None:
            expectation.check()
        fingerprint = request_fingerprint(
            retry.operation, {"customer": customer_id, **in_currency.request()}
        )
        return in_currency, expectation, fingerprint

    async def work(uow: UnitOfWork) -> OrderRow:
        session = uow.session
        await order_lock(uow, site_id, order_id)
        existing_id = await orders_repo.recorded_order_id(session, site_id, order_id)
        existing = await orders_repo.order_by_id(session, existing_id) if existing_id else None
        if existing is not None:
            _, expectation, fingerprint = asked(existing.currency)
            if existing.request_hash != fingerprint:
                raise DomainError.single(
                    ErrorCode.ORDER_ALREADY_RECORDED,
                    f"order {order_id} was already recorded with other contents",
                    "order_id",
                )
            _check_replay(existing, expectation)
            return existing
        site, customer = await orders_repo.site_and_customer(session, site_id, customer_id)
        if site is None:
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such site", "site_id")
        checked, expected_quote, fingerprint = asked(site.currency)
        book = None
        if customer_id is not None:
            if customer is None:
                raise DomainError.single(ErrorCode.NOT_FOUND, "no such customer", "customer_id")
            if site.program_enabled and customer.enrolled_at is not None:
                # the account's lock, first; the site's tiers come with it: the earn
                # multiplier (pricing finds the account's tier in the session) and the
                # upgrade after the order
                book = await open_book(uow, site, customer, now)
            elif uow.is_postgres:
                # no account to lock: the customer row keeps per-customer limits honest
                await orders_repo.lock_customer(session, customer.id)
        priced = await price(
            session, site, customer, checked, now,
            account=book.account if book else None, lock=uow.is_postgres,
        )  # fmt: skip
        if expected_quote is not None:
            quote, payment = priced.quote, priced.quote.points_payment
            expected_quote.check_quote(
                site.currency, total=quote.total, points=quote.points if book else 0,
                points_paid=payment.used if payment and book else 0,
            )  # fmt: skip
        order = _new_order(site, customer, order_id, priced, fingerprint, actor, now, book)
        if book is not None:
            # the ledger first: the order's row is then inserted with its entries' ids
            await _earn(uow, book, order, priced.quote, str(actor))
        await insert_new(session, order)
        if book is not None and not book.settings.order_points_pending:
            # the order's points count at once: so does the friend's first order, once
            # the order has its id (the link records which order rewarded it)
            await reward_order_referral(uow, book, order)
        if book is not None and priced.campaigns.awards:
            await _earn_campaigns(book, order, priced.campaigns, str(actor))
        await _consume(session, order, priced.quote, customer, priced.assignments, now)
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
    priced: Priced,
    fingerprint: str,
    actor: Actor,
    now: datetime,
    book: AccountBook | None,
) -> OrderRow:
    quote = priced.quote
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
        campaign_points=priced.campaigns.points if book is not None else 0,
        quote=quote_document(quote, priced.campaigns),
        request_hash=fingerprint,
        actor=str(actor),
        created_at=now,
        updated_at=now,
    )


def _lines(order: OrderRow, quote: Quote) -> list[dict[str, object]]:
    return [
        {
            "order_id": order.id, "site_id": order.site_id, "line_id": q.line.line_id,
            "product_id": q.line.product_id, "category": q.line.category,
            "quantity": q.line.quantity, "unit_price_minor": q.line.unit_price,
            "original_minor": q.original, "discount_minor": q.discount,
            "final_minor": q.final, "earns_points": q.earns_points, "refunded_quantity": 0,
            "refunded_minor": 0,
        }
        for q in quote.lines
    ]  # fmt: skip


def _offer_uses(order: OrderRow, quote: Quote) -> list[dict[str, object]]:
    return [
        {
            "order_id": order.id, "site_id": order.site_id, "offer_id": a.candidate.offer_id,
            "origin": a.candidate.origin.value, "voucher_id": a.candidate.voucher_id,
            "coupon_code_id": a.candidate.coupon_code_id, "discount_minor": a.amount,
            "reward_points": a.reward_points if order.points else 0,
            "counted_use": bool(a.candidate.counts_use and a.candidate.offer_id),
            "customer_id": order.customer_id, "created_at": order.created_at,
            "cancelled": False, "order_value_minor": order.total_minor, "given_back_at": None,
        }
        for a in quote.applied
    ]  # fmt: skip


async def _consume(  # noqa: PLR0917
    session: Session,
    order: OrderRow,
    quote: Quote,
    customer: CustomerRow | None,
    assignments: dict[int, OfferAssignmentRow],
    now: datetime,
) -> None:
    """Count uses, use up vouchers and codes, move punches; write the order's lines, the
    offers it used and its event. The rows are locked (or the SQLite write lock is held),
    so each conditional UPDATE must hit all of its rows.

    Rows are locked in one order everywhere (cancelling and refunds follow it too): the
    customer's account, offers with a usage limit, single-use codes, vouchers, campaigns
    with a budget (all locked before or while pricing, the budgets spent by
    _earn_campaigns before this), then offers without a limit, each statement in id
    order. The offers without a limit are nobody's lock but every order's counter: they
    change last, just before the commit, so concurrent orders of the same products wait
    for each other as briefly as they can.
    """
    uses = Counter(
        a.candidate.offer_id or 0
        for a in quote.applied
        if a.candidate.counts_use and a.candidate.offer_id
    )
    limited = {c.offer_id for a in quote.applied if (c := a.candidate).terms.max_uses is not None}
    await _count_uses(session, {pk: n for pk, n in uses.items() if pk in limited})
    used = [a.candidate for a in quote.applied]
    codes = sorted({c.coupon_code_id for c in used if c.coupon_code_id})
    if codes:
        expect_changed(await orders_repo.use_coupon_codes(session, codes, now))
    vouchers = sorted({c.voucher_id for c in used if c.voucher_id})
    if vouchers:
        expect_changed(await orders_repo.use_vouchers(session, vouchers, now))
    await orders_repo.add_order_lines(session, _lines(order, quote))
    await orders_repo.add_order_offers(session, _offer_uses(order, quote))
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
    await flush(session)
    await order_event(session, order, "ORDER_RECORDED", now)
    if customer is not None and uses:
        # the customer's rows: under the account's (or the customer's) lock
        await orders_repo.add_customer_uses(session, customer.id, dict(sorted(uses.items())))
    unlimited = {pk: n for pk, n in uses.items() if pk not in limited}
    for n, ids in _by_count(unlimited):
        expect_changed(await orders_repo.count_unlimited_offer_uses(session, order.id, ids, n))


async def _count_uses(session: Session, uses: dict[int, int]) -> None:
    """``uses[offer_id]`` more uses of each offer: a statement per distinct count (one:
    an order uses an offer once)."""
    for n, ids in _by_count(uses):
        expect_changed(await orders_repo.count_offer_uses(session, ids, n))


def _by_count(uses: dict[int, int]) -> list[tuple[int, list[int]]]:
    """The offers grouped by their count of uses (one group: an order uses an offer
    once), each group's ids in order: one counting statement per group."""
    return [
        (n, sorted(pk for pk, count in uses.items() if count == n))
        for n in sorted(set(uses.values()))
    ]


async def _earn(
    uow: UnitOfWork, book: AccountBook, order: OrderRow, quote: Quote, actor: str
) -> None:
    """Pay with points, earn the order's points, note the order (the referral reward
    follows once the order is inserted).

    Points that stay pending until completion (or none earned) change no tier measure,
    so the order is noted first: the account's row is then written once, with the
    entries. Points available at once are noted after, so the upgrades and the
    threshold rewards their gain triggers come in the order they always did."""
    source = Source(SourceType.ORDER, actor, order.external_id)
    spent = Money(quote.total, order.currency)
    pending = book.settings.order_points_pending
    noted_first = pending or order.points == 0
    if noted_first:
        await book.note_order(spent)
    if order.points_paid > 0:
        spend = await book.spend(
            order.points_paid, source, ledger_key("order-pay", order.site_id, order.external_id)
        )
        order.spend_entry_id = spend.id
    if order.points > 0:
        entry = await book.earn(
            order.points, source, ledger_key("order", order.site_id, order.external_id),
            pending=pending,
        )  # fmt: skip
        order.earn_entry_id = entry.id
    if not noted_first:
        await book.note_order(spent)
    order.threshold_voucher_ids = [v.id for v in book.vouchers]


async def _earn_campaigns(book: AccountBook, order: OrderRow, outcome: Outcome, actor: str) -> None:
    """Each campaign's points one entry naming it, pending like the order's own points;
    the budgets spent (their rows locked while pricing)."""
    await apply_awards(
        book, outcome, Trigger.ORDER, ledger_key("order", order.external_id),
        actor=actor, ref=order.external_id, order_id=order.id,
        pending=book.settings.order_points_pending,
    )  # fmt: skip


async def reward_order_referral(uow: UnitOfWork, book: AccountBook, order: OrderRow) -> None:
    """The referrer earns on the friend's first order once it counts: when recorded if
    order points are final at once, else when completed: the site's referralPoints and
    the REFERRAL_COMPLETED campaigns (each once per link and order: the award's key
    names both, and a cancelled order gives the link back, its rewards taken back).

    The link is the friend's ReferralRow, made by a referral code (services.referrals)
    or the REFERRAL activity; an order that gives nothing (no referralPoints, no
    campaign applies) leaves it for the next one."""
    site = book.site
    if settings_of(site).referral_points <= 0 and site.campaigns_version == 0:
        return  # nothing a link could earn: no need to read it
    link = await unrewarded_referral_of(uow.session, book.customer.id)
    if link is None:
        return
    referrer, entry = await referral_reward(
        uow, link, book.customer, site, book.now, order_ref=order.external_id
    )
    if referrer is None:
        return
    awarded = await award_trigger(
        uow, site, referrer.customer, Trigger.REFERRAL_COMPLETED, book.now,
        source_key=referral_source_key(link.id, order.external_id), book=referrer,
    )  # fmt: skip
    if entry is None and not awarded:
        return
    if entry is not None:
        order.referral_entry_id = entry.id
    order.referral_id = link.id
    link.rewarded_order_id = order.id
