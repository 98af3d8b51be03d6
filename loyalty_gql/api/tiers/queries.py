"""Queries on tiers."""

from __future__ import annotations

from typing import Annotated

import strawberry

from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.api.core.node import ForbiddenError
from loyalty_gql.api.core.permissions import SignedIn
from loyalty_gql.api.core.resolving import AppInfo
from loyalty_gql.api.tiers.types import Tier


@strawberry.type
class TierQueries:
    """Reading tiers."""

    @strawberry.field(
        description="A site's tiers, lowest rank first.", permission_classes=[SignedIn]
    )
    async def tiers(
        self,
        info: AppInfo,
        site_id: Annotated[
            strawberry.ID, strawberry.argument(description="Global ID of the site.")
        ],
    ) -> list[Tier]:
        """The site's tiers."""
        pk = parse_id(site_id, "Site")
        if not info.context.access.sees_site(pk):
            raise ForbiddenError("Not permitted on this site.")
        rows = await info.context.loaders.tiers_by_site.load(pk)
        return [Tier.from_row(row) for row in rows or []]
