"""Offers: creating, editing, publishing, deleting and copying them (admins)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import OfferRow, SiteRow
from loyalty_gql.db.repositories.gamification import badge_codes_taken
from loyalty_gql.db.repositories.offers.catalog import (
    coupon_code_taken,
    locked_offer,
    offer_by_id,
    site_tier_ids,
    store_terms,
    terms_of,
)
from loyalty_gql.db.repositories.orders import fold_offer_use_counts
from loyalty_gql.db.repositories.sites import bump_offers_version, site_by_id
from loyalty_gql.db.session import Session
from loyalty_gql.domain.codes import random_code
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.offers import (
    OfferScope,
    OfferStatus,
    OfferTerms,
    OfferValueType,
    check_transition,
)
from loyalty_gql.domain.unset import UNSET, Unset
from loyalty_gql.services.core.common import Actor, Clock
from loyalty_gql.services.core.idempotency import Idempotency, run_once
from loyalty_gql.services.core.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class OfferChanges:
    """updateOffer's command: the terms to change (every term but the kind, which never
    changes); UNSET ones keep their value."""

    name: str | Unset = UNSET
    value_type: OfferValueType | Unset = UNSET
    value: Decimal | Unset | None = UNSET
    scope: OfferScope | Unset = UNSET
    targets: tuple[str, ...] | Unset = UNSET
    description: str | Unset | None = UNSET
    image_url: str | Unset | None = UNSET
    loyalty_price: int | Unset | None = UNSET
    reward_points: int | Unset = UNSET
    valid_from: datetime | Unset | None = UNSET
    valid_until: datetime | Unset | None = UNSET
    max_uses: int | Unset | None = UNSET
    max_uses_per_customer: int | Unset | None = UNSET
    minimum_order_value: Decimal | Unset = UNSET
    customer_groups: tuple[str, ...] | Unset = UNSET
    tier_ids: tuple[int, ...] | Unset = UNSET
    badge_codes: tuple[str, ...] | Unset = UNSET
    priority: int | Unset = UNSET
    exclusive: bool | Unset = UNSET
    stacking_group: str | Unset | None = UNSET
    punches_required: int | Unset | None = UNSET
    punch_minimum_quantity: int | Unset = UNSET
    membership_fee_points: int | Unset | None = UNSET
    coupon_code: str | Unset | None = UNSET
    exchange_product_id: str | Unset | None = UNSET
    exchange_price: Decimal | Unset | None = UNSET

    @classmethod
    def every_term(cls, terms: OfferTerms) -> OfferChanges:
        """Changes that replace every term (but the kind) with those of ``terms``."""
        return cls(**{f.name: getattr(terms, f.name) for f in fields(cls)})

    def given(self) -> dict[str, Any]:
        """The terms to change, by name."""
        changed = ((f.name, getattr(self, f.name)) for f in fields(self))
        return {name: value for name, value in changed if value is not UNSET}

    def applied_to(self, terms: OfferTerms) -> OfferTerms:
        """``terms`` with these changes."""
        return replace(terms, **self.given())


async def create_offer(
    db: Database,
    *,
    site_id: int,
    terms: OfferTerms,
    actor: Actor,
    clock: Clock,
    retry: Idempotency | None = None,
) -> OfferRow:
    """Add an offer as a DRAFT; it reaches customers once published."""
    now = clock()

    async def work(uow: UnitOfWork) -> OfferRow:
        site = await _site(uow.session, site_id)
        await _check_terms(uow.session, site, terms, offer_id=None)
        row = OfferRow(
            site_id=site_id, status=OfferStatus.DRAFT.value, uses=0, created_at=now,
            updated_at=now,
        )  # fmt: skip
        store_terms(row, terms, site.currency)
        uow.session.add(row)
        await uow.session.flush()
        return row

    return await _once(db, site_id, retry, request=asdict(terms), now=now, work=work)


async def update_offer(
    db: Database,
    *,
    offer_id: int,
    changes: OfferChanges,
    actor: Actor,
    clock: Clock,
    retry: Idempotency,
) -> OfferRow:
    """Change some terms of an offer that is not deleted; the kind never changes."""
    now = clock()

    async def work(uow: UnitOfWork) -> OfferRow:
        row = await _offer(uow, offer_id)
        if row.status == OfferStatus.DELETED.value:
            raise DomainError.single(
                ErrorCode.INVALID_STATE, "a deleted offer cannot be changed", "offer_id"
            )
        site = await _site(uow.session, row.site_id)
        terms = changes.applied_to(terms_of(row, site.currency))
        await _check_terms(uow.session, site, terms, offer_id=row.id)
        if terms.max_uses is not None:
            # a limited offer counts on its row (checked under its lock): the uses its
            # orders counted on shards while it had no limit move there (db/models
            # OfferUseCountRow); the row is locked, so no order counts meanwhile
            row.uses += await fold_offer_use_counts(uow.session, row.id)
        store_terms(row, terms, site.currency)
        row.updated_at = now
        await bump_offers_version(uow.session, row.site_id)
        return row

    request = {"offer": offer_id, **changes.given()}
    return await _once(
        db, f"offer:{offer_id}", retry, request=request, now=now, work=work,
    )  # fmt: skip


async def change_status(
    db: Database,
    *,
    offer_id: int,
    action: str,
    actor: Actor,
    clock: Clock,
    retry: Idempotency | None = None,
) -> OfferRow:
    """Publish, unpublish or delete (soft: vouchers and history keep resolving)."""
    now = clock()
    target = {
        "publish": OfferStatus.PUBLISHED,
        "unpublish": OfferStatus.UNPUBLISHED,
        "delete": OfferStatus.DELETED,
    }[action]

    async def work(uow: UnitOfWork) -> OfferRow:
        row = await _offer(uow, offer_id)
        check_transition(action, OfferStatus(row.status))
        if target is OfferStatus.PUBLISHED:
            site = await _site(uow.session, row.site_id)
            # terms valid when saved may have aged (a currency change, a deleted tier)
            await _check_terms(uow.session, site, terms_of(row, site.currency), offer_id=row.id)
            row.published_at = now
        if target is OfferStatus.DELETED:
            row.deleted_at = now
        row.status = target.value
        row.updated_at = now
        await bump_offers_version(uow.session, row.site_id)
        return row

    return await _once(
        db, f"offer:{offer_id}", retry, request={"offer": offer_id}, now=now, work=work,
    )  # fmt: skip


async def copy_offer(
    db: Database,
    *,
    offer_id: int,
    actor: Actor,
    clock: Clock,
    retry: Idempotency,
) -> OfferRow:
    """A new DRAFT "Copy of ..." with the same terms, no usage counts and fresh codes."""
    now = clock()

    async def work(uow: UnitOfWork) -> OfferRow:
        original = await _offer(uow, offer_id)
        site = await _site(uow.session, original.site_id)
        terms = terms_of(original, site.currency)
        name = f"Copy of {terms.name}"[:200]
        code = random_code(10) if terms.coupon_code else None
        copy = OfferRow(
            site_id=original.site_id, status=OfferStatus.DRAFT.value, uses=0,
            copied_from_id=original.id, created_at=now, updated_at=now,
        )  # fmt: skip
        store_terms(copy, replace(terms, name=name, coupon_code=code), site.currency)
        uow.session.add(copy)
        await uow.session.flush()
        return copy

    return await _once(
        db, f"offer:{offer_id}", retry, request={"offer": offer_id}, now=now, work=work,
    )  # fmt: skip


async def _check_terms(
    session: Session, site: SiteRow, terms: OfferTerms, *, offer_id: int | None
) -> None:
    terms.check(site.currency)
    if terms.tier_ids:
        found = await site_tier_ids(session, site.id, terms.tier_ids)
        if found != set(terms.tier_ids):
            raise DomainError.single(ErrorCode.NOT_FOUND, "unknown tiers", "tier_ids")
    if terms.badge_codes:
        known = await badge_codes_taken(session, site.id, terms.badge_codes)
        if known != set(terms.badge_codes):
            raise DomainError.single(ErrorCode.NOT_FOUND, "unknown badges", "badge_codes")
    if terms.coupon_code is not None and await coupon_code_taken(
        session, site.id, terms.coupon_code, besides=offer_id
    ):
        raise DomainError.single(
            ErrorCode.DUPLICATE, "another offer of this site uses that code", "coupon_code"
        )


async def _once(
    db: Database,
    scope: int | str,
    retry: Idempotency | None,
    *,
    request: dict[str, Any],
    now: datetime,
    work: Any,
) -> OfferRow:
    return await run_once(
        db,
        scope=scope if isinstance(scope, str) else f"site:{scope}",
        retry=retry,
        request=request,
        now=now,
        work=work,
        dump=lambda row: {"offer": row.id},
        load=_load_offer,
    )


async def _site(session: Session, site_id: int) -> SiteRow:
    site = await site_by_id(session, site_id)
    if site is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such site", "site_id")
    return site


async def _offer(uow: UnitOfWork, offer_id: int) -> OfferRow:
    row = await locked_offer(uow.session, offer_id, lock=uow.is_postgres)
    if row is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such offer", "offer_id")
    return row


async def _load_offer(session: Session, stored: dict[str, Any]) -> OfferRow:
    row = await offer_by_id(session, stored["offer"])
    if row is None:  # pragma: no cover - offers are never removed
        raise DomainError.single(ErrorCode.NOT_FOUND, "the offer is gone")
    return row
