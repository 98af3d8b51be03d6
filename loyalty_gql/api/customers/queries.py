"""Queries on customers."""

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
from loyalty_gql.api.core.permissions import Anyone, IsStaff, IsStaffOrCustomer
from loyalty_gql.api.core.resolving import AppInfo, staff_site
from loyalty_gql.api.customers.types import Customer
from loyalty_gql.db.repositories.customers import customer_page, customers_by_external_ids


@strawberry.type
class CustomerQueries:
    """Reading customers."""

    @strawberry.field(
        description="The customer of the token; null for other callers.",
        permission_classes=[Anyone],
    )
    async def viewer(self, info: AppInfo) -> Customer | None:
        """The signed-in customer."""
        customer_id = info.context.access.customer_id
        if customer_id is None:
            return None
        row = await info.context.loaders.customer_by_id.load(customer_id)
        return Customer.from_row(row) if row else None

    @strawberry.field(
        description="A customer by global ID; null when not found or not visible to the caller.",
        permission_classes=[IsStaffOrCustomer],
    )
    async def customer(
        self,
        info: AppInfo,
        id: Annotated[strawberry.ID, strawberry.argument(description="Global ID.")],
    ) -> Customer | None:
        """One customer."""
        pk = parse_id(id, "Customer")
        row = await info.context.loaders.customer_by_id.load(pk)
        if row is None or not info.context.access.sees_customer(row.site_id, row.id):
            return None
        return Customer.from_row(row)

    @strawberry.field(
        description="A customer by the shop platform's id; null when there is none.",
        permission_classes=[IsStaff],
    )
    async def customer_by_external_id(
        self,
        info: AppInfo,
        site_id: Annotated[
            strawberry.ID, strawberry.argument(description="Global ID of the site.")
        ],
        external_id: Annotated[str, strawberry.argument(description="The shop's customer id.")],
    ) -> Customer | None:
        """One customer by external id."""
        site_pk = staff_site(info, site_id)
        async with info.context.db.read_sessions() as session:
            found = await customers_by_external_ids(session, [(site_pk, external_id)])
        row = found.get((site_pk, external_id))
        return Customer.from_row(row) if row else None

    @strawberry.field(
        description="A site's customers in registration order, optionally searched.",
        permission_classes=[IsStaff],
    )
    async def customers(
        self,
        info: AppInfo,
        site_id: Annotated[
            strawberry.ID, strawberry.argument(description="Global ID of the site.")
        ],
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
        search: Annotated[
            str | None,
            strawberry.argument(
                description="Prefix of the email or name, or an exact external id."
            ),
        ] = None,
    ) -> Connection[Customer]:
        """A page of customers."""
        settings = info.context.settings
        site_pk = staff_site(info, site_id)
        size = page_size(first, default=settings.default_page_size, maximum=settings.max_page_size)
        after_id = decode_id_cursor(after)
        async with info.context.db.read_sessions() as session:
            rows = await customer_page(
                session, site_pk, after_id=after_id, limit=size + 1, search=search
            )
        return build_connection(
            rows, size=size, after=after, key=lambda r: [r.id], node=Customer.from_row
        )
