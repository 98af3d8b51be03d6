"""Use cases on points: grants, spends, activities, activation and reversal.

Each runs in one transaction through `run_once`, so a retry with the same
idempotency key returns the first result and writes nothing twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import CustomerRow, LedgerEntryRow, ReferralRow, SiteRow
from loyalty_gql.db.repositories.customers import customer_by_id
from loyalty_gql.db.repositories.sites import settings_of, site_by_id
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.ledger import SourceType, check_points
from loyalty_gql.services.common import Actor, Clock
from loyalty_gql.services.idempotency import run_once
from loyalty_gql.services.ledger import (
    AccountBook,
    Source,
    auto_key,
    entry_by_key,
    ledger_key,
    open_book,
)
from loyalty_gql.services.uow import UnitOfWork

MAX_REASON = 500
MAX_REFERENCE = 200


@dataclass(frozen=True, slots=True)
class Participant:
    """A customer with their site, checked to take part in the program."""

    site: SiteRow
    customer: CustomerRow


async def participant(
    uow: UnitOfWork, customer_id: int, *, need_program: bool = True, need_enrolled: bool = True
) -> Participant:
    """The customer and site, refusing with PROGRAM_DISABLED or NOT_ENROLLED."""
    customer = await customer_by_id(uow.session, customer_id)
    if customer is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such customer", "customerId")
    site = await site_by_id(uow.session, customer.site_id)
    if site is None:  # pragma: no cover - foreign key
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such site")
    if need_program and not site.program_enabled:
        raise DomainError.single(
            ErrorCode.PROGRAM_DISABLED, "the loyalty program of this site is switched off"
        )
    if need_enrolled and customer.enrolled_at is None:
        raise DomainError.single(
            ErrorCode.NOT_ENROLLED, "the customer is not enrolled in the program", "customerId"
        )
    return Participant(site, customer)


async def _book(uow: UnitOfWork, who: Participant, now: datetime) -> AccountBook:
    return await open_book(uow, who.site, who.customer, now)


def _entry_outcome(entry: LedgerEntryRow) -> dict[str, Any]:
    return {"entry": entry.id}


async def _load_entry(session: AsyncSession, stored: dict[str, Any]) -> LedgerEntryRow:
    entry = await session.get(LedgerEntryRow, stored["entry"])
    if entry is None:  # pragma: no cover - entries are never deleted
        raise DomainError.single(ErrorCode.NOT_FOUND, "the entry is gone")
    return entry


def _entry_key(prefix: str, owner: int, idempotency_key: str | None) -> str:
    """The ledger key of an entry: derived from the caller's key, else a fresh one."""
    return ledger_key(prefix, owner, idempotency_key) if idempotency_key else auto_key(prefix)


async def _entry_once(
    db: Database,
    *,
    scope: str,
    key: str | None,
    operation: str,
    request: dict[str, Any],
    now: datetime,
    work: Callable[[UnitOfWork], Awaitable[LedgerEntryRow]],
) -> LedgerEntryRow:
    """run_once for use cases whose result is one ledger entry."""
    return await run_once(
        db, scope=scope, key=key, operation=operation, request=request, now=now, work=work,
        dump=_entry_outcome, load=_load_entry,
    )  # fmt: skip


def _reason(reason: str | None, *, required: bool) -> str | None:
    text = (reason or "").strip()
    if required and not text:
        raise DomainError.single(ErrorCode.REQUIRED, "give a reason", "reason")
    if len(text) > MAX_REASON:
        raise DomainError.single(
            ErrorCode.INVALID_VALUE, f"at most {MAX_REASON} characters", "reason"
        )
    return text or None


