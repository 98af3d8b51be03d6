"""Completing and cancelling an order; cancelling undoes every effect of recording it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import CampaignAwardRow, OrderRow
from loyalty_gql.db.repositories import orders as orders_repo
from loyalty_gql.db.repositories.campaigns import awards_of_order
from loyalty_gql.db.repositories.customers import customer_by_id
from loyalty_gql.db.repositories.orders import ledger_entry
from loyalty_gql.db.repositories.points import ledger as points_repo
from loyalty_gql.db.repositories.points.activities import referral_by_id
from loyalty_gql.db.repositories.sites import settings_of, site_by_id
from loyalty_gql.db.session import Session
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.orders import OrderStatus
from loyalty_gql.domain.points import EntryKind, SourceType, VoucherStatus, rolling_expiry
from loyalty_gql.services.campaigns import (
    activate_awards,
    give_back_budgets,
    referral_source_key,
    take_back_award,
    take_back_trigger,
)
from loyalty_gql.services.core.common import Actor, Clock
from loyalty_gql.services.core.idempotency import Idempotency
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.gamification.progress import on_order_completed, on_order_uncounted
from loyalty_gql.services.leaderboards import count_amount_spent
from loyalty_gql.services.orders.common import (
    checked_order_id,
    locked_order,
    open_order_book,
    order_event,
    run_order_command,
)
from loyalty_gql.services.orders.record import reward_order_referral
from loyalty_gql.services.points.ledger import AccountBook, Source, ledger_key, open_book


async def complete_order(
    db: Database, *, site_id: int, order_id: str, retry: Idempotency, actor: Actor, clock: Clock
) -> OrderRow:
    """The order is final: its pending points become available. Again: no change."""
    now = clock()

    async def work(uow: UnitOfWork) -> OrderRow:
        order = await locked_order(uow, site_id, checked_order_id(order_id))
        if order.completed_at is not None:
            return order
        if order.status == OrderStatus.CANCELLED:
            raise DomainError.single(
                ErrorCode.INVALID_STATE, "a cancelled order cannot be completed", "order_id"
            )
        earned = await ledger_entry(uow.session, order.earn_entry_id)
        book = await open_order_book(uow, order, now) if order.member_order else None
        if book is not None and settings_of(book.site).order_points_pending:
            await reward_order_referral(uow, book, order)
        if book is not None and order.campaign_points > 0:
            # the campaigns' pending points first: the order's row changes once, below
            awards = await awards_of_order(uow.session, order.id)
            await activate_awards(book, awards, "order-complete-campaign")
        if book is not None and earned is not None and earned.kind == EntryKind.PENDING.value:
            _, done_pending, _ = await points_repo.reversed_so_far(uow.session, earned.id)
            if earned.pending_points + done_pending > 0:
                activated = await book.activate(
                    earned,
                    ledger_key("order-complete", order.site_id, order.external_id),
                    pending_reversed=done_pending,
                )
                order.activate_entry_id = activated.id
        if book is not None and book.vouchers:
            # threshold rewards the order's and its campaigns' points triggered
            order.threshold_voucher_ids = [
                *order.threshold_voucher_ids,
                *(v.id for v in book.vouchers),
            ]
        if order.status == OrderStatus.PLACED:
            order.status = OrderStatus.COMPLETED
        if book is not None:  # leaderboards of amount spent: what refunds left of it
            spent = order.total_minor - order.spend_uncounted_minor
            await count_amount_spent(uow, book.site, book.customer.id, spent, now)
        order.completed_at = now
        order.updated_at = now
        if book is not None:  # gamification: the order counts towards challenges
            await on_order_completed(uow, book, order)
        await order_event(uow.session, order, "ORDER_COMPLETED", now)
        await uow.session.flush()
        return order

    return await run_order_command(db, site_id, retry, work, now)


async def cancel_order(
    db: Database, *, site_id: int, order_id: str, retry: Idempotency, actor: Actor, clock: Clock
) -> OrderRow:
    """Undo the order: its points taken back, points it spent and vouchers it used given
    back (what refunds did not give back yet), codes and usage counts released, punches
    removed. Again: no change."""
    now = clock()

    async def work(uow: UnitOfWork) -> OrderRow:
        session = uow.session
        order = await locked_order(uow, site_id, checked_order_id(order_id))
        if order.status == OrderStatus.CANCELLED:
            return order
        source = Source(SourceType.ORDER, str(actor), order.external_id, reason="order cancelled")
        budgets: dict[int, int] = {}
        book = None
        if order.member_order:
            book = await open_order_book(uow, order, now)
            await _cancel_threshold_vouchers(book, order, source)
            await take_back(book, order, None, source, "order-cancel")
            budgets = await take_back_campaigns(book, order, None, source, "order-cancel")
            await give_back_paid(
                book, order, order.points_paid - order.points_given_back, source,
                "order-cancel-pay",
            )  # fmt: skip
            await _undo_note(book, order)
            await _cancel_referral(uow, order, source, now)
            await on_order_uncounted(uow, book, order, in_full=True)  # gamification
        await _release(session, order, book, budgets)
        order.status = OrderStatus.CANCELLED
        order.cancelled_at = now
        order.updated_at = now
        await order_event(session, order, "ORDER_CANCELLED", now)
        await session.flush()
        return order

    return await run_order_command(db, site_id, retry, work, now)


async def _cancel_threshold_vouchers(book: AccountBook, order: OrderRow, source: Source) -> None:
    """Rewards the order's points triggered go back while unused, with their points."""
    if not order.threshold_voucher_ids:
        return
    for voucher in await orders_repo.vouchers_by_ids(book.session, order.threshold_voucher_ids):
        spend = await ledger_entry(book.session, voucher.ledger_entry_id)
        if voucher.status == VoucherStatus.ACTIVE and spend is not None:
            await book.reverse(spend, None, source, ledger_key("order-cancel-reward", voucher.id))


