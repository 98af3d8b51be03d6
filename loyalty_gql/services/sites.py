"""Sites and their loyalty-program settings."""

from __future__ import annotations

from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import AuditTrailRow, SiteRow
from loyalty_gql.db.repositories.offers.catalog import offer_by_id
from loyalty_gql.db.repositories.sites import (
    settings_document,
    settings_of,
    site_by_id,
    site_code_taken,
    store_settings,
)
from loyalty_gql.db.session import Session
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.offers import OfferKind, OfferStatus
from loyalty_gql.domain.sites import ProgramChanges, ProgramSettings, check_site
from loyalty_gql.services.core.common import Actor, Clock
from loyalty_gql.services.core.idempotency import Idempotency, run_once
from loyalty_gql.services.core.uow import UnitOfWork


async def create_site(
    db: Database,
    *,
    code: str,
    name: str,
    currency: str,
    actor: Actor,
    clock: Clock,
    retry: Idempotency | None = None,
) -> SiteRow:
    """Add a shop; its program starts switched off with default settings."""
    code, name, currency = code.strip(), name.strip(), currency.strip().upper()
    check_site(code, name)
    settings = ProgramSettings().changed(currency=currency)
    now = clock()

    async def work(uow: UnitOfWork) -> SiteRow:
        if await site_code_taken(uow.session, code):
            raise DomainError.single(
                ErrorCode.ALREADY_EXISTS, f"a site with code {code!r} exists", "code"
            )
        row = SiteRow(code=code, name=name, created_at=now, updated_at=now, settings_version=1)
        store_settings(row, settings)
        uow.session.add(row)
        await uow.session.flush()
        uow.session.add(_audit(row, actor, "site created"))
        return row

    return await run_once(
        db,
        scope=f"actor:{actor}",
        retry=retry,
        request={"code": code, "name": name, "currency": currency},
        now=now,
        work=work,
        dump=lambda row: {"site": row.id},
        load=_load_site,
    )


async def configure_program(
    db: Database,
    *,
    site_id: int,
    changes: ProgramChanges,
    actor: Actor,
    clock: Clock,
    retry: Idempotency | None = None,
) -> SiteRow:
    """Change some of a site's program settings; the rest stay as they are."""
    now = clock()

    async def work(uow: UnitOfWork) -> SiteRow:
        row = await site_by_id(uow.session, site_id, lock=uow.is_postgres)
        if row is None:
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such site", "site_id")
        settings = settings_of(row).changed(**changes.given())
        if isinstance(changes.referral_welcome_offer_id, int):
            await _check_welcome_offer(uow.session, row.id, changes.referral_welcome_offer_id)
        store_settings(row, settings)
        row.updated_at = now
        row.settings_version += 1
        uow.session.add(_audit(row, actor, None))
        return row

    return await run_once(
        db,
        scope=f"site:{site_id}",
        retry=retry,
        request={"site": site_id, **changes.given()},
        now=now,
        work=work,
        dump=lambda row: {"site": row.id},
        load=_load_site,
    )


WELCOME_OFFER_KINDS = (OfferKind.REWARD.value, OfferKind.COUPON.value)


async def _check_welcome_offer(session: Session, site_id: int, offer_id: int) -> None:
    """A referred friend's welcome voucher comes from a reward or coupon offer of the site
    that is not deleted (while it is not published, friends get no voucher)."""
    offer = await offer_by_id(session, offer_id)
    if offer is None or offer.site_id != site_id or offer.status == OfferStatus.DELETED.value:
        raise DomainError.single(
            ErrorCode.NOT_FOUND, "no such offer on this site", "referral_welcome_offer_id"
        )
    if offer.kind not in WELCOME_OFFER_KINDS:
        raise DomainError.single(
            ErrorCode.INVALID_VALUE,
            "the welcome voucher comes from a reward or coupon offer",
            "referral_welcome_offer_id",
        )


def _audit(row: SiteRow, actor: Actor, note: str | None) -> AuditTrailRow:
    return AuditTrailRow(
        site_id=row.id,
        actor=str(actor),
        at=row.updated_at,
        settings=settings_document(row),
        note=note,
    )


async def _load_site(session: Session, stored: dict[str, Any]) -> SiteRow:
    row = await site_by_id(session, stored["site"])
    if row is None:  # pragma: no cover - sites are never deleted
        raise DomainError.single(ErrorCode.NOT_FOUND, "the site is gone")
    return row