async def grant_points(
    db: Database,
    *,
    customer_id: int,
    points: int,
    reason: str,
    actor: Actor,
    clock: Clock,
    idempotency_key: str | None = None,
) -> LedgerEntryRow:
    """An admin adds (positive) or removes (negative) points, with a reason."""
    check_points(points, allow_negative=True)
    why = _reason(reason, required=True)
    now = clock()

    async def work(uow: UnitOfWork) -> LedgerEntryRow:
        who = await participant(uow, customer_id, need_program=False, need_enrolled=points > 0)
        book = await _book(uow, who, now)
        source = Source(SourceType.ADMIN, str(actor), reason=why)
        key = _entry_key("grant", customer_id, idempotency_key)
        return await book.adjust(points, source, key)

    return await _entry_once(
        db, scope=f"customer:{customer_id}", key=idempotency_key, operation="grantPoints",
        request={"customer": customer_id, "points": points, "reason": why}, now=now, work=work,
    )  # fmt: skip


async def spend_points(
    db: Database,
    *,
    customer_id: int,
    points: int,
    source_ref: str | None,
    actor: Actor,
    clock: Clock,
    idempotency_key: str | None = None,
) -> LedgerEntryRow:
    """Spend a customer's points (oldest-expiring first); INSUFFICIENT_POINTS otherwise."""
    check_points(points)
    now = clock()

    async def work(uow: UnitOfWork) -> LedgerEntryRow:
        who = await participant(uow, customer_id)
        book = await _book(uow, who, now)
        key = _entry_key("spend", customer_id, idempotency_key)
        return await book.spend(points, Source(SourceType.OFFER, str(actor), source_ref), key)

    return await _entry_once(
        db, scope=f"customer:{customer_id}", key=idempotency_key, operation="spendPoints",
        request={"customer": customer_id, "points": points, "ref": source_ref}, now=now, work=work,
    )  # fmt: skip


async def earn_points(
    db: Database,
    *,
    customer_id: int,
    points: int,
    pending: bool,
    source: SourceType,
    source_ref: str | None,
    actor: Actor,
    clock: Clock,
    idempotency_key: str | None = None,
) -> LedgerEntryRow:
    """Credit points (pending or available); an ORDER source also resets rolling expiry."""
    check_points(points)
    now = clock()

    async def work(uow: UnitOfWork) -> LedgerEntryRow:
        who = await participant(uow, customer_id)
        book = await _book(uow, who, now)
        key = _entry_key("earn", customer_id, idempotency_key)
        if source is SourceType.ORDER:
            await book.note_order(None)
        return await book.earn(points, Source(source, str(actor), source_ref), key, pending=pending)

    return await _entry_once(
        db, scope=f"customer:{customer_id}", key=idempotency_key, operation="earnPoints",
        request={"customer": customer_id, "points": points, "pending": pending,
                 "source": source.value, "ref": source_ref}, now=now, work=work,
    )  # fmt: skip  # fmt: skip


async def activate_points(
    db: Database, *, entry_id: int, actor: Actor, clock: Clock, idempotency_key: str | None = None
) -> LedgerEntryRow:
    """Make a PENDING entry's points available."""
    now = clock()

    async def work(uow: UnitOfWork) -> LedgerEntryRow:
        pending = await _entry(uow, entry_id)
        who = await participant(uow, pending.customer_id, need_program=False)
        book = await _book(uow, who, now)
        key = ledger_key("activate", entry_id, idempotency_key or "")
        return await book.activate(pending, key)

    return await _entry_once(
        db, scope=f"entry:{entry_id}", key=idempotency_key, operation="activatePoints",
        request={"entry": entry_id}, now=now, work=work,
    )  # fmt: skip


async def reverse_entry(
    db: Database,
    *,
    entry_id: int,
    points: int | None,
    reason: str | None,
    actor: Actor,
    clock: Clock,
    idempotency_key: str | None = None,
) -> LedgerEntryRow:
    """Undo an entry in whole or in part (refunds, cancellations, corrections)."""
    why = _reason(reason, required=False)
    now = clock()

    async def work(uow: UnitOfWork) -> LedgerEntryRow:
        original = await _entry(uow, entry_id)
        who = await participant(uow, original.customer_id, need_program=False, need_enrolled=False)
        book = await _book(uow, who, now)
        key = _entry_key("reverse", entry_id, idempotency_key)
        source = Source(SourceType.REVERSAL, str(actor), original.source_ref, why)
        return await book.reverse(original, points, source, key)

    return await _entry_once(
        db, scope=f"entry:{entry_id}", key=idempotency_key, operation="reverseEntry",
        request={"entry": entry_id, "points": points, "reason": why}, now=now, work=work,
    )  # fmt: skip


