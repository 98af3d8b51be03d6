"""GraphQL type of a customer."""

from __future__ import annotations

from datetime import datetime

import strawberry

from loyalty_gql.api.core.ids import to_global_id
from loyalty_gql.api.core.node import Node
from loyalty_gql.api.core.permissions import CanSeeCustomer
from loyalty_gql.api.core.resolving import AppInfo
from loyalty_gql.api.sites.types import Site
from loyalty_gql.db.models import CustomerRow


@strawberry.type(description="A customer of a shop, as the shop registered them.")
class Customer(Node):
    """A registered customer and their place in the program."""

    pk: strawberry.Private[int]
    site_pk: strawberry.Private[int]
    external_id: str = strawberry.field(
        description="The customer's id in the shop's platform.",
        permission_classes=[CanSeeCustomer],
    )
    email: str | None = strawberry.field(
        description="Email address, lower-cased.", permission_classes=[CanSeeCustomer]
    )
    name: str | None = strawberry.field(
        description="Name for greetings.", permission_classes=[CanSeeCustomer]
    )
    groups: list[str] = strawberry.field(
        description="Customer groups the shop assigned (offers can be limited to them).",
        permission_classes=[CanSeeCustomer],
    )
    marketing_consent: bool = strawberry.field(
        description="Whether the customer agreed to marketing messages.",
        permission_classes=[CanSeeCustomer],
    )
    enrolled_at: datetime | None = strawberry.field(
        description="When the customer joined the program; null when not enrolled.",
        permission_classes=[CanSeeCustomer],
    )
    created_at: datetime = strawberry.field(
        description="When the shop registered the customer.", permission_classes=[CanSeeCustomer]
    )
    updated_at: datetime = strawberry.field(
        description="When the profile last changed.", permission_classes=[CanSeeCustomer]
    )

    @strawberry.field(
        description="Whether the customer takes part in the program (earns and spends points).",
        permission_classes=[CanSeeCustomer],
    )
    def enrolled(self) -> bool:
        """Whether the customer is enrolled."""
        return self.enrolled_at is not None

    @strawberry.field(
        description="The shop the customer belongs to.", permission_classes=[CanSeeCustomer]
    )
    async def site(self, info: AppInfo) -> Site:
        """The customer's site."""
        row = await info.context.loaders.site_by_id.load(self.site_pk)
        return Site.from_row(row)

    @classmethod
    def from_row(cls, row: CustomerRow) -> Customer:
        """The GraphQL object of a customer row."""
        return cls(
            id=to_global_id("Customer", row.id),
            pk=row.id,
            site_pk=row.site_id,
            external_id=row.external_id,
            email=row.email,
            name=row.name,
            groups=list(row.groups),
            marketing_consent=row.marketing_consent,
            enrolled_at=row.enrolled_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
