"""Queries on customers."""

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
from loyalty_gql.api.core.permissions import Anyone, IsStaff, IsStaffOrCustomer
from loyalty_gql.api.core.resolving import AppInfo, staff_site
from loyalty_gql.api.customers.types import Customer, CustomerConnection
from loyalty_gql.db.repositories.customers import (
    count_customers,
    customer_page,
    customers_by_external_ids,
)


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
        *,
        site_id: Annotated[
            strawberry.ID, strawberry.argument(description="Global ID of the site.")
        ],
        first: FIRST_ARG = None,
        after: AFTER_ARG = None,
        last: LAST_ARG = None,
        before: BEFORE_ARG = None,
        search: Annotated[
            str | None,
            strawberry.argument(
                description="Prefix of the email or name, or an exact external id."
            ),
        ] = None,
    ) -> CustomerConnection:
        """A page of customers."""
        ctx = info.context
        site_pk = staff_site(info, site_id)
        page = page_of(
            "customers", first=first, last=last, after=after, before=before,
            default=ctx.settings.default_page_size, maximum=ctx.settings.max_page_size,
        )  # fmt: skip
        async with ctx.db.read_sessions() as session:
            rows = await customer_page(session, site_pk, page.window(), search=search)

        async def count() -> int:
            async with ctx.db.read_sessions() as session:
                return await count_customers(session, site_pk, search=search)

        return connect(
            CustomerConnection, rows, page, "customers",
            key=lambda r: [r.id], node=Customer.from_row, count=count,
        )  # fmt: skip
