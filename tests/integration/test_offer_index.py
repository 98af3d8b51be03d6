"""The per-process index of a site's live offers: rebuilt on change, once at a time."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import select

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import SiteRow
from loyalty_gql.domain.offers import OfferKind, OfferTerms, OfferValueType
from loyalty_gql.services import sites
from loyalty_gql.services.checkout import site_offers
from loyalty_gql.services.core.common import Actor
from loyalty_gql.services.offers import catalog as offers
from tests.conftest import StatementCounter
from tests.support.clock import Clock

ADMIN = Actor("admin", "test")


async def _site_with_promotion(db: Database, clock: Clock) -> int:
    site = await sites.create_site(
        db, code="shop-a", name="Shop A", currency="EUR", actor=ADMIN, clock=clock
    )
    terms = OfferTerms(
        kind=OfferKind.PROMOTION, name="10%", value_type=OfferValueType.PERCENT, value=Decimal(10)
    )
    offer = await offers.create_offer(db, site_id=site.id, terms=terms, actor=ADMIN, clock=clock)
    await offers.change_status(db, offer_id=offer.id, action="publish", actor=ADMIN, clock=clock)
    return site.id


async def _site(db: Database, site_id: int) -> SiteRow:
    async with db.read_sessions() as session:
        row = await session.scalar(select(SiteRow).where(SiteRow.id == site_id))
    assert row is not None
    return row


async def test_concurrent_requests_of_a_stale_index_load_the_offers_once(
    db: Database, clock: Clock, statements: StatementCounter
) -> None:
    # given: a site whose index this process has not built yet
    site = await _site(db, await _site_with_promotion(db, clock))

    async def lookup() -> int:
        async with db.read_sessions() as session:
            return len((await site_offers(session, site, clock())).index)

    # when: four requests need it at the same moment
    with statements:
        sizes = await asyncio.gather(*(lookup() for _ in range(4)))
    # then: every one has the offer, and one query loaded the offers for all four
    assert sizes == [1, 1, 1, 1]
    loads = [s for s in statements.statements if "FROM offers" in s]
    assert len(loads) == 1, loads


async def test_an_offer_change_is_seen_by_the_next_lookup(db: Database, clock: Clock) -> None:
    site_id = await _site_with_promotion(db, clock)
    async with db.read_sessions() as session:
        before = await site_offers(session, await _site(db, site_id), clock())
    await offers.change_status(db, offer_id=1, action="unpublish", actor=ADMIN, clock=clock)
    async with db.read_sessions() as session:
        after = await site_offers(session, await _site(db, site_id), clock())
    assert (len(before.index), len(after.index)) == (1, 0)
    assert after.version == before.version + 1
