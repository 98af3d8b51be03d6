"""Activities that earn points (newsletter, reviews, custom ones, referrals), each once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import CustomerRow, LedgerEntryRow, ReferralRow, SiteRow
from loyalty_gql.db.repositories.customers import customer_by_id
from loyalty_gql.db.repositories.points.activities import (
    activity_earnings_since,
    referral_by_id,
    unrewarded_referral_of,
)
from loyalty_gql.db.repositories.sites import settings_of
from loyalty_gql.db.session import Session
from loyalty_gql.domain.campaigns import Trigger
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.points import SourceType
from loyalty_gql.services.core.common import Actor, Clock
from loyalty_gql.services.core.idempotency import Idempotency, run_once
from loyalty_gql.services.core.triggers import Triggered, triggered
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.customers import check_referral
from loyalty_gql.services.points.entries import (
    MAX_REFERENCE,
    Participant,
    load_entry,
    open_customer_book,
    participant,
)
from loyalty_gql.services.points.ledger import (
    AccountBook,
    Source,
    auto_key,
    entry_by_key,
    ledger_key,
    open_book,
)

# what runs after an activity's entry is written, in its transaction
ActivityHook = Callable[[UnitOfWork, AccountBook, LedgerEntryRow], Awaitable[None]]


async def record_activity(
    db: Database,
    *,
    customer_id: int,
    activity: str,
    reference: str | None,
    referred_customer_id: int | None,
    actor: Actor,
    clock: Clock,
    retry: Idempotency,
    on_earned: ActivityHook | None = None,
) -> LedgerEntryRow | ReferralRow:
    """Reward an activity: newsletter sign-up (once), product review (once per product),
    a custom activity (within its daily cap), or record a referral (rewarded later).

    ``on_earned`` runs in the same transaction after the entry is written (the API passes
    gamification's challenge progress, an area above this one)."""
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
        points, key = _activity_terms(settings, code, ref, customer_id, retry.key)
        # Lock the account first: the once-only and daily-cap checks below must see
        # every earlier activity of this customer, including concurrent ones.
        book = await open_customer_book(uow, who, now)
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
        entry = await book.earn(points, source, key or auto_key(f"activity:{code}"))
        await triggered(
            Triggered(
                uow, who.site, who.customer, now, Trigger.ACTIVITY, f"activity:{entry.id}",
                activity_code=code, book=book,
            )
        )  # fmt: skip
        if on_earned is not None:
            await on_earned(uow, book, entry)
        return entry

    return await run_once(
        db,
        scope=f"customer:{customer_id}",
        retry=retry,
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
    if await activity_earnings_since(uow.session, customer_id, code, day_start) >= cap:
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
            ErrorCode.REQUIRED, "name the referred customer", "referred_customer_id"
        )
    if referred_id == who.customer.id:
        raise DomainError.single(
            ErrorCode.SELF_REFERRAL, "customers cannot refer themselves", "referred_customer_id"
        )
    referred = await customer_by_id(uow.session, referred_id)
    if referred is None or referred.site_id != who.site.id:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such customer", "referred_customer_id")
    if uow.is_postgres and who.site.referral_monthly_cap is not None:
        # the cap counts the referrer's friends under their row's lock, as codes do
        await customer_by_id(uow.session, who.customer.id, lock=True)
    existing = await check_referral(
        uow, who.site, who.customer, referred, now, field="referred_customer_id"
    )
    if existing is not None:
        raise DomainError.single(
            ErrorCode.ACTIVITY_ALREADY_REWARDED,
            "this customer was already referred",
            "referred_customer_id",
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
    """The referrer of ``referred`` earns the site's referralPoints, once per referral
    (None: no unrewarded referral, or the site gives none). Order recording calls
    :func:`referral_reward` itself, to add the referral campaigns."""
    referral = await unrewarded_referral_of(uow.session, referred.id)
    if referral is None:
        return None
    _, entry = await referral_reward(uow, referral, referred, site, now, order_ref=order_ref)
    return entry


async def referral_reward(
    uow: UnitOfWork,
    referral: ReferralRow,
    referred: CustomerRow,
    site: SiteRow,
    now: datetime,
    *,
    order_ref: str,
) -> tuple[AccountBook | None, LedgerEntryRow | None]:
    """The referrer's locked account (None: the referrer cannot earn: not enrolled, or the
    program is off) and the site's referralPoints entry written in it (None: the site
    gives none; referral campaigns may still). The entry's key names the order: a
    cancelled order gives the referral back (its reward reversed)."""
    if not site.program_enabled:
        return None, None
    referrer = await customer_by_id(uow.session, referral.referrer_id)
    if referrer is None or referrer.enrolled_at is None:
        return None, None
    book = await open_book(uow, site, referrer, now)
    settings = settings_of(site)
    if settings.referral_points <= 0:
        return book, None
    source = Source(
        SourceType.ACTIVITY, "system:referral", str(referred.external_id), activity_code="REFERRAL"
    )
    key = ledger_key("activity", "REFERRAL", referral.id, order_ref)
    entry = await book.earn(settings.referral_points, source, key)
    referral.rewarded_entry_id = entry.id
    return book, entry


def _activity_outcome(result: LedgerEntryRow | ReferralRow) -> dict[str, Any]:
    if isinstance(result, ReferralRow):
        return {"referral": result.id}
    return {"entry": result.id}


async def _load_activity(session: Session, stored: dict[str, Any]) -> LedgerEntryRow | ReferralRow:
    if "referral" in stored:
        row = await referral_by_id(session, stored["referral"])
        if row is None:  # pragma: no cover
            raise DomainError.single(ErrorCode.NOT_FOUND, "the referral is gone")
        return row
    return await load_entry(session, stored)
