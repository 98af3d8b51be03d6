"""Queries on offers (admins and the shop backend)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.api.core.pagination import (
    AFTER_ARG,
    BEFORE_ARG,
    FIRST_ARG,
    LAST_ARG,
    connect,
    page_of,
)
from loyalty_gql.api.core.permissions import IsStaff
from loyalty_gql.api.core.resolving import AppInfo, staff_site
from loyalty_gql.api.offers.types import Offer, OfferConnection
from loyalty_gql.db.repositories.offers.catalog import count_offers, offer_page
from loyalty_gql.domain.offers import OfferKind, OfferStatus


@strawberry.input(description="Which offers to list.")
class OfferFilter:
    """Filters of the offer list."""

    kinds: list[OfferKind] | None = strawberry.field(default=None, description="Only these kinds.")
    statuses: list[OfferStatus] | None = strawberry.field(
        default=None, description="Only these statuses; by default all but DELETED."
    )


@strawberry.type
class OfferQueries:
    """Reading offers."""

    @strawberry.field(
        description="A site's offers, newest first (admins and the shop backend).",
        permission_classes=[IsStaff],
    )
    async def offers(
        self,
        info: AppInfo,
        *,
        site_id: Annotated[
            strawberry.ID, strawberry.argument(description="Global ID of the site.")
        ],
        first: FIRST_ARG = None,
        after: AFTER_ARG = None,
        filter: Annotated[
            OfferFilter | None, strawberry.argument(description="Which offers.")
        ] = None,
        last: LAST_ARG = None,
        before: BEFORE_ARG = None,
    ) -> OfferConnection:
        """A page of offers."""
        ctx = info.context
        site_pk = staff_site(info, site_id)
        page = page_of(
            "offers", first=first, last=last, after=after, before=before,
            default=ctx.settings.default_page_size, maximum=ctx.settings.max_page_size,
        )  # fmt: skip
        wanted = filter or OfferFilter()
        kinds = [k.value for k in wanted.kinds] if wanted.kinds else None
        statuses = [s.value for s in wanted.statuses] if wanted.statuses else None
        site = await ctx.loaders.site_by_id.load(site_pk)
        async with ctx.db.read_sessions() as session:
            rows = await offer_page(session, site_pk, page.window(), kinds=kinds, statuses=statuses)

        async def count() -> int:
            async with ctx.db.read_sessions() as session:
                return await count_offers(session, site_pk, kinds=kinds, statuses=statuses)

        return connect(
            OfferConnection, rows, page, "offers",
            key=lambda r: [r.id], node=lambda r: Offer.from_row(r, site.currency), count=count,
        )  # fmt: skip

    @strawberry.field(
        description="An offer by global ID, deleted ones included; null for other sites'.",
        permission_classes=[IsStaff],
    )
    async def offer(
        self,
        info: AppInfo,
        id: Annotated[strawberry.ID, strawberry.argument(description="Global ID.")],
    ) -> Offer | None:
        """One offer."""
        row = await info.context.loaders.offer_by_id.load(parse_id(id, "Offer"))
        if row is None or not info.context.access.serves_site(row.site_id):
            return None
        site = await info.context.loaders.site_by_id.load(row.site_id)
        return Offer.from_row(row, site.currency) if site else None
