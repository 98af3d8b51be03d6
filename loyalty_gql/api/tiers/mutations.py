"""Mutations on tiers: defining, changing and deleting them (admins)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import strawberry

from loyalty_gql.api.core.arguments import IDEMPOTENCY_KEY, INPUT
from loyalty_gql.api.core.errors import UserError
from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.api.core.permissions import PUBLIC, WITHIN_PARENT, IsAdmin
from loyalty_gql.api.core.resolving import (
    TIER,
    AppInfo,
    admin_site,
    managed,
    node_or_not_found,
    retry_of,
)
from loyalty_gql.api.tiers.types import Tier
from loyalty_gql.db.models import TierRow
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.tiers import TierMetric
from loyalty_gql.services import tiers as tier_service


@strawberry.input(description="A new tier.")
class CreateTierInput:
    """Tier definition."""

    site_id: strawberry.ID = strawberry.field(description="Global ID of the site.")
    name: str = strawberry.field(description="Name, unique in the site.")
    rank: int = strawberry.field(description="Higher is better (0-1000).")
    metric: TierMetric = strawberry.field(description="What the threshold counts.")
    threshold: int = strawberry.field(
        description="Points, or minor units of money (cents), within the window."
    )
    window_months: int | None = strawberry.field(
        default=12, description="Rolling window in months; null for lifetime."
    )
    earn_multiplier: Decimal = strawberry.field(
        default=Decimal(1), description="Multiplier of order points (1-100)."
    )
    benefits: str | None = strawberry.field(default=None, description="Text for customers.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="Tier fields to change; omitted fields keep their value.")
class UpdateTierInput:
    """A partial tier update."""

    tier_id: strawberry.ID = strawberry.field(description="Global ID of the tier.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="New name.")
    rank: int | None = strawberry.field(default=strawberry.UNSET, description="New rank.")
    metric: TierMetric | None = strawberry.field(
        default=strawberry.UNSET, description="New metric."
    )
    threshold: int | None = strawberry.field(default=strawberry.UNSET, description="New threshold.")
    window_months: int | None = strawberry.field(
        default=strawberry.UNSET, description="New window; null for lifetime."
    )
    earn_multiplier: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description="New multiplier."
    )
    benefits: str | None = strawberry.field(default=strawberry.UNSET, description="New text.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="A tier to delete.")
class DeleteTierInput:
    """Which tier."""

    tier_id: strawberry.ID = strawberry.field(description="Global ID of the tier.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="Result of a tier change.")
class TierPayload:
    """The tier, or why the change was refused."""

    tier: Tier | None = strawberry.field(
        description="The tier as it is now.", metadata=WITHIN_PARENT
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing changed.", metadata=PUBLIC
    )


@strawberry.type(description="Result of deleteTier.")
class DeleteTierPayload:
    """The deleted tier's ID, or why it was not deleted."""

    deleted_tier_id: strawberry.ID | None = strawberry.field(
        description="Global ID of the deleted tier.", metadata=WITHIN_PARENT
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing changed.", metadata=PUBLIC
    )


def _changes(input: UpdateTierInput) -> tier_service.TierChanges:
    """The changes an update asks for: the fields given; a field that may be omitted but
    not cleared is REQUIRED when null."""
    given: dict[str, Any] = {
        name: value
        for name, value in vars(input).items()
        if value is not strawberry.UNSET and name not in ("tier_id", "idempotency_key")
    }
    for name in ("name", "rank", "metric", "threshold", "earn_multiplier"):
        if name in given and given[name] is None:
            raise DomainError.single(ErrorCode.REQUIRED, "may be omitted but not null", name)
    return tier_service.TierChanges(**given)


async def _tier_of_admin(info: AppInfo, tier_id: str) -> int:
    row = await node_or_not_found(info, tier_id, TIER, managed, field="tierId")
    return row.id


@strawberry.type
class TierMutations:
    """Changing tiers."""

    @strawberry.mutation(description="Add a tier.", permission_classes=[IsAdmin])
    async def create_tier(
        self,
        info: AppInfo,
        input: Annotated[CreateTierInput, strawberry.argument(description=INPUT)],
    ) -> TierPayload:
        """Create a tier."""
        ctx = info.context
        site_pk = admin_site(info, input.site_id)
        terms = tier_service.TierTerms(
            name=input.name,
            rank=input.rank,
            metric=input.metric,
            threshold=input.threshold,
            window_months=input.window_months,
            earn_multiplier=input.earn_multiplier,
            benefits=input.benefits,
        )
        row: TierRow = await tier_service.create_tier(
            ctx.db,
            site_id=site_pk,
            terms=terms,
            actor=ctx.actor,
            clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
        )
        return TierPayload(tier=Tier.from_row(row), user_errors=[])

    @strawberry.mutation(description="Change a tier.", permission_classes=[IsAdmin])
    async def update_tier(
        self,
        info: AppInfo,
        input: Annotated[UpdateTierInput, strawberry.argument(description=INPUT)],
    ) -> TierPayload:
        """Update a tier."""
        ctx = info.context
        changes = _changes(input)
        pk = await _tier_of_admin(info, input.tier_id)
        row = await tier_service.update_tier(
            ctx.db,
            tier_id=pk,
            changes=changes,
            actor=ctx.actor,
            clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
        )
        return TierPayload(tier=Tier.from_row(row), user_errors=[])

    @strawberry.mutation(
        description="Delete a tier; its members move to the best tier they still reach.",
        permission_classes=[IsAdmin],
    )
    async def delete_tier(
        self,
        info: AppInfo,
        input: Annotated[DeleteTierInput, strawberry.argument(description=INPUT)],
    ) -> DeleteTierPayload:
        """Delete a tier."""
        ctx = info.context
        pk = parse_id(input.tier_id, "Tier")
        if input.idempotency_key is None or await ctx.loaders.tier_by_id.load(pk):
            await _tier_of_admin(info, input.tier_id)
        # else: the tier may be gone because this very request ran before; the
        # service replays the stored result, whose site is checked below
        gone = await tier_service.delete_tier(
            ctx.db,
            tier_id=pk,
            actor=ctx.actor,
            clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
        )
        if not ctx.access.manages_site(gone.site_id):
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such tier", "tierId")
        return DeleteTierPayload(deleted_tier_id=input.tier_id, user_errors=[])
