"""Queries on sites."""

from __future__ import annotations

from typing import Annotated

import strawberry

from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.api.core.permissions import SignedIn
from loyalty_gql.api.core.resolving import AppInfo
from loyalty_gql.api.sites.types import Site


@strawberry.type
class SiteQueries:
    """Reading sites."""

    @strawberry.field(
        description="A site the caller belongs to; null for any other.",
        permission_classes=[SignedIn],
    )
    async def site(
        self,
        info: AppInfo,
        id: Annotated[strawberry.ID, strawberry.argument(description="Global ID of the site.")],
    ) -> Site | None:
        """One site by global ID."""
        pk = parse_id(id, "Site")
        if not info.context.access.sees_site(pk):
            return None
        row = await info.context.loaders.site_by_id.load(pk)
        return Site.from_row(row) if row else None

    @strawberry.field(
        description="The sites the caller belongs to, in code order.",
        permission_classes=[SignedIn],
    )
    async def sites(self, info: AppInfo) -> list[Site]:
        """Every site the token lists."""
        ids = sorted(info.context.access.site_ids)
        rows = await info.context.loaders.site_by_id.load_many(ids)
        return sorted((Site.from_row(r) for r in rows if r), key=lambda s: s.code)
