"""Badge types (admins) and the badges customers hold: granted by a challenge, an admin
(with a reason) or a campaign; revoked by an admin."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import Enum
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import BadgeTypeRow, CustomerBadgeRow, CustomerRow, SiteRow
from loyalty_gql.db.repositories import gamification as repo
from loyalty_gql.db.repositories.customers import customer_by_id
from loyalty_gql.db.repositories.points.ledger import add_event_once
from loyalty_gql.db.repositories.sites import site_by_id
from loyalty_gql.db.session import Session
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.gamification.badges import BadgeType, BadgeVisibility
from loyalty_gql.services.core.common import Actor, Clock
from loyalty_gql.services.core.idempotency import Idempotency, run_once
from loyalty_gql.services.core.uow import UnitOfWork

MAX_REASON = 1000


class GrantKind(Enum):
    """What granted a badge."""

    CHALLENGE = "CHALLENGE"
    ADMIN = "ADMIN"
    CAMPAIGN = "CAMPAIGN"


@dataclass(frozen=True, slots=True)
class GrantSource:
    """Who or what grants a badge: the kind, its reference (the challenge's id, the
    campaign's key), the reason (an admin's) and the actor recorded."""

    kind: GrantKind
    actor: str
    ref: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class BadgeTerms:
    """A badge type as an admin gives it (the code only when creating)."""

    code: str
    name: str
    description: str = ""
    image_url: str | None = None
    visibility: BadgeVisibility = BadgeVisibility.VISIBLE_LOCKED
    how_to_earn: str = ""

    def given(self) -> dict[str, Any]:
        """Every term, by name (the stored request fingerprint)."""
        return {
            f.name: getattr(self, f.name).value
            if isinstance(getattr(self, f.name), Enum)
            else getattr(self, f.name)
            for f in fields(self)
        }

    def checked(self) -> BadgeTerms:
        """The terms, trimmed; INVALID_VALUE / REQUIRED when wrong."""
        terms = BadgeTerms(
            code=self.code.strip(),
            name=self.name.strip(),
            description=self.description.strip(),
            image_url=(self.image_url or "").strip() or None,
            visibility=self.visibility,
            how_to_earn=self.how_to_earn.strip(),
        )
        BadgeType(
            0,
            terms.code,
            terms.name,
            terms.description,
            terms.image_url,
            terms.visibility,
            terms.how_to_earn,
        ).check()
        return terms


def badge_type_of(row: BadgeTypeRow) -> BadgeType:
    """The domain's badge type of a row."""
    return BadgeType(
        id=row.id,
        code=row.code,
        name=row.name,
        description=row.description,
        image_url=row.image_url,
        visibility=BadgeVisibility(row.visibility),
        how_to_earn=row.how_to_earn,
    )


def _apply(row: BadgeTypeRow, terms: BadgeTerms, now: datetime) -> None:
    row.name, row.description, row.image_url = terms.name, terms.description, terms.image_url
    row.visibility, row.how_to_earn = terms.visibility.value, terms.how_to_earn
    row.updated_at = now


async def create_badge_type(
    db: Database,
    *,
    site_id: int,
    terms: BadgeTerms,
    actor: Actor,
    clock: Clock,
    retry: Idempotency,
) -> BadgeTypeRow:
    """Add a badge type to a site; its code is unique in the site (DUPLICATE)."""
    terms = terms.checked()
    now = clock()

    async def work(uow: UnitOfWork) -> BadgeTypeRow:
        if await repo.badge_type_by_code(uow.session, site_id, terms.code) is not None:
            raise DomainError.single(ErrorCode.DUPLICATE, f"a badge {terms.code!r} exists", "code")
        row = BadgeTypeRow(site_id=site_id, code=terms.code, created_at=now)
        _apply(row, terms, now)
        uow.session.add(row)
        await uow.session.flush()
        return row

    return await run_once(
        db,
        scope=f"site:{site_id}",
        retry=retry,
        request={"site": site_id, **terms.given()},
        now=now,
        work=work,
        dump=lambda row: {"badge": row.id},
        load=_load_badge,
    )


