"""Customers: registration by the shop, profile updates, enrolment in the program."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import CustomerRow, EnrollmentEventRow, ReferralRow, SiteRow
from loyalty_gql.db.repositories.customers import (
    customer_by_external_id,
    customer_by_id,
    external_id_taken,
)
from loyalty_gql.db.repositories.points.activities import referral_of
from loyalty_gql.db.repositories.points.ledger import locked_account
from loyalty_gql.db.repositories.referrals import has_orders, referrals_since
from loyalty_gql.db.repositories.sites import site_by_id
from loyalty_gql.db.session import Session
from loyalty_gql.domain.campaigns import Trigger
from loyalty_gql.domain.customers import (
    BirthDate,
    CustomerChanges,
    CustomerProfile,
    EnrollmentKind,
    latest_date,
)
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.referrals import month_start
from loyalty_gql.domain.sites import Participation, site_zone
from loyalty_gql.services.core.common import Actor, Clock
from loyalty_gql.services.core.idempotency import Idempotency, run_once
from loyalty_gql.services.core.triggers import Triggered, triggered
from loyalty_gql.services.core.uow import UnitOfWork


async def register_customer(
    db: Database,
    *,
    site_id: int,
    profile: CustomerProfile,
    enroll: bool,
    actor: Actor,
    clock: Clock,
    retry: Idempotency | None = None,
) -> CustomerRow:
    """Register a shop customer; the same external id twice gives the same customer."""
    profile = profile.normalised()
    now = clock()
    profile.check(today=latest_date(now))

    async def work(uow: UnitOfWork) -> CustomerRow:
        site = await _site(uow.session, site_id)
        row, _ = await registration(uow, site, profile, enroll=enroll, actor=actor, now=now)
        return row

    return await run_once(
        db,
        scope=f"site:{site_id}",
        retry=retry,
        request=registration_request(site_id, profile, enroll=enroll),
        now=now,
        work=work,
        dump=lambda row: {"customer": row.id},
        load=_load_customer,
    )


def registration_request(site_id: int, profile: CustomerProfile, *, enroll: bool) -> dict[str, Any]:
    """What a registration's retry must repeat (without a birth date: as before dates)."""
    request = {"site": site_id, "enroll": enroll, **asdict(profile)}
    if request["birth_date"] is None:
        del request["birth_date"]
    return request