async def record_activity(
    db: Database,
    *,
    customer_id: int,
    activity: str,
    reference: str | None,
    referred_customer_id: int | None,
    actor: Actor,
    clock: Clock,
    idempotency_key: str | None = None,
) -> LedgerEntryRow | ReferralRow:
    """Reward an activity: newsletter sign-up (once), product review (once per product),
    a custom activity (within its daily cap), or record a referral (rewarded later)."""
    code = activity.strip().upper()
    ref = (reference or "").strip() or None
    if not code:
        raise DomainError.single(ErrorCode.REQUIRED, "name the activity", "activity")
    if ref is not None and len(ref) > MAX_REFERENCE:
        raise DomainError.single(
            ErrorCode.INVALID_VALUE, f"at most {MAX_REFERENCE} characters", "reference"
        )
    now = clock()

    async def work(uow: UnitOfWork) -> LedgerEntryRow | ReferralRow:
        who = await participant(uow, customer_id)
        if code == "REFERRAL":
            return await _record_referral(uow, who, referred_customer_id, now)
        settings = settings_of(who.site)
        points, key = _activity_terms(settings, code, ref, customer_id, idempotency_key)
        # Lock the account first: the once-only and daily-cap checks below must see
        # every earlier activity of this customer, including concurrent ones.
        book = await _book(uow, who, now)
        if key is not None and await entry_by_key(uow, who.site.id, key) is not None:
            raise DomainError.single(
                ErrorCode.ACTIVITY_ALREADY_REWARDED,
                _already_message(code),
                "reference" if code == "PRODUCT_REVIEW" else "activity",
            )
        custom = settings.custom_activity(code)
        if custom is not None and custom.daily_cap is not None:
            await _check_daily_cap(uow, customer_id, code, custom.daily_cap, now)
        source = Source(SourceType.ACTIVITY, str(actor), ref, activity_code=code)
        return await book.earn(points, source, key or auto_key(f"activity:{code}"))

    return await run_once(
        db,
        scope=f"customer:{customer_id}",
        key=idempotency_key,
        operation="recordActivity",
        request={"customer": customer_id, "activity": code, "ref": ref,
                 "referred": referred_customer_id},
        now=now,
        work=work,
        dump=_activity_outcome,
        load=_load_activity,
    )  # fmt: skip


def _activity_terms(
    settings: Any, code: str, ref: str | None, customer_id: int, key: str | None
) -> tuple[int, str | None]:
    """Points for the activity and the natural key that limits it (None: no limit)."""
    natural: str | None
    if code == "NEWSLETTER_SIGNUP":
        points, natural = (
            settings.newsletter_signup_points,
            ledger_key("activity", code, customer_id),
        )
    elif code == "PRODUCT_REVIEW":
        if ref is None:
            raise DomainError.single(
                ErrorCode.REQUIRED, "name the reviewed product in reference", "reference"
            )
        points = settings.product_review_points
        natural = ledger_key("activity", code, customer_id, ref)
    else:
        custom = settings.custom_activity(code)
        if custom is None:
            raise DomainError.single(
                ErrorCode.ACTIVITY_NOT_CONFIGURED, f"{code} is not an activity of this site",
                "activity",
            )  # fmt: skip
        points = custom.points
        natural = ledger_key("activity", code, customer_id, key) if key else None
    if points <= 0:
        raise DomainError.single(
            ErrorCode.ACTIVITY_NOT_CONFIGURED, f"{code} earns no points on this site", "activity"
        )
    return points, natural


def _already_message(code: str) -> str:
    if code == "PRODUCT_REVIEW":
        return "a review of this product was already rewarded"
    return f"{code} was already rewarded for this customer"


