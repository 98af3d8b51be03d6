"""Offers customers hold: assignments to an audience, uses counted, vouchers bought."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select, text, update

from loyalty_gql.db.dialect import insert_for
from loyalty_gql.db.models import (
    CustomerRow,
    OfferAssignmentRow,
    OfferCustomerUseRow,
    OfferRow,
    OutboxEventRow,
    PointAccountRow,
    VoucherRow,
)
from loyalty_gql.db.session import Session
from loyalty_gql.db.versions import scoped, touch, touch_events, touched_limited_offers


def _enrolled(site_id: int) -> Any:
    return select(CustomerRow.id).where(
        CustomerRow.site_id == site_id, CustomerRow.enrolled_at.is_not(None)
    )


async def enrolled_among(session: Session, site_id: int, customer_ids: Sequence[int]) -> list[int]:
    """Which of ``customer_ids`` are enrolled customers of the site."""
    return list(await session.scalars(_enrolled(site_id).where(CustomerRow.id.in_(customer_ids))))


async def enrolled_in_group(session: Session, site_id: int, group: str) -> list[int]:
    """The site's enrolled customers of a customer group, by id."""
    query = _enrolled(site_id).where(_in_group(session, group))
    return list(await session.scalars(query.order_by(CustomerRow.id)))


async def enrolled_in_tier(session: Session, site_id: int, tier_id: int | None) -> list[int]:
    """The site's enrolled customers whose account is now in the tier, by id."""
    query = _enrolled(site_id).where(
        exists().where(
            PointAccountRow.customer_id == CustomerRow.id, PointAccountRow.tier_id == tier_id
        )
    )
    return list(await session.scalars(query.order_by(CustomerRow.id)))


def _in_group(session: Session, group: str) -> ColumnElement[bool]:
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return CustomerRow.groups.op("@>")(func.jsonb_build_array(group))
    return text(
        "EXISTS (SELECT 1 FROM json_each(customers.groups) WHERE value = :group)"
    ).bindparams(group=group)  # type: ignore[return-value]


async def assign_to(
    session: Session, offer: OfferRow, customer_ids: Sequence[int], now: datetime
) -> list[int]:
    """Assign the offer to those of ``customer_ids`` who do not hold it; those who got it."""
    insert = insert_for(session)
    rows = [
        {"site_id": offer.site_id, "offer_id": offer.id, "customer_id": cid, "punches": 0,
         "assigned_at": now}
        for cid in customer_ids
    ]  # fmt: skip
    touch(session, customers=customer_ids)
    result = await session.execute(
        scoped(insert(OfferAssignmentRow))
        .values(rows)
        .on_conflict_do_nothing()
        .returning(OfferAssignmentRow.customer_id)
    )
    return list(result.scalars())


async def add_events_once(
    session: Session,
    *,
    site_id: int,
    kind: str,
    dedupe_keys: Mapping[int, str],
    payload: dict[str, Any],
    now: datetime,
) -> None:
    """The same outbox event for each customer of ``dedupe_keys`` (customer id -> its
    event's key), in one statement; those already written are left alone (the site's
    event subscribers are told of the others at commit)."""
    insert = insert_for(session)
    written = await session.scalars(
        insert(OutboxEventRow)
        .values(
            [
                {"site_id": site_id, "customer_id": cid, "kind": kind,
                 "dedupe_key": key, "payload": payload, "created_at": now}
                for cid, key in dedupe_keys.items()
            ]
        )
        .on_conflict_do_nothing()
        .returning(OutboxEventRow.id)
    )  # fmt: skip
    touch_events(session, site_id, written)


async def holds_offer(session: Session, offer_id: int, customer_id: int) -> bool:
    """Whether the customer was given (or joined) the offer."""
    return bool(
        await session.scalar(
            select(OfferAssignmentRow.id).where(
                OfferAssignmentRow.offer_id == offer_id,
                OfferAssignmentRow.customer_id == customer_id,
            )
        )
    )


async def customer_uses(
    session: Session, offer_id: int, customer_id: int
) -> OfferCustomerUseRow | None:
    """How often the customer used the offer, if ever."""
    return await session.get(OfferCustomerUseRow, (offer_id, customer_id))


async def count_use(session: Session, offer_id: int) -> bool:
    """Count one more use of the offer unless its total limit is reached; True if counted.

    One conditional UPDATE, so concurrent buyers never pass the limit."""
    counted = await session.execute(
        scoped(update(OfferRow))
        .where(
            OfferRow.id == offer_id,
            (OfferRow.max_uses.is_(None)) | (OfferRow.uses < OfferRow.max_uses),
        )
        .values(uses=OfferRow.uses + 1)
        .returning(OfferRow.site_id, OfferRow.max_uses)
        .execution_options(synchronize_session=False)
    )
    return touched_limited_offers(session, counted.all()) == 1


async def voucher_by_id(session: Session, voucher_id: int) -> VoucherRow | None:
    """One voucher."""
    return await session.scalar(select(VoucherRow).where(VoucherRow.id == voucher_id))
