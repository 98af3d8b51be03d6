"""Offers: rows <-> terms, reading and locking offers, keyset pages, stacking groups."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import Select, func, select

from loyalty_gql.db.models import (
    OfferAssignmentRow,
    OfferCustomerUseRow,
    OfferRow,
    StackingGroupRow,
    TierRow,
)
from loyalty_gql.db.paging import Window, windowed
from loyalty_gql.db.session import Session
from loyalty_gql.domain.offers import OfferKind, OfferScope, OfferStatus, OfferTerms, OfferValueType
from loyalty_gql.domain.values import Money


def terms_of(row: OfferRow, currency: str) -> OfferTerms:
    """The terms stored on an offer row."""
    price = row.exchange_price_minor
    return OfferTerms(
        kind=OfferKind(row.kind),
        name=row.name,
        value_type=OfferValueType(row.value_type),
        value=row.value,
        scope=OfferScope(row.scope),
        targets=tuple(row.targets),
        description=row.description,
        image_url=row.image_url,
        loyalty_price=row.loyalty_price,
        reward_points=row.reward_points,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        max_uses=row.max_uses,
        max_uses_per_customer=row.max_uses_per_customer,
        minimum_order_value=Money(row.minimum_order_minor, currency).amount,
        customer_groups=tuple(row.customer_groups),
        tier_ids=tuple(row.tier_ids),
        badge_codes=tuple(row.badge_codes or ()),
        priority=row.priority,
        exclusive=row.exclusive,
        stacking_group=row.stacking_group,
        punches_required=row.punches_required,
        punch_minimum_quantity=row.punch_minimum_quantity,
        membership_fee_points=row.membership_fee_points,
        coupon_code=row.coupon_code,
        exchange_product_id=row.exchange_product_id,
        exchange_price=None if price is None else Money(price, currency).amount,
    )


def store_terms(row: OfferRow, terms: OfferTerms, currency: str) -> None:
    """Write ``terms`` onto an offer row."""
    row.kind = terms.kind.value
    row.name = terms.name.strip()
    row.value_type = terms.value_type.value
    row.value = terms.value
    row.scope = terms.scope.value
    row.targets = list(terms.targets)
    row.description = terms.description
    row.image_url = terms.image_url
    row.loyalty_price = terms.loyalty_price
    row.reward_points = terms.reward_points
    row.valid_from = terms.valid_from
    row.valid_until = terms.valid_until
    row.max_uses = terms.max_uses
    row.max_uses_per_customer = terms.max_uses_per_customer
    row.minimum_order_minor = Money.from_decimal(terms.minimum_order_value, currency).minor_units
    row.customer_groups = sorted(set(terms.customer_groups))
    row.tier_ids = sorted(set(terms.tier_ids))
    row.badge_codes = sorted(set(terms.badge_codes))
    row.priority = terms.priority
    row.exclusive = terms.exclusive
    row.stacking_group = terms.stacking_group
    row.punches_required = terms.punches_required
    row.punch_minimum_quantity = terms.punch_minimum_quantity
    row.membership_fee_points = terms.membership_fee_points
    row.coupon_code = terms.coupon_code
    row.exchange_product_id = terms.exchange_product_id
    row.exchange_price_minor = (
        None
        if terms.exchange_product_id is None
        else Money.from_decimal(terms.exchange_price or Decimal(0), currency).minor_units
    )


async def offer_by_id(session: Session, offer_id: int) -> OfferRow | None:
    """One offer (from the session's identity map when it holds it already)."""
    return await session.get(OfferRow, offer_id)


async def locked_offer(session: Session, offer_id: int, *, lock: bool) -> OfferRow | None:
    """One offer, locked for update when ``lock`` (row locks on PostgreSQL)."""
    query = select(OfferRow).where(OfferRow.id == offer_id)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def site_tier_ids(session: Session, site_id: int, tier_ids: Sequence[int]) -> set[int]:
    """Which of ``tier_ids`` are tiers of the site."""
    return set(
        await session.scalars(
            select(TierRow.id).where(TierRow.id.in_(tier_ids), TierRow.site_id == site_id)
        )
    )


async def coupon_code_taken(
    session: Session, site_id: int, code: str, *, besides: int | None
) -> bool:
    """Whether an offer of the site (other than ``besides``) has this coupon code."""
    clash = select(OfferRow.id).where(OfferRow.site_id == site_id, OfferRow.coupon_code == code)
    if besides is not None:
        clash = clash.where(OfferRow.id != besides)
    return await session.scalar(clash) is not None


async def offers_by_ids(session: Session, ids: Sequence[int]) -> dict[int, OfferRow]:
    """Offers keyed by id."""
    rows = await session.scalars(select(OfferRow).where(OfferRow.id.in_(ids)))
    return {row.id: row for row in rows}


async def offer_page(
    session: Session,
    site_id: int,
    window: Window,
    *,
    kinds: Sequence[str] | None,
    statuses: Sequence[str] | None,
) -> list[OfferRow]:
    """A window of a site's offers (newest first); deleted ones only when asked for."""
    query = windowed(_offers_of(site_id, kinds, statuses), OfferRow.id, window, descending=True)
    return list(await session.scalars(query))


async def count_offers(
    session: Session, site_id: int, *, kinds: Sequence[str] | None, statuses: Sequence[str] | None
) -> int:
    """How many of a site's offers match (along the site, status and kind index)."""
    query = _offers_of(site_id, kinds, statuses).with_only_columns(
        func.count(), maintain_column_froms=True
    )
    return int(await session.scalar(query) or 0)


def _offers_of(
    site_id: int, kinds: Sequence[str] | None, statuses: Sequence[str] | None
) -> Select[OfferRow]:
    query = select(OfferRow).where(OfferRow.site_id == site_id)
    if kinds:
        query = query.where(OfferRow.kind.in_(kinds))
    if statuses:
        query = query.where(OfferRow.status.in_(statuses))
    else:
        query = query.where(OfferRow.status != OfferStatus.DELETED.value)
    return query


async def my_offers_page(
    session: Session,
    site_id: int,
    customer_id: int,
    window: Window,
    *,
    kinds: Sequence[str] | None,
) -> list[OfferRow]:
    """A window of a customer's "My offers": published offers they can buy or were given,
    newest first.
    Bought are rewards and coupons with a loyalty price, and clubcards with a membership
    fee (what `price_in_points` prices, so My offers lists what redeemOffer sells)."""
    assigned = select(OfferAssignmentRow.offer_id).where(
        OfferAssignmentRow.customer_id == customer_id
    )
    sold = (OfferKind.REWARD.value, OfferKind.COUPON.value)
    buyable = (OfferRow.kind.in_(sold) & OfferRow.loyalty_price.is_not(None)) | (
        (OfferRow.kind == OfferKind.CLUBCARD.value) & OfferRow.membership_fee_points.is_not(None)
    )
    query = select(OfferRow).where(
        OfferRow.site_id == site_id,
        OfferRow.status == OfferStatus.PUBLISHED.value,
        buyable | OfferRow.id.in_(assigned),
    )
    if kinds:
        query = query.where(OfferRow.kind.in_(kinds))
    return list(await session.scalars(windowed(query, OfferRow.id, window, descending=True)))


async def holdings(
    session: Session, customer_id: int, offer_ids: Sequence[int]
) -> tuple[dict[int, OfferAssignmentRow], dict[int, int]]:
    """The customer's assignments of these offers, and how often they used each."""
    assignments = {
        row.offer_id: row
        for row in await session.scalars(
            select(OfferAssignmentRow).where(
                OfferAssignmentRow.customer_id == customer_id,
                OfferAssignmentRow.offer_id.in_(offer_ids),
            )
        )
    }
    uses = {
        offer_id: int(count)
        for offer_id, count in await session.execute(
            select(OfferCustomerUseRow.offer_id, OfferCustomerUseRow.uses).where(
                OfferCustomerUseRow.customer_id == customer_id,
                OfferCustomerUseRow.offer_id.in_(offer_ids),
            )
        )
    }
    return assignments, uses


async def stacking_group_named(
    session: Session, site_id: int, name: str
) -> StackingGroupRow | None:
    """The site's stacking group of that name."""
    return await session.scalar(
        select(StackingGroupRow).where(
            StackingGroupRow.site_id == site_id, StackingGroupRow.name == name
        )
    )


async def stacking_group_by_id(session: Session, group_id: int) -> StackingGroupRow | None:
    """One stacking group."""
    return await session.get(StackingGroupRow, group_id)


async def stacking_groups(session: Session, site_id: int) -> list[StackingGroupRow]:
    """A site's stacking groups by name."""
    return list(
        await session.scalars(
            select(StackingGroupRow)
            .where(StackingGroupRow.site_id == site_id)
            .order_by(StackingGroupRow.name)
        )
    )
