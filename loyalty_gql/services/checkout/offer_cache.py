"""The per-process index of each site's live automatic offers, rebuilt when the site's
`offers_version` moves."""

from __future__ import annotations

import asyncio
import gc
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from loyalty_gql.db.models import SiteRow
from loyalty_gql.db.repositories import checkout as checkout_repo
from loyalty_gql.db.repositories.offers.catalog import terms_of
from loyalty_gql.db.session import Session
from loyalty_gql.domain.checkout import (
    LiveOffer,
    OfferIndex,
    PriceBase,
    StackingGroup,
    StackingMode,
)

CACHED_SITES = 256


@dataclass(frozen=True, slots=True)
class SiteOffers:
    """One site's index and stacking groups, as of an offers_version."""

    version: int
    index: OfferIndex
    groups: dict[str, StackingGroup]


_CACHE: OrderedDict[int, SiteOffers] = OrderedDict()


_BUILDING: dict[tuple[int, int], asyncio.Future[SiteOffers | None]] = {}


async def site_offers(session: Session, site: SiteRow, now: datetime) -> SiteOffers:
    """The site's live automatic offers, from this process's cache while still current."""
    cached = _CACHE.get(site.id)
    if cached is not None and cached.version == site.offers_version:
        _CACHE.move_to_end(site.id)
        return cached
    key = (site.id, site.offers_version)
    building = _BUILDING.get(key)
    if building is not None:  # another request of this process is loading it: wait
        built = await asyncio.shield(building)
        if built is not None:
            return built
    future: asyncio.Future[SiteOffers | None] = asyncio.get_running_loop().create_future()
    _BUILDING[key] = future
    fresh: SiteOffers | None = None
    try:
        fresh = await _build_site_offers(session, site, now)
        return fresh
    finally:
        _BUILDING.pop(key, None)
        future.set_result(fresh)  # waiters get the index, or None: then they load it


async def _build_site_offers(session: Session, site: SiteRow, now: datetime) -> SiteOffers:
    rows = await checkout_repo.live_automatic_offers(session, site.id, now)
    index = OfferIndex(
        (LiveOffer(row.id, terms_of(row, site.currency)) for row in rows), site.offers_version
    )
    groups = {
        row.name: StackingGroup(row.name, StackingMode(row.mode), PriceBase(row.price_base))
        for row in await checkout_repo.stacking_group_rows(session, site.id)
    }
    fresh = SiteOffers(site.offers_version, index, groups)
    _CACHE[site.id] = fresh
    while len(_CACHE) > CACHED_SITES:
        _CACHE.popitem(last=False)
    # The index lives until the site's offers change: keep its many objects out of
    # the cyclic collector's full scans (as the app does with its start-up heap).
    # Reference counting still frees a replaced index; it holds no cycles.
    gc.freeze()
    return fresh


def forget_site_offers() -> None:
    """Empty this process's cache (tests switching databases)."""
    _CACHE.clear()
    _BUILDING.clear()
