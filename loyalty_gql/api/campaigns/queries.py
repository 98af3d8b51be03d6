"""Queries on campaigns (admins of the site)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from loyalty_gql.api.campaigns.types import Campaign, CampaignConnection
from loyalty_gql.api.core.pagination import (
    AFTER_ARG,
    BEFORE_ARG,
    FIRST_ARG,
    LAST_ARG,
    connect,
    page_of,
)
from loyalty_gql.api.core.permissions import IsAdmin
from loyalty_gql.api.core.resolving import AppInfo, admin_site
from loyalty_gql.db.repositories.campaigns import campaign_page, count_campaigns
from loyalty_gql.domain.campaigns import CampaignStatus, Trigger


@strawberry.input(description="Which campaigns to list.")
class CampaignFilter:
    """Filters of the campaign list."""

    statuses: list[CampaignStatus] | None = strawberry.field(
        default=None, description="Only these statuses; by default all but DELETED."
    )
    triggers: list[Trigger] | None = strawberry.field(
        default=None, description="Only campaigns of these triggers."
    )


@strawberry.type
class CampaignQueries:
    """Reading campaigns."""

    @strawberry.field(
        description="A site's campaigns, newest first. Admins only.",
        permission_classes=[IsAdmin],
    )
    async def campaigns(
        self,
        info: AppInfo,
        *,
        site_id: Annotated[
            strawberry.ID, strawberry.argument(description="Global ID of the site.")
        ],
        first: FIRST_ARG = None,
        after: AFTER_ARG = None,
        filter: Annotated[
            CampaignFilter | None, strawberry.argument(description="Which campaigns.")
        ] = None,
        last: LAST_ARG = None,
        before: BEFORE_ARG = None,
    ) -> CampaignConnection:
        """A page of campaigns."""
        ctx = info.context
        site_pk = admin_site(info, site_id)
        page = page_of(
            "campaigns", first=first, last=last, after=after, before=before,
            default=ctx.settings.default_page_size, maximum=ctx.settings.max_page_size,
        )  # fmt: skip
        wanted = filter or CampaignFilter()
        statuses = [s.value for s in wanted.statuses] if wanted.statuses else None
        triggers = [t.value for t in wanted.triggers] if wanted.triggers else None
        site = await ctx.loaders.site_by_id.load(site_pk)
        async with ctx.db.read_sessions() as session:
            rows = await campaign_page(
                session, site_pk, page.window(), statuses=statuses, triggers=triggers
            )

        async def count() -> int:
            async with ctx.db.read_sessions() as session:
                return await count_campaigns(session, site_pk, statuses=statuses, triggers=triggers)

        return connect(
            CampaignConnection, rows, page, "campaigns",
            key=lambda r: [r.id], node=lambda r: Campaign.from_row(r, site.currency),
            count=count,
        )  # fmt: skip
