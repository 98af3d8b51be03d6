"""GraphQL types of tiers: the levels of a program and a customer's way to the next."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from loyalty_gql.api.core.ids import to_global_id
from loyalty_gql.api.core.node import Node
from loyalty_gql.api.core.permissions import WITHIN_PARENT, CanSeeSite
from loyalty_gql.api.core.scalars import BigInt
from loyalty_gql.db.models import TierRow
from loyalty_gql.domain.tiers import TierMetric

strawberry.enum(TierMetric, description="What a tier's threshold counts.")


@strawberry.type(description="A level of the program, reached by points or spend in a window.")
class Tier(Node):
    """A tier such as Silver, Gold or Platinum."""

    pk: strawberry.Private[int]
    site_pk: strawberry.Private[int]
    name: str = strawberry.field(
        description="Name shown to customers.", permission_classes=[CanSeeSite]
    )
    rank: int = strawberry.field(
        description="Order of tiers: a higher rank is a better tier.",
        permission_classes=[CanSeeSite],
    )
    metric: TierMetric = strawberry.field(
        description="What the threshold counts.", permission_classes=[CanSeeSite]
    )
    threshold: int = strawberry.field(
        description="Points, or minor units of money, needed within the window.",
        permission_classes=[CanSeeSite],
    )
    window_months: int | None = strawberry.field(
        description="Rolling window in months; null counts the whole membership.",
        permission_classes=[CanSeeSite],
    )
    earn_multiplier: Decimal = strawberry.field(
        description="Order points are multiplied by this.", permission_classes=[CanSeeSite]
    )
    benefits: str | None = strawberry.field(
        description="What the tier brings, for customers.", permission_classes=[CanSeeSite]
    )

    @classmethod
    def from_row(cls, row: TierRow) -> Tier:
        """The GraphQL object of a tier row."""
        return cls(
            id=to_global_id("Tier", row.id),
            pk=row.id,
            site_pk=row.site_id,
            name=row.name,
            rank=row.rank,
            metric=TierMetric(row.metric),
            threshold=row.threshold,
            window_months=row.window_months,
            earn_multiplier=row.earn_multiplier,
            benefits=row.benefits,
        )


@strawberry.type(description="How far a customer is from the next tier.")
class TierProgress(Node):
    """Progress towards the next tier; its global ID is the customer's
    (``TierProgress:<customer pk>``), one record per customer in client caches."""

    next_tier: Tier | None = strawberry.field(
        description="The tier above the current one; null at the top.", metadata=WITHIN_PARENT
    )
    metric: TierMetric | None = strawberry.field(
        description="What the next tier counts.", metadata=WITHIN_PARENT
    )
    value: BigInt = strawberry.field(
        description="The customer's count in the next tier's window: points, or minor "
        "units of money spent (a total over time, so BigInt).",
        metadata=WITHIN_PARENT,
    )
    remaining: int = strawberry.field(
        description="How much more is needed for the next tier (0 when reached).",
        metadata=WITHIN_PARENT,
    )
