"""Giving an offer to many customers at once (punchcards, clubcards, coupons, rewards)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import OfferRow
from loyalty_gql.db.repositories.offers.catalog import offer_by_id
from loyalty_gql.db.repositories.offers.holdings import (
    add_events_once,
    assign_to,
    enrolled_among,
    enrolled_in_group,
    enrolled_in_tier,
)
from loyalty_gql.db.session import Session
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.offers import OfferKind, OfferStatus
from loyalty_gql.services.core.common import Actor, Clock
from loyalty_gql.services.core.idempotency import Idempotency, run_once
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
    retry: Idempotency,
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
            "customer_ids",
        )
    now = clock()

    async def work(uow: UnitOfWork) -> Assignment:
        offer = await offer_by_id(uow.session, offer_id)
        if offer is None:
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such offer", "offer_id")
        if OfferKind(offer.kind) not in ASSIGNABLE:
            raise DomainError.single(
                ErrorCode.INVALID_VALUE, "promotions apply to everyone; they are not assigned",
                "offer_id",
            )  # fmt: skip
        if offer.status not in (OfferStatus.DRAFT.value, OfferStatus.PUBLISHED.value):
            raise DomainError.single(
                ErrorCode.INVALID_STATE, f"a {offer.status} offer cannot be assigned", "offer_id"
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
        retry=retry,
        request=request,
        now=now,
        work=work,
        dump=lambda a: {"offer": a.offer_id, "assigned": a.assigned, "already": a.already},
        load=_load,
    )


async def _audience(session: Session, site_id: int, audience: Audience) -> list[int]:
    """The customer ids of the audience who belong to the site and are enrolled."""
    if audience.customer_ids:
        wanted = sorted(set(audience.customer_ids))
        found: list[int] = []
        for start in range(0, len(wanted), BATCH):
            found += await enrolled_among(session, site_id, wanted[start : start + BATCH])
        missing = len(wanted) - len(found)
        if missing:
            raise DomainError.single(
                ErrorCode.NOT_FOUND,
                f"{missing} of the customers are not enrolled customers of this site",
                "customer_ids",
            )
        return sorted(found)
    if audience.group is not None:
        return await enrolled_in_group(session, site_id, audience.group)
    return await enrolled_in_tier(session, site_id, audience.tier_id)


async def _assign_batch(
    session: Session, offer: OfferRow, ids: Sequence[int], now: datetime
) -> int:
    new = await assign_to(session, offer, ids, now)
    if new:
        await add_events_once(
            session,
            site_id=offer.site_id,
            kind="OFFER_ASSIGNED",
            dedupe_keys={cid: f"assigned:{offer.id}:{cid}" for cid in new},
            payload={"offer_id": offer.id, "offer_name": offer.name, "offer_kind": offer.kind},
            now=now,
        )
    return len(new)


async def _load(_: Session, stored: dict[str, Any]) -> Assignment:
    return Assignment(int(stored["offer"]), int(stored["assigned"]), int(stored["already"]))
