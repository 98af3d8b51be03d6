"""Giving an offer to many customers at once (punchcards, clubcards, coupons, rewards)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from loyalty_gql.db.dialect import insert_for
from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import (
    CustomerRow,
    OfferAssignmentRow,
    OfferRow,
    OutboxEventRow,
    PointAccountRow,
)
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.offers import OfferKind, OfferStatus
from loyalty_gql.services.core.common import Actor, Clock
from loyalty_gql.services.core.idempotency import run_once
from loyalty_gql.services.core.uow import UnitOfWork

ASSIGNABLE = frozenset(
    {OfferKind.PUNCHCARD, OfferKind.CLUBCARD, OfferKind.COUPON, OfferKind.REWARD}
)
MAX_CUSTOMERS_PER_CALL = 10_000
BATCH = 1_000


@dataclass(frozen=True, slots=True)
class Audience:
    """Who gets the offer: listed customers, a customer group, or a tier."""

    customer_ids: tuple[int, ...] = ()
    group: str | None = None
    tier_id: int | None = None


@dataclass(frozen=True, slots=True)
class Assignment:
    """What one assignOffer call did."""

    offer_id: int
    assigned: int
    already: int


async def assign_offer(
    db: Database,
    *,
    offer_id: int,
    audience: Audience,
    actor: Actor,
    clock: Clock,
    idempotency_key: str | None = None,
) -> Assignment:
    """Assign the offer to every customer of the audience who does not have it yet.

    Each new holder gets an OFFER_ASSIGNED outbox event; existing holders are
    left alone, so a retry (or an overlapping audience) assigns nobody twice.
    """
    chosen = sum((bool(audience.customer_ids), audience.group is not None,
                  audience.tier_id is not None))  # fmt: skip
    if chosen != 1:
        raise DomainError.single(
            ErrorCode.INVALID_VALUE, "name exactly one of customerIds, customerGroup, tierId"
        )
    if len(audience.customer_ids) > MAX_CUSTOMERS_PER_CALL:
        raise DomainError.single(
            ErrorCode.INVALID_VALUE,
            f"at most {MAX_CUSTOMERS_PER_CALL} customers per call",
            "customerIds",
        )
    now = clock()

    async def work(uow: UnitOfWork) -> Assignment:
        offer = await uow.session.get(OfferRow, offer_id)
        if offer is None:
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such offer", "offerId")
        if OfferKind(offer.kind) not in ASSIGNABLE:
            raise DomainError.single(
                ErrorCode.INVALID_VALUE, "promotions apply to everyone; they are not assigned",
                "offerId",
            )  # fmt: skip
        if offer.status not in (OfferStatus.DRAFT.value, OfferStatus.PUBLISHED.value):
            raise DomainError.single(
                ErrorCode.INVALID_STATE, f"a {offer.status} offer cannot be assigned", "offerId"
            )
        ids = await _audience(uow.session, offer.site_id, audience)
        assigned = 0
        for start in range(0, len(ids), BATCH):
            assigned += await _assign_batch(uow.session, offer, ids[start : start + BATCH], now)
        return Assignment(offer.id, assigned, len(ids) - assigned)

    request: dict[str, Any] = {
        "offer": offer_id, "customers": list(audience.customer_ids),
        "group": audience.group, "tier": audience.tier_id,
    }  # fmt: skip
    return await run_once(
        db,
        scope=f"offer:{offer_id}",
        key=idempotency_key,
        operation="assignOffer",
        request=request,
        now=now,
        work=work,
        dump=lambda a: {"offer": a.offer_id, "assigned": a.assigned, "already": a.already},
        load=_load,
    )


async def _audience(session: AsyncSession, site_id: int, audience: Audience) -> list[int]:
    """The customer ids of the audience who belong to the site and are enrolled."""
    query = select(CustomerRow.id).where(
        CustomerRow.site_id == site_id, CustomerRow.enrolled_at.is_not(None)
    )
    if audience.customer_ids:
        wanted = sorted(set(audience.customer_ids))
        found: list[int] = []
        for start in range(0, len(wanted), BATCH):
            chunk = wanted[start : start + BATCH]
            found += list(await session.scalars(query.where(CustomerRow.id.in_(chunk))))
        missing = len(wanted) - len(found)
        if missing:
            raise DomainError.single(
                ErrorCode.NOT_FOUND,
                f"{missing} of the customers are not enrolled customers of this site",
                "customerIds",
            )
        return sorted(found)
    if audience.group is not None:
        query = query.where(_in_group(session, audience.group))
    else:
        query = query.where(
            exists().where(
                PointAccountRow.customer_id == CustomerRow.id,
                PointAccountRow.tier_id == audience.tier_id,
            )
        )
    return list(await session.scalars(query.order_by(CustomerRow.id)))


def _in_group(session: AsyncSession, group: str) -> Any:
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return CustomerRow.groups.op("@>")(func.jsonb_build_array(group))
    return text(
        "EXISTS (SELECT 1 FROM json_each(customers.groups) WHERE value = :group)"
    ).bindparams(group=group)


async def _assign_batch(
    session: AsyncSession, offer: OfferRow, ids: Sequence[int], now: datetime
) -> int:
    insert = insert_for(session)
    rows = [
        {"site_id": offer.site_id, "offer_id": offer.id, "customer_id": cid, "punches": 0,
         "assigned_at": now}
        for cid in ids
    ]  # fmt: skip
    result = await session.execute(
        insert(OfferAssignmentRow)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(OfferAssignmentRow.customer_id)
    )
    new = list(result.scalars())
    if new:
        await session.execute(
            insert(OutboxEventRow)
            .values(
                [
                    {"site_id": offer.site_id, "customer_id": cid, "kind": "OFFER_ASSIGNED",
                     "dedupe_key": f"assigned:{offer.id}:{cid}",
                     "payload": {"offerId": offer.id, "offerName": offer.name,
                                 "offerKind": offer.kind},
                     "created_at": now}
                    for cid in new
                ]
            )
            .on_conflict_do_nothing()
        )  # fmt: skip
    return len(new)


async def _load(_: AsyncSession, stored: dict[str, Any]) -> Assignment:
    return Assignment(int(stored["offer"]), int(stored["assigned"]), int(stored["already"]))
