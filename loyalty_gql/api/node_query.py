"""`node(id:)`: fetch any object by its global ID."""

from __future__ import annotations

from typing import Annotated

import strawberry

from loyalty_gql.api.core.ids import from_global_id
from loyalty_gql.api.core.node import Node
from loyalty_gql.api.core.permissions import SignedIn
from loyalty_gql.api.core.resolving import AppInfo
from loyalty_gql.api.customers.types import Customer
from loyalty_gql.api.sites.types import Site


@strawberry.type
class NodeQueries:
    """The Relay node field."""

    @strawberry.field(
        description="Any object by global ID; null when not found or not visible to the caller.",
        permission_classes=[SignedIn],
    )
    async def node(
        self,
        info: AppInfo,
        id: Annotated[strawberry.ID, strawberry.argument(description="Global ID.")],
    ) -> Node | None:
        """One object of any type."""
        type_name, pk = from_global_id(id)
        access = info.context.access
        loaders = info.context.loaders
        if type_name == "Site":
            site = await loaders.site_by_id.load(pk)
            return Site.from_row(site) if site and access.sees_site(pk) else None
        if type_name == "Customer":
            row = await loaders.customer_by_id.load(pk)
            if row is None or not access.sees_customer(row.site_id, row.id):
                return None
            return Customer.from_row(row)
        return None
