"""Vouchers given from an offer without a purchase (a referred friend's welcome voucher)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from loyalty_gql.db.models import CustomerRow, OfferRow, SiteRow, VoucherRow
from loyalty_gql.db.repositories.offers.catalog import offer_by_id
from loyalty_gql.db.repositories.offers.holdings import count_use
from loyalty_gql.db.repositories.points.ledger import add_event_once
from loyalty_gql.db.session import Session
from loyalty_gql.domain.offers import OfferKind, OfferStatus
from loyalty_gql.domain.points import SourceType, VoucherStatus
from loyalty_gql.domain.values import Money
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.points.ledger import ledger_key, new_voucher_code

GIFTABLE = frozenset({OfferKind.REWARD.value, OfferKind.COUPON.value})


async def give_offer_voucher(
    uow: UnitOfWork, site: SiteRow, customer: CustomerRow, offer_id: int, now: datetime
) -> VoucherRow | None:
    """A voucher of the offer for the customer, free, counted as one of the offer's uses;
    None (nothing written) when the offer is not a live reward or coupon of the site or
    is used up. A VOUCHER_ISSUED event goes to the outbox in the same transaction."""
    offer = await offer_by_id(uow.session, offer_id)
    if offer is None or not _live(offer, site, now):
        return None
    if not await count_use(uow.session, offer.id):
        return None
    voucher = VoucherRow(
        site_id=site.id,
        customer_id=customer.id,
        code=new_voucher_code(),
        source=SourceType.OFFER.value,
        offer_id=offer.id,
        value_type=offer.value_type,
        value=offer.value if offer.value is not None else Decimal(0),
        minimum_order_minor=offer.minimum_order_minor,
        currency=site.currency,
        status=VoucherStatus.ACTIVE,
        points_spent=0,
        ledger_entry_id=None,
        issued_at=now,
        expires_at=offer.valid_until,
    )
    uow.session.add(voucher)
    await uow.session.flush()
    await voucher_issued(uow.session, site, customer.id, voucher, offer, points_spent=0, now=now)
    return voucher


def _live(offer: OfferRow, site: SiteRow, now: datetime) -> bool:
    return (
        offer.site_id == site.id
        and offer.kind in GIFTABLE
        and offer.status == OfferStatus.PUBLISHED.value
        and (offer.valid_from is None or offer.valid_from <= now)
        and (offer.valid_until is None or now < offer.valid_until)
    )


async def voucher_issued(
    session: Session,
    site: SiteRow,
    customer_id: int,
    voucher: VoucherRow,
    offer: OfferRow,
    *,
    points_spent: int,
    now: datetime,
) -> None:
    """VOUCHER_ISSUED for ``voucher`` of ``offer`` (once per voucher): bought or given."""
    await add_event_once(
        session,
        site_id=site.id,
        customer_id=customer_id,
        kind="VOUCHER_ISSUED",
        dedupe_key=ledger_key("voucher", voucher.id),
        payload={
            "voucher_id": voucher.id,
            "voucher_code": voucher.code,
            "offer_id": offer.id,
            "offer_name": offer.name,
            "points_spent": points_spent,
            "minimum_order_value": str(Money(offer.minimum_order_minor, site.currency).amount),
        },
        now=now,
    )
