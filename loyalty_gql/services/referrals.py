"""Referral codes: a new customer registered or enrolled with a friend's code is linked
to that friend (the referrer) once, and gets the site's welcome voucher.

A refused code refuses the whole registration or enrolment: the userError names the
guard and nothing is written (no customer, no enrolment, no link, no voucher), so the
shop can correct the code or send the request again without it.

The guards, in this order, each its own code: the code names an enrolled customer of
the site (REFERRAL_CODE_NOT_FOUND); the friend is not the referrer, by customer or by
e-mail (SELF_REFERRAL); the friend has no referrer yet (ALREADY_REFERRED); the friend
has no earlier orders (REFERRAL_NOT_NEW_CUSTOMER); the referrer has brought fewer than
the site's ``referral_monthly_cap`` friends this calendar month of the site's timezone
(REFERRAL_CAP_REACHED). The cap is counted under a row lock on the referrer (PostgreSQL,
when the site has a cap; SQLite runs one writer at a time), so two friends at the cap
cannot both pass.

The referrer earns when the friend's first order completes: services.orders calls
services.points.reward_referral with this same ReferralRow (one link for codes and for
the REFERRAL activity).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import CustomerRow, ReferralRow, SiteRow
from loyalty_gql.db.repositories.customers import customer_by_id, customer_by_referral_code
from loyalty_gql.db.repositories.sites import site_by_id
from loyalty_gql.db.session import Session
from loyalty_gql.domain.customers import CustomerProfile, latest_date
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.referrals import is_referral_code, normalise_referral_code
from loyalty_gql.services import customers
from loyalty_gql.services.core.common import Actor, Clock
from loyalty_gql.services.core.idempotency import Idempotency, run_once
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.offers.gifts import give_offer_voucher

FIELD = "referral_code"


async def register_customer(
    db: Database,
    *,
    site_id: int,
    profile: CustomerProfile,
    enroll: bool,
    referral_code: str | None,
    actor: Actor,
    clock: Clock,
    retry: Idempotency | None = None,
) -> CustomerRow:
    """Register a customer, linked to the referrer whose code they bring (if any; a blank
    code, as an empty form field sends it, is none)."""
    code = normalise_referral_code(referral_code or "")
    if not code:
        return await customers.register_customer(
            db, site_id=site_id, profile=profile, enroll=enroll, actor=actor, clock=clock,
            retry=retry,
        )  # fmt: skip
    profile = profile.normalised()
    now = clock()
    profile.check(today=latest_date(now))

    async def work(uow: UnitOfWork) -> CustomerRow:
        site = await site_by_id(uow.session, site_id)
        if site is None:
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such site", "site_id")
        row, new = await customers.registration(
            uow, site, profile, enroll=enroll, actor=actor, now=now
        )
        await link_by_code(uow, site, row, code, now, new_customer=new)
        return row

    request = customers.registration_request(site_id, profile, enroll=enroll)
    return await run_once(
        db,
        scope=f"site:{site_id}",
        retry=retry,
        request={**request, FIELD: code},
        now=now,
        work=work,
        dump=lambda row: {"customer": row.id},
        load=_load_customer,
    )


async def enroll_customer(
    db: Database,
    *,
    customer_id: int,
    referral_code: str | None,
    actor: Actor,
    clock: Clock,
    retry: Idempotency | None = None,
) -> CustomerRow:
    """Enrol a registered customer, linked to the referrer whose code they bring (if any;
    a blank code is none)."""
    code = normalise_referral_code(referral_code or "")
    if not code:
        return await customers.enroll_customer(
            db, customer_id=customer_id, actor=actor, clock=clock, retry=retry
        )
    now = clock()

    async def work(uow: UnitOfWork) -> CustomerRow:
        row, site = await customers.enrolment(uow, customer_id, actor=actor, now=now)
        await link_by_code(uow, site, row, code, now, new_customer=False)
        return row

    return await run_once(
        db,
        scope=f"customer:{customer_id}",
        retry=retry,
        request={"customer": customer_id, FIELD: code},
        now=now,
        work=work,
        dump=lambda row: {"customer": row.id},
        load=_load_customer,
    )


async def link_by_code(
    uow: UnitOfWork,
    site: SiteRow,
    friend: CustomerRow,
    code: str,
    now: datetime,
    *,
    new_customer: bool,
) -> ReferralRow:
    """Link ``friend`` to the referrer whose (normalised) code this is, in the unit of work,
    and give the friend the site's welcome voucher; refuses with the guards' codes.

    ``new_customer`` says the friend was registered in this unit of work (no referrer and
    no orders yet: those two guards cost no query then). Sending the same registration
    with the same code again finds the link made the first time and returns it."""
    if not site.program_enabled:
        raise DomainError.single(
            ErrorCode.PROGRAM_DISABLED, "the loyalty program of this site is switched off", FIELD
        )
    referrer = await _referrer(uow, site, code)
    existing = await customers.check_referral(
        uow, site, referrer, friend, now, field=FIELD, known_new=new_customer
    )
    if existing is not None:
        if existing.referrer_id == referrer.id:
            return existing  # the same link asked for again: linked once
        raise DomainError.single(
            ErrorCode.ALREADY_REFERRED, "this customer was already referred", FIELD
        )
    link = ReferralRow(
        site_id=site.id, referrer_id=referrer.id, referred_id=friend.id, created_at=now
    )
    uow.session.add(link)
    await uow.session.flush()
    if site.referral_welcome_offer_id is not None:
        await give_offer_voucher(uow, site, friend, site.referral_welcome_offer_id, now)
    return link


async def _referrer(uow: UnitOfWork, site: SiteRow, code: str) -> CustomerRow:
    """The enrolled customer of the site whose code this is. With a cap, locked on
    PostgreSQL so that their friends are counted by one linking transaction at a time
    (without one, friends of a popular referrer need not queue)."""
    referrer = None
    if is_referral_code(code):
        lock = uow.is_postgres and site.referral_monthly_cap is not None
        referrer = await customer_by_referral_code(uow.session, site.id, code, lock=lock)
    if referrer is None or referrer.enrolled_at is None:
        raise DomainError.single(
            ErrorCode.REFERRAL_CODE_NOT_FOUND, "no customer of this site has that code", FIELD
        )
    return referrer


async def _load_customer(session: Session, stored: dict[str, Any]) -> CustomerRow:
    row = await customer_by_id(session, stored["customer"])
    if row is None:  # pragma: no cover - customers are never deleted
        raise DomainError.single(ErrorCode.NOT_FOUND, "the customer is gone")
    return row
