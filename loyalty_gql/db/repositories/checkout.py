"""What pricing a basket reads: the shopper's account and tier, the site's live automatic
offers and stacking groups, codes, vouchers, held offers, usage counts; and the row locks
order recording takes on them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select

from loyalty_gql.db.models import (
    CouponCodeRow,
    OfferAssignmentRow,
    OfferCustomerUseRow,
    OfferRow,
    PointAccountRow,
    StackingGroupRow,
    TierRow,
    VoucherRow,
)
from loyalty_gql.db.session import Session
from loyalty_gql.domain.offers import OfferKind, OfferStatus

AUTOMATIC = (OfferKind.PROMOTION.value, OfferKind.CLUBCARD.value, OfferKind.PUNCHCARD.value)


async def point_account(session: Session, customer_id: int) -> PointAccountRow | None:
    """The customer's point account (from the session when already loaded)."""
    return await session.get(PointAccountRow, customer_id)


async def tier_by_id(session: Session, tier_id: int) -> TierRow | None:
    """A tier (from the session when already loaded)."""
    return await session.get(TierRow, tier_id)


async def live_automatic_offers(session: Session, site_id: int, now: datetime) -> list[OfferRow]:
    """The site's published promotions, club cards and punch cards that have not ended."""
    rows = await session.scalars(
        select(OfferRow).where(
            OfferRow.site_id == site_id,
            OfferRow.status == OfferStatus.PUBLISHED.value,
            OfferRow.kind.in_(AUTOMATIC),
            or_(OfferRow.valid_until.is_(None), OfferRow.valid_until > now),
        )
    )
    return list(rows)


async def stacking_group_rows(session: Session, site_id: int) -> list[StackingGroupRow]:
    """The site's stacking group rules."""
    rows = await session.scalars(
        select(StackingGroupRow).where(StackingGroupRow.site_id == site_id)
    )
    return list(rows)


async def held_assignments(
    session: Session, customer_id: int, offer_ids: Sequence[int]
) -> dict[int, OfferAssignmentRow]:
    """The customer's assignments to ``offer_ids`` (cards, assigned coupons), by offer id."""
    rows = await session.scalars(
        select(OfferAssignmentRow).where(
            OfferAssignmentRow.customer_id == customer_id,
            OfferAssignmentRow.offer_id.in_(offer_ids),
        )
    )
    return {row.offer_id: row for row in rows}


async def offers_by_shared_codes(
    session: Session, site_id: int, codes: Sequence[str]
) -> dict[str, OfferRow]:
    """The site's offers whose shared coupon code is one of ``codes``, by code."""
    rows = await session.scalars(
        select(OfferRow).where(OfferRow.site_id == site_id, OfferRow.coupon_code.in_(codes))
    )
    return {row.coupon_code: row for row in rows if row.coupon_code is not None}


async def coupon_codes_by_code(
    session: Session, site_id: int, codes: Sequence[str]
) -> dict[str, CouponCodeRow]:
    """The site's single-use codes among ``codes``, by code, read fresh (again under a
    lock, they show what the lock holder sees)."""
    query = (
        select(CouponCodeRow)
        .where(CouponCodeRow.site_id == site_id, CouponCodeRow.code.in_(codes))
        .order_by(CouponCodeRow.id)
        .execution_options(populate_existing=True)
    )
    return {row.code: row for row in await session.scalars(query)}


async def vouchers_by_code(
    session: Session, site_id: int, codes: Sequence[str]
) -> dict[str, VoucherRow]:
    """The site's vouchers among ``codes``, by code, read fresh (as the codes are)."""
    query = (
        select(VoucherRow)
        .where(VoucherRow.site_id == site_id, VoucherRow.code.in_(codes))
        .order_by(VoucherRow.id)
        .execution_options(populate_existing=True)
    )
    return {row.code: row for row in await session.scalars(query)}


async def lock_offers(session: Session, ids: Sequence[int]) -> None:
    """Row locks (PostgreSQL) on these offers, in id order."""
    await session.execute(
        select(OfferRow.id).where(OfferRow.id.in_(ids)).order_by(OfferRow.id).with_for_update()
    )


async def lock_coupon_codes(session: Session, ids: Sequence[int]) -> None:
    """Row locks (PostgreSQL) on these single-use codes, in id order."""
    await session.execute(
        select(CouponCodeRow.id)
        .where(CouponCodeRow.id.in_(ids))
        .order_by(CouponCodeRow.id)
        .with_for_update()
    )


async def lock_vouchers(session: Session, ids: Sequence[int]) -> None:
    """Row locks (PostgreSQL) on these vouchers, in id order."""
    await session.execute(
        select(VoucherRow.id)
        .where(VoucherRow.id.in_(ids))
        .order_by(VoucherRow.id)
        .with_for_update()
    )


async def offer_uses(session: Session, offer_ids: Sequence[int]) -> dict[int, int]:
    """How often each offer has been used, by offer id."""
    rows = await session.execute(
        select(OfferRow.id, OfferRow.uses).where(OfferRow.id.in_(offer_ids))
    )
    return {int(i): int(n) for i, n in rows}


async def customer_offer_uses(
    session: Session, customer_id: int, offer_ids: Sequence[int]
) -> dict[int, int]:
    """How often the customer has used each offer, by offer id."""
    rows = await session.execute(
        select(OfferCustomerUseRow.offer_id, OfferCustomerUseRow.uses).where(
            OfferCustomerUseRow.customer_id == customer_id,
            OfferCustomerUseRow.offer_id.in_(offer_ids),
        )
    )
    return {int(i): int(n) for i, n in rows}
