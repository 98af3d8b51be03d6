"""The per-process index of each site's live campaigns, rebuilt when the site's
`campaigns_version` moves (a site that never had a campaign costs no statement)."""

from __future__ import annotations

from collections import OrderedDict

from loyalty_gql.db.models import SiteRow
from loyalty_gql.db.repositories import campaigns as repo
from loyalty_gql.db.session import Session
from loyalty_gql.domain.campaigns import CampaignIndex

CACHED_SITES = 256
EMPTY = CampaignIndex()

_CACHE: OrderedDict[int, tuple[int, CampaignIndex]] = OrderedDict()


async def site_campaigns(session: Session, site: SiteRow) -> CampaignIndex:
    """The site's live campaigns, from this process's cache while still current."""
    if site.campaigns_version == 0:
        return EMPTY
    cached = _CACHE.get(site.id)
    if cached is not None and cached[0] == site.campaigns_version:
        _CACHE.move_to_end(site.id)
        return cached[1]
    rows = await repo.live_campaigns(session, site.id)
    index = CampaignIndex.of(repo.campaign_of(row) for row in rows)
    _CACHE[site.id] = (site.campaigns_version, index)
    while len(_CACHE) > CACHED_SITES:
        _CACHE.popitem(last=False)
    return index


def forget_site_campaigns() -> None:
    """Empty this process's cache (tests switching databases)."""
    _CACHE.clear()
