"""Applying campaigns' awards inside another use case's transaction: each campaign's
points one ledger entry naming it (or its voucher), a campaign_awards row, the budget
spent by a conditional UPDATE, an event; and taking them back (refunds, cancellations),
their budget given back."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from loyalty_gql.db.models import CampaignAwardRow, LedgerEntryRow, VoucherRow
from loyalty_gql.db.repositories import campaigns as repo
from loyalty_gql.db.repositories.offers.catalog import offers_by_ids
from loyalty_gql.db.repositories.points import ledger as points_repo
from loyalty_gql.domain.campaigns import AmountScope, Award, Outcome, Trigger
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.offers import OfferStatus
from loyalty_gql.domain.points import EntryKind, SourceType, VoucherStatus
from loyalty_gql.services.gamification.badges import GrantKind, GrantSource, grant_badge
from loyalty_gql.services.points.ledger import AccountBook, Source, ledger_key, new_voucher_code

EVENT = "CAMPAIGN_POINTS_EARNED"


@dataclass(frozen=True, slots=True)
class Awarded:
    """One award written: its row, its ledger entry and its voucher."""

    row: CampaignAwardRow
    entry: LedgerEntryRow | None  # None: a voucher campaign's award
    voucher: VoucherRow | None = None


async def apply_awards(
    book: AccountBook,
    outcome: Outcome,
    trigger: Trigger,
    source_key: str,
    *,
    actor: str,
    ref: str | None,
    order_id: int | None = None,
    pending: bool = False,
) -> list[Awarded]:
    """Write the outcome's awards (those with points, or a voucher), in campaign id order:
    the budgets are spent in the order their rows were locked. A budget the UPDATE cannot
    spend from is CONCURRENT_UPDATE (its row is locked, so only a bug explains it): the
    transaction rolls back."""
    written: list[Awarded] = []
    for award in sorted(outcome.awards, key=lambda a: a.campaign.id):
        if not award.gives_anything:
            continue
        done = await _apply(book, award, trigger, source_key, actor, ref, order_id, pending)
        if done is not None:
            written.append(done)
    return written


async def _apply(  # noqa: PLR0917
    book: AccountBook,
    award: Award,
    trigger: Trigger,
    source_key: str,
    actor: str,
    ref: str | None,
    order_id: int | None,
    pending: bool,
) -> Awarded | None:
    campaign = award.campaign
    session = book.session
    key = ledger_key("campaign", campaign.id, source_key)
    voucher = None
    if award.reward_offer_id is not None:
        voucher = await _voucher(book, award.reward_offer_id)
        if voucher is None:
            return None  # its offer was deleted since: nothing to give
    if award.badge_code is not None and not await _badge(book, award.badge_code, source_key):
        return None  # held already (granted since the evaluation), or its type is gone
    entry = None
    if award.points > 0:
        if campaign.limits.budget_points is not None and not await repo.spend_budget(
            session, book.site.id, campaign.id, award.points
        ):  # pragma: no cover - the row is locked (or SQLite's write lock is held)
            raise DomainError.single(
                ErrorCode.CONCURRENT_UPDATE,
                "a concurrent order spent the campaign's budget; retry",
            )
        source = Source(
            SourceType.CAMPAIGN, actor, ref, reason=f"campaign {campaign.id}: {campaign.name}"
        )
        entry = await book.earn(award.points, source, key, pending=pending)
    row = CampaignAwardRow(
        site_id=book.site.id, campaign_id=campaign.id, customer_id=book.customer.id,
        order_id=order_id, ledger_entry_id=entry.id if entry else None,
        voucher_id=voucher.id if voucher else None, trigger=trigger.value,
        source_key=source_key, points=award.points, points_taken_back=0, cancelled=False,
        qualifying=[list(q) for q in award.qualifying]
        if campaign.effect.scope is AmountScope.QUALIFYING_LINES and campaign.conditions.has_scope
        else None,
        awarded_at=book.now,
    )  # fmt: skip
    session.add(row)
    await points_repo.add_event_once(
        session,
        site_id=book.site.id,
        customer_id=book.customer.id,
        kind=EVENT,
        dedupe_key=key,
        payload={
            "campaign_id": campaign.id,
            "campaign_name": campaign.name,
            "trigger": trigger.value,
            "points": award.points,
            "pending": pending and entry is not None,
            "order_id": ref if trigger is Trigger.ORDER else None,
            **({"voucher_code": voucher.code, "voucher_id": voucher.id} if voucher else {}),
            **({"badge_code": award.badge_code} if award.badge_code else {}),
        },
        now=book.now,
    )
    return Awarded(row, entry, voucher)


async def _badge(book: AccountBook, code: str, source_key: str) -> bool:
    """Grant the campaign's badge (BADGE_EARNED in the outbox); False when the customer
    holds it already or the site no longer has it (the rest of the event goes on)."""
    source = GrantSource(GrantKind.CAMPAIGN, "system:campaign", ref=source_key)
    try:
        return await grant_badge(
            book.uow, book.site, book.customer, code, source=source, at=book.now
        )
    except DomainError:
        return False


async def _voucher(book: AccountBook, offer_id: int) -> VoucherRow | None:
    """A voucher of the reward or coupon offer for the customer, free (none when the
    offer was deleted since the campaign was made)."""
    offer = (await offers_by_ids(book.session, [offer_id])).get(offer_id)
    if offer is None or offer.status == OfferStatus.DELETED.value:
        return None
    voucher = VoucherRow(
        site_id=book.site.id, customer_id=book.customer.id, code=new_voucher_code(),
        source=SourceType.CAMPAIGN.value, offer_id=offer.id, value_type=offer.value_type,
        value=offer.value if offer.value is not None else Decimal(0),
        minimum_order_minor=offer.minimum_order_minor, currency=book.site.currency,
        status=VoucherStatus.ACTIVE, points_spent=0, ledger_entry_id=None,
        issued_at=book.now, expires_at=offer.valid_until,
    )  # fmt: skip
    book.session.add(voucher)
    await book.session.flush()
    return voucher


async def activate_awards(book: AccountBook, awards: list[CampaignAwardRow], step: str) -> None:
    """Pending awards' points become available (the order completed)."""
    for award in awards:
        entry = await _entry(book, award.ledger_entry_id)
        if entry is None or entry.kind != EntryKind.PENDING.value or award.cancelled:
            continue
        _, done_pending, _ = await points_repo.reversed_so_far(book.session, entry.id)
        if entry.pending_points + done_pending <= 0:
            continue
        activated = await book.activate(
            entry, ledger_key(step, award.id), pending_reversed=done_pending
        )
        award.activate_entry_id = activated.id