async def update_badge_type(
    db: Database,
    *,
    site_id: int,
    terms: BadgeTerms,
    actor: Actor,
    clock: Clock,
    retry: Idempotency,
) -> BadgeTypeRow:
    """Change the badge type ``terms.code`` names (its code stays)."""
    terms = terms.checked()
    now = clock()

    async def work(uow: UnitOfWork) -> BadgeTypeRow:
        row = await _badge(uow.session, site_id, terms.code)
        _apply(row, terms, now)
        await uow.session.flush()
        return row

    return await run_once(
        db,
        scope=f"site:{site_id}",
        retry=retry,
        request={"site": site_id, **terms.given()},
        now=now,
        work=work,
        dump=lambda row: {"badge": row.id},
        load=_load_badge,
    )


async def _badge(session: Session, site_id: int, code: str, field: str = "code") -> BadgeTypeRow:
    row = await repo.badge_type_by_code(session, site_id, code.strip())
    if row is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such badge", field)
    return row


async def _load_badge(session: Session, stored: dict[str, Any]) -> BadgeTypeRow:
    row = await session.get(BadgeTypeRow, stored["badge"])
    if row is None:  # pragma: no cover - badge types are never deleted
        raise DomainError.single(ErrorCode.NOT_FOUND, "the badge is gone")
    return row


async def grant_badge(
    uow: UnitOfWork,
    site: SiteRow,
    customer: CustomerRow,
    badge_code: str,
    *,
    source: GrantSource,
    at: datetime,
) -> bool:
    """Grant the site's badge ``badge_code`` to the customer in this transaction; True
    when newly granted (with a BADGE_EARNED event), False when they hold it already.
    A revoked badge is granted again. NOT_FOUND when the site has no such badge.

    For campaigns: a badge effect is this call with ``GrantKind.CAMPAIGN``; a badge
    condition is ``db.repositories.gamification.holds_badge`` (or the customer row's
    ``badge_codes``, kept here in the same transaction)."""
    session = uow.session
    badge = await _badge(session, site.id, badge_code, "badge_code")
    locked = await repo.locked_customer(session, customer.id)  # its badge codes change
    if locked is None:  # pragma: no cover - customers are never deleted
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such customer", "customer_id")
    fresh = await repo.insert_badge_once(
        session,
        site_id=site.id,
        customer_id=customer.id,
        badge_type_id=badge.id,
        at=at,
        source=source.kind.value,
        source_ref=source.ref,
        reason=source.reason,
        granted_by=source.actor,
    )
    holding = await repo.customer_badge(session, customer.id, badge.id)
    if holding is None:  # pragma: no cover - inserted or found above
        return False
    if not fresh:
        if holding.revoked_at is None:
            return False
        holding.granted_at, holding.source, holding.source_ref = at, source.kind.value, source.ref
        holding.reason, holding.granted_by = source.reason, source.actor
        holding.revoked_at = holding.revoked_by = holding.revoke_reason = None
        await session.flush()
    locked.badge_codes = sorted({*locked.badge_codes, badge.code})
    await add_event_once(
        session,
        site_id=site.id,
        customer_id=customer.id,
        kind="BADGE_EARNED",
        dedupe_key=f"badge:{holding.id}:{at.isoformat()}",
        payload={
            "badge_code": badge.code,
            "badge_name": badge.name,
            "source": source.kind.value,
            "source_ref": source.ref,
            "granted_at": at.isoformat(),
        },
        now=at,
    )
    await session.flush()
    return True