async def take_back(
    book: AccountBook, order: OrderRow, points: int | None, source: Source, step: str
) -> int:
    """Take back ``points`` (None: all that is left) of what the order earned: from the
    pending entry before completion, from the activated points after. Points the
    customer no longer has are recorded on the order as not recovered."""
    entry = await ledger_entry(book.session, order.activate_entry_id or order.earn_entry_id)
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


async def take_back_campaigns(
    book: AccountBook,
    order: OrderRow,
    target: Callable[[CampaignAwardRow], int] | None,
    source: Source,
    step: str,
) -> dict[int, int]:
    """Take back of each campaign award of the order up to ``target(award)`` points in
    all (None: everything left); the points taken back per campaign, for its budget."""
    if order.campaign_points <= 0 and not order.quote.get("campaigns"):
        return {}  # no award (a voucher campaign's award gives no points: in the quote)
    taken: dict[int, int] = {}
    for award in await awards_of_order(book.session, order.id):
        wanted = None if target is None else target(award) - award.points_taken_back
        if wanted is not None and wanted <= 0:
            continue
        taken[award.campaign_id] = await take_back_award(book, award, wanted, source, step)
    return taken


async def give_back_paid(
    book: AccountBook, order: OrderRow, points: int, source: Source, step: str
) -> int:
    """Give back ``points`` of those the order paid with (none when 0 or less), to the
    lots they came from."""
    spend = await ledger_entry(book.session, order.spend_entry_id)
    points = min(points, order.points_paid - order.points_given_back)
    if spend is None or points <= 0:
        return 0
    key = ledger_key(step, order.site_id, order.external_id, order.points_given_back)
    await book.reverse(spend, points, source, key)
    order.points_given_back += points
    return points


async def uncount_spend(book: AccountBook, order: OrderRow, money: int, orders: int = 0) -> None:
    """``money`` of the order (and ``orders`` of it) no longer counts as the customer's
    spend: tier measures fall, on the day of the order."""
    if not money and not orders:
        return
    order.spend_uncounted_minor += money
    book.account.lifetime_spent_minor -= money
    await points_repo.add_to_customer_day(
        book.session, site_id=order.site_id, customer_id=order.customer_id or 0,
        day=order.created_at.date(), spent_minor=-money, orders=-orders,
    )  # fmt: skip
    if order.completed_at is not None and money:  # leaderboards count it from completion
        await count_amount_spent(book.uow, book.site, book.customer.id, -money, order.completed_at)