async def take_back_award(
    book: AccountBook, award: CampaignAwardRow, points: int | None, source: Source, step: str
) -> int:
    """Take back ``points`` (None: all that is left) of the award, from the pending entry
    before completion, from the activated points after (what the customer no longer holds
    is written off). The points taken back: the caller gives them back to the budget
    (give_back_budgets) where the lock order puts campaigns."""
    if points is None and award.voucher_id is not None and not award.cancelled:
        # the order is cancelled: its campaign's voucher goes too while unused
        voucher = await book.session.get(VoucherRow, award.voucher_id)
        if voucher is not None and voucher.status == VoucherStatus.ACTIVE:
            voucher.status = VoucherStatus.CANCELLED
        award.cancelled = award.points_taken_back >= award.points
    left = award.points - award.points_taken_back
    wanted = left if points is None else min(points, left)
    if wanted <= 0:
        return 0
    entry = await _entry(book, award.activate_entry_id or award.ledger_entry_id)
    if entry is not None:
        pending = entry.kind == EntryKind.PENDING.value
        taking = wanted if pending else min(wanted, await book.reversible(entry))
        if taking > 0:
            key = ledger_key(step, award.id, award.points_taken_back)
            await book.reverse(entry, taking, source, key)
    award.points_taken_back += wanted
    if award.points_taken_back >= award.points and points is None:
        award.cancelled = True
    return wanted


async def give_back_budgets(book: AccountBook, taken: dict[int, int]) -> None:
    """The budgets of these campaigns get ``taken[campaign id]`` points back, in id order
    (campaigns without a budget are left alone, and unlocked)."""
    for campaign_id, points in sorted(taken.items()):
        if points > 0:
            await repo.give_back_budget(book.session, book.site.id, campaign_id, points)


async def _entry(book: AccountBook, entry_id: int | None) -> LedgerEntryRow | None:
    if entry_id is None:
        return None
    return await book.session.get(LedgerEntryRow, entry_id)