async def _check_daily_cap(
    uow: UnitOfWork, customer_id: int, code: str, cap: int, now: datetime
) -> None:
    day_start = datetime.combine(now.date(), time.min, tzinfo=UTC)
    count = await uow.session.scalar(
        select(func.count()).where(
            LedgerEntryRow.customer_id == customer_id,
            LedgerEntryRow.activity_code == code,
            LedgerEntryRow.kind == "EARNED",
            LedgerEntryRow.created_at >= day_start,
        )
    )
    if (count or 0) >= cap:
        raise DomainError.single(
            ErrorCode.DAILY_CAP_REACHED, f"{code} earns points at most {cap} times a day",
            "activity",
        )  # fmt: skip


async def _record_referral(
    uow: UnitOfWork, who: Participant, referred_id: int | None, now: datetime
) -> ReferralRow:
    settings = settings_of(who.site)
    if settings.referral_points <= 0:
        raise DomainError.single(
            ErrorCode.ACTIVITY_NOT_CONFIGURED, "referrals earn no points on this site", "activity"
        )
    if referred_id is None:
        raise DomainError.single(
            ErrorCode.REQUIRED, "name the referred customer", "referredCustomerId"
        )
    if referred_id == who.customer.id:
        raise DomainError.single(
            ErrorCode.SELF_REFERRAL, "customers cannot refer themselves", "referredCustomerId"
        )
    referred = await customer_by_id(uow.session, referred_id)
    if referred is None or referred.site_id != who.site.id:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such customer", "referredCustomerId")
    existing = await uow.session.scalar(
        select(ReferralRow).where(ReferralRow.referred_id == referred_id)
    )
    if existing is not None:
        raise DomainError.single(
            ErrorCode.ACTIVITY_ALREADY_REWARDED,
            "this customer was already referred",
            "referredCustomerId",
        )
    row = ReferralRow(
        site_id=who.site.id, referrer_id=who.customer.id, referred_id=referred_id, created_at=now
    )
    uow.session.add(row)
    await uow.session.flush()
    return row


async def reward_referral(
    uow: UnitOfWork, referred: CustomerRow, site: SiteRow, now: datetime, order_ref: str
) -> LedgerEntryRow | None:
    """Hook for orders: the referrer of ``referred`` earns, once per referral.

    Called when the referred customer's first order counts (see services.orders);
    does nothing when there is no unrewarded referral. A cancelled order gives the
    referral back (its reward reversed), so the entry's key names the order.
    """
    referral = await uow.session.scalar(
        select(ReferralRow).where(
            ReferralRow.referred_id == referred.id, ReferralRow.rewarded_entry_id.is_(None)
        )
    )
    settings = settings_of(site)
    if referral is None or settings.referral_points <= 0 or not site.program_enabled:
        return None
    referrer = await customer_by_id(uow.session, referral.referrer_id)
    if referrer is None or referrer.enrolled_at is None:
        return None
    book = await open_book(uow, site, referrer, now)
    source = Source(
        SourceType.ACTIVITY, "system:referral", str(referred.external_id), activity_code="REFERRAL"
    )
    key = ledger_key("activity", "REFERRAL", referral.id, order_ref)
    entry = await book.earn(settings.referral_points, source, key)
    referral.rewarded_entry_id = entry.id
    return entry


def _activity_outcome(result: LedgerEntryRow | ReferralRow) -> dict[str, Any]:
    if isinstance(result, ReferralRow):
        return {"referral": result.id}
    return {"entry": result.id}


async def _load_activity(
    session: AsyncSession, stored: dict[str, Any]
) -> LedgerEntryRow | ReferralRow:
    if "referral" in stored:
        row = await session.get(ReferralRow, stored["referral"])
        if row is None:  # pragma: no cover
            raise DomainError.single(ErrorCode.NOT_FOUND, "the referral is gone")
        return row
    return await _load_entry(session, stored)


async def _entry(uow: UnitOfWork, entry_id: int) -> LedgerEntryRow:
    entry = await uow.session.get(LedgerEntryRow, entry_id)
    if entry is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such ledger entry", "entryId")
    return entry