async def _undo_note(book: AccountBook, order: OrderRow) -> None:
    """The order no longer counts as spend (what refunds left of it); the expiry clock
    goes back if nothing happened since."""
    account = book.account
    await uncount_spend(book, order, order.total_minor - order.spend_uncounted_minor, orders=1)
    if account.last_order_at == order.created_at:
        account.last_order_at = order.previous_last_order_at
        settings = book.settings
        set_by_this_order = rolling_expiry(
            settings.validity_policy, settings.validity_days, order.created_at, settings.zone
        )
        if account.rolling_expires_at == set_by_this_order:
            # nothing extended the clock since (an activation would have)
            account.rolling_expires_at = order.previous_rolling_expires_at


async def _cancel_referral(uow: UnitOfWork, order: OrderRow, source: Source, now: datetime) -> None:
    """The order rewarded its customer's referrer: the referralPoints entry reversed and the
    referral campaigns' awards taken back (what the referrer still holds), and the link
    given back, so the friend's next order may reward it again."""
    if order.referral_id is None and order.referral_entry_id is None:
        return
    link = await referral_by_id(uow.session, order.referral_id) if order.referral_id else None
    entry = await ledger_entry(uow.session, order.referral_entry_id)
    referrer_id = link.referrer_id if link is not None else entry.customer_id if entry else None
    site = await site_by_id(uow.session, order.site_id)
    referrer = await customer_by_id(uow.session, referrer_id) if referrer_id else None
    if site is None or referrer is None:  # pragma: no cover - foreign keys
        return
    book = await open_book(uow, site, referrer, now)
    if entry is not None:
        *_, done_earned = await points_repo.reversed_so_far(uow.session, entry.id)
        left = entry.points + done_earned
        taking = min(left, await book.reversible(entry))
        if taking > 0:
            await book.reverse(
                entry, taking, source, ledger_key("order-cancel-referral", order.site_id,
                                                  order.external_id),
            )  # fmt: skip
    if link is None:
        # an order recorded before referral campaigns: the link is found by its entry
        await orders_repo.forget_referral_reward(uow.session, entry.id if entry else 0)
        return
    if site.campaigns_version:
        key = referral_source_key(link.id, order.external_id)
        await take_back_trigger(book, key, source, "order-cancel-referral-campaign")
    link.rewarded_entry_id = None
    link.rewarded_order_id = None


async def _release(
    session: Session, order: OrderRow, book: AccountBook | None, budgets: dict[int, int]
) -> None:
    """Uncount uses, give back codes, vouchers and campaign budgets, remove punches. Rows
    are changed in the order recording locks them: offers with a usage limit, single-use
    codes, vouchers, campaigns with a budget, then offers without a limit, each by id."""
    used = await orders_repo.offers_of_order(session, order.id)
    counted = sorted({r.offer_id for r in used if r.counted_use and r.offer_id})
    limits: dict[int, int | None] = {}
    if counted:
        limits = await orders_repo.usage_limits(session, counted)

    async def uncount(offer_ids: list[int]) -> None:
        for offer_id in offer_ids:
            await orders_repo.uncount_offer_use(session, offer_id)
            if order.customer_id is not None:
                await orders_repo.add_customer_use(session, offer_id, order.customer_id, -1)

    await uncount([pk for pk in counted if limits.get(pk) is not None])
    for code_id in sorted({r.coupon_code_id for r in used if r.coupon_code_id}):
        await orders_repo.release_coupon_code(session, code_id)
    # a voucher a refund gave back may be another order's now
    for voucher_id in sorted({r.voucher_id for r in used if r.voucher_id and not r.given_back_at}):
        await orders_repo.release_voucher(session, voucher_id)
    if book is not None and budgets:
        await give_back_budgets(book, budgets)
    await uncount([pk for pk in counted if limits.get(pk) is None])
    if used:
        await orders_repo.cancel_offers_of_order(session, order.id)
    for punch in await orders_repo.punches_of_order(session, order.id):
        assignment = await orders_repo.assignment_by_id(session, punch.assignment_id)
        if assignment is not None:
            assignment.punches = max(0, assignment.punches + punch.before - punch.after)