async def revoke_badge_in(
    uow: UnitOfWork,
    site: SiteRow,
    customer: CustomerRow,
    badge_code: str,
    *,
    actor: str,
    reason: str | None,
    at: datetime,
) -> bool:
    """Take the badge back from the customer; True when they held it."""
    session = uow.session
    badge = await _badge(session, site.id, badge_code, "badge_code")
    locked = await repo.locked_customer(session, customer.id)
    holding = await repo.customer_badge(session, customer.id, badge.id)
    if locked is None or holding is None or holding.revoked_at is not None:
        return False
    holding.revoked_at, holding.revoked_by, holding.revoke_reason = at, actor, reason
    locked.badge_codes = [code for code in locked.badge_codes if code != badge.code]
    await session.flush()
    return True


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise DomainError.single(ErrorCode.REQUIRED, "give a reason", "reason")
    if len(text) > MAX_REASON:
        raise DomainError.single(
            ErrorCode.INVALID_VALUE, f"at most {MAX_REASON} characters", "reason"
        )
    return text


async def _site_customer(
    uow: UnitOfWork, site_id: int, customer_id: int
) -> tuple[SiteRow, CustomerRow]:
    site = await site_by_id(uow.session, site_id)
    customer = await customer_by_id(uow.session, customer_id)
    if site is None or customer is None or customer.site_id != site_id:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such customer", "customer_id")
    return site, customer


async def admin_grant_badge(
    db: Database,
    *,
    site_id: int,
    customer_id: int,
    badge_code: str,
    reason: str,
    actor: Actor,
    clock: Clock,
    retry: Idempotency,
) -> CustomerBadgeRow:
    """An admin grants a badge, with a reason; granting one held already changes nothing."""
    why = _reason(reason)
    now = clock()

    async def work(uow: UnitOfWork) -> CustomerBadgeRow:
        site, customer = await _site_customer(uow, site_id, customer_id)
        source = GrantSource(GrantKind.ADMIN, str(actor), reason=why)
        await grant_badge(uow, site, customer, badge_code, source=source, at=now)
        badge = await _badge(uow.session, site_id, badge_code, "badge_code")
        holding = await repo.customer_badge(uow.session, customer_id, badge.id)
        assert holding is not None  # noqa: S101 - granted above
        return holding

    return await run_once(
        db,
        scope=f"site:{site_id}",
        retry=retry,
        request={"customer": customer_id, "badge": badge_code, "reason": why, "grant": True},
        now=now,
        work=work,
        dump=lambda row: {"holding": row.id},
        load=_load_holding,
    )


async def admin_revoke_badge(
    db: Database,
    *,
    site_id: int,
    customer_id: int,
    badge_code: str,
    reason: str | None,
    actor: Actor,
    clock: Clock,
    retry: Idempotency,
) -> CustomerBadgeRow:
    """An admin takes a badge back; NOT_FOUND when the customer does not hold it."""
    why = _reason(reason) if reason is not None else None
    now = clock()

    async def work(uow: UnitOfWork) -> CustomerBadgeRow:
        site, customer = await _site_customer(uow, site_id, customer_id)
        if not await revoke_badge_in(
            uow, site, customer, badge_code, actor=str(actor), reason=why, at=now
        ):
            raise DomainError.single(
                ErrorCode.NOT_FOUND, "the customer does not hold this badge", "badge_code"
            )
        badge = await _badge(uow.session, site_id, badge_code, "badge_code")
        holding = await repo.customer_badge(uow.session, customer_id, badge.id)
        assert holding is not None  # noqa: S101 - revoked above
        return holding

    return await run_once(
        db,
        scope=f"site:{site_id}",
        retry=retry,
        request={"customer": customer_id, "badge": badge_code, "reason": why, "grant": False},
        now=now,
        work=work,
        dump=lambda row: {"holding": row.id},
        load=_load_holding,
    )


async def _load_holding(session: Session, stored: dict[str, Any]) -> CustomerBadgeRow:
    row = await session.get(CustomerBadgeRow, stored["holding"])
    if row is None:  # pragma: no cover - holdings are never deleted
        raise DomainError.single(ErrorCode.NOT_FOUND, "the badge is gone")
    return row
