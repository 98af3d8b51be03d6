"""Queries on offers (admins and the shop backend)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.api.core.pagination import (
    AFTER,
    FIRST,
    Connection,
    build_connection,
    decode_id_cursor,
    page_size,
)
from loyalty_gql.api.core.permissions import IsStaff
from loyalty_gql.api.core.resolving import AppInfo, staff_site
from loyalty_gql.api.offers.types import Offer
from loyalty_gql.db.repositories.offers.catalog import offer_page
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
        site_id: Annotated[
            strawberry.ID, strawberry.argument(description="Global ID of the site.")
        ],
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
        filter: Annotated[
            OfferFilter | None, strawberry.argument(description="Which offers.")
        ] = None,
    ) -> Connection[Offer]:
        """A page of offers."""
        settings = info.context.settings
        site_pk = staff_site(info, site_id)
        size = page_size(first, default=settings.default_page_size, maximum=settings.max_page_size)
        wanted = filter or OfferFilter()
        after_id = decode_id_cursor(after)
        site = await info.context.loaders.site_by_id.load(site_pk)
        async with info.context.db.read_sessions() as session:
            rows = await offer_page(
                session,
                site_pk,
                after_id=after_id,
                limit=size + 1,
                kinds=[k.value for k in wanted.kinds] if wanted.kinds else None,
                statuses=[s.value for s in wanted.statuses] if wanted.statuses else None,
            )
        return build_connection(
            rows,
            size=size,
            after=after,
            key=lambda r: [r.id],
            node=lambda r: Offer.from_row(r, site.currency),
        )

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