async def registration(
    uow: UnitOfWork,
    site: SiteRow,
    profile: CustomerProfile,
    *,
    enroll: bool,
    actor: Actor,
    now: datetime,
) -> tuple[CustomerRow, bool]:
    """Register (or find the same registration of) a checked profile in the unit of work:
    the customer, and whether it is new. Every new customer gets a referral code (the
    column's default), enrolled or not."""
    existing = await customer_by_external_id(uow.session, site.id, profile.external_id)
    if existing is not None:
        return _same_registration(existing, profile), False
    auto = site.participation == Participation.ALL_REGISTERED_CUSTOMERS.value
    if enroll and not site.program_enabled:
        raise _program_disabled()
    birth = profile.birth_date
    row = CustomerRow(
        site_id=site.id,
        external_id=profile.external_id,
        email=profile.email,
        name=profile.name,
        groups=list(profile.groups),
        marketing_consent=profile.marketing_consent,
        birth_month=birth.month if birth else None,
        birth_day=birth.day if birth else None,
        birth_year=birth.year if birth else None,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(row)
    await uow.session.flush()
    if enroll or (auto and site.program_enabled):
        await _enroll(uow.session, row, actor, now)
        await _enrolled(uow, site, row, now)
    return row, True


async def update_customer(
    db: Database,
    *,
    customer_id: int,
    changes: CustomerChanges,
    actor: Actor,
    clock: Clock,
    retry: Idempotency | None = None,
) -> CustomerRow:
    """Change a customer's email, name, groups or consent; the rest stay."""
    now = clock()

    async def work(uow: UnitOfWork) -> CustomerRow:
        row = await _customer(uow, customer_id)
        profile = changes.applied_to(_profile(row))
        profile.check(today=latest_date(now))
        if profile.external_id != row.external_id and await external_id_taken(
            uow.session, row.site_id, profile.external_id
        ):
            raise DomainError.single(
                ErrorCode.ALREADY_EXISTS,
                "another customer of this site has that external id",
                "external_id",
            )
        row.external_id = profile.external_id
        row.email = profile.email
        row.name = profile.name
        row.groups = list(profile.groups)
        row.marketing_consent = profile.marketing_consent
        birth = profile.birth_date
        row.birth_month = birth.month if birth else None
        row.birth_day = birth.day if birth else None
        row.birth_year = birth.year if birth else None
        row.updated_at = now
        return row

    return await run_once(
        db,
        scope=f"customer:{customer_id}",
        retry=retry,
        request={"customer": customer_id, **changes.fingerprint()},
        now=now,
        work=work,
        dump=lambda row: {"customer": row.id},
        load=_load_customer,
    )


async def enroll_customer(
    db: Database,
    *,
    customer_id: int,
    actor: Actor,
    clock: Clock,
    retry: Idempotency | None = None,
) -> CustomerRow:
    """Enrol a registered customer in the program, recording when and by whom."""
    now = clock()

    async def work(uow: UnitOfWork) -> CustomerRow:
        row, _ = await enrolment(uow, customer_id, actor=actor, now=now)
        return row

    return await run_once(
        db,
        scope=f"customer:{customer_id}",
        retry=retry,
        request={"customer": customer_id},
        now=now,
        work=work,
        dump=lambda row: {"customer": row.id},
        load=_load_customer,
    )


async def enrolment(
    uow: UnitOfWork, customer_id: int, *, actor: Actor, now: datetime
) -> tuple[CustomerRow, SiteRow]:
    """Enrol a registered customer in the unit of work (their row locked on PostgreSQL):
    the customer and their site."""
    row = await _customer(uow, customer_id)
    site = await _site(uow.session, row.site_id)
    if not site.program_enabled:
        raise _program_disabled()
    if row.enrolled_at is not None:
        raise DomainError.single(
            ErrorCode.ALREADY_ENROLLED, "the customer is already enrolled", "customer_id"
        )
    await _enroll(uow.session, row, actor, now)
    await _enrolled(uow, site, row, now)
    return row, site


async def leave_program(
    db: Database,
    *,
    customer_id: int,
    actor: Actor,
    clock: Clock,
    retry: Idempotency | None = None,
) -> CustomerRow:
    """Take a customer out of the program; they stop earning and spending points."""
    now = clock()

    async def work(uow: UnitOfWork) -> CustomerRow:
        row = await _customer(uow, customer_id)
        if row.enrolled_at is None:
            raise DomainError.single(
                ErrorCode.NOT_ENROLLED, "the customer is not enrolled", "customer_id"
            )
        row.enrolled_at = None
        row.updated_at = now
        uow.session.add(
            EnrollmentEventRow(
                site_id=row.site_id,
                customer_id=row.id,
                kind=EnrollmentKind.LEFT.value,
                actor=str(actor),
                at=now,
            )
        )
        return row

    return await run_once(
        db,
        scope=f"customer:{customer_id}",
        retry=retry,
        request={"customer": customer_id},
        now=now,
        work=work,
        dump=lambda row: {"customer": row.id},
        load=_load_customer,
    )


async def check_referral(
    uow: UnitOfWork,
    site: SiteRow,
    referrer: CustomerRow,
    friend: CustomerRow,
    now: datetime,
    *,
    field: str,
    known_new: bool = False,
) -> ReferralRow | None:
    """The guards every new referral link passes, however it is made (a code, or the
    REFERRAL activity): not the same customer or e-mail, the friend not referred yet and
    without earlier orders (``known_new``: registered in this unit of work, so neither
    costs a query), the referrer under the site's monthly cap (the caller holds the
    referrer's row locked on PostgreSQL when there is a cap). Refuses with each guard's
    code; the friend's existing link, if any, is returned for the caller to judge."""
    if referrer.id == friend.id or (
        friend.email is not None and referrer.email is not None
        and friend.email.lower() == referrer.email.lower()
    ):  # fmt: skip
        raise DomainError.single(
            ErrorCode.SELF_REFERRAL, "customers cannot refer themselves", field
        )
    if not known_new:
        existing = await referral_of(uow.session, friend.id)
        if existing is not None:
            return existing
        if await has_orders(uow.session, friend.id):
            raise DomainError.single(
                ErrorCode.REFERRAL_NOT_NEW_CUSTOMER,
                "only customers without earlier orders can be referred",
                field,
            )
    cap = site.referral_monthly_cap
    if cap is not None:
        since = month_start(now, site_zone(site.timezone))
        if await referrals_since(uow.session, referrer.id, since) >= cap:
            raise DomainError.single(
                ErrorCode.REFERRAL_CAP_REACHED,
                f"this referrer has brought {cap} friends this month, the most allowed",
                field,
            )
    return None


async def _enrolled(uow: UnitOfWork, site: SiteRow, row: CustomerRow, now: datetime) -> None:
    """Campaigns of ENROLMENT: once per customer, whenever they enrol."""
    await triggered(Triggered(uow, site, row, now, Trigger.ENROLMENT, f"enrolment:{row.id}"))


async def _enroll(session: Session, row: CustomerRow, actor: Actor, now: datetime) -> None:
    # The points account exists from enrolment on, so the ledger only ever locks it.
    await locked_account(session, row.site_id, row.id, now, lock=False)
    row.enrolled_at = now
    row.updated_at = now
    session.add(
        EnrollmentEventRow(
            site_id=row.site_id,
            customer_id=row.id,
            kind=EnrollmentKind.ENROLLED.value,
            actor=str(actor),
            at=now,
        )
    )


def _same_registration(existing: CustomerRow, profile: CustomerProfile) -> CustomerRow:
    stored = _profile(existing)
    if profile.birth_date is None:
        # customers set their own birth date (updateMyProfile): a registration sent again
        # without one is still the same registration
        stored = replace(stored, birth_date=None)
    if stored != profile:
        raise DomainError.single(
            ErrorCode.ALREADY_EXISTS,
            "a customer with this external id is registered with other details; "
            "use updateCustomer to change them",
            "external_id",
        )
    return existing


def _profile(row: CustomerRow) -> CustomerProfile:
    return CustomerProfile(
        external_id=row.external_id,
        email=row.email,
        name=row.name,
        groups=tuple(row.groups),
        marketing_consent=row.marketing_consent,
        birth_date=birth_date_of(row),
    )


def birth_date_of(row: CustomerRow) -> BirthDate | None:
    """The customer's birth date, if they gave one."""
    if row.birth_month is None or row.birth_day is None:
        return None
    return BirthDate(row.birth_month, row.birth_day, row.birth_year)


def _program_disabled() -> DomainError:
    return DomainError.single(
        ErrorCode.PROGRAM_DISABLED, "the loyalty program of this site is switched off"
    )


async def _site(session: Session, site_id: int) -> SiteRow:
    site = await site_by_id(session, site_id)
    if site is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such site", "site_id")
    return site


async def _customer(uow: UnitOfWork, customer_id: int) -> CustomerRow:
    row = await customer_by_id(uow.session, customer_id, lock=uow.is_postgres)
    if row is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such customer", "customer_id")
    return row


async def _load_customer(session: Session, stored: dict[str, Any]) -> CustomerRow:
    row = await customer_by_id(session, stored["customer"])
    if row is None:  # pragma: no cover - customers are never deleted
        raise DomainError.single(ErrorCode.NOT_FOUND, "the customer is gone")
    return row
