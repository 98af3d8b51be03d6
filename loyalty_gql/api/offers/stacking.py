"""Stacking groups: how offers sharing a group name combine at checkout (admins)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from loyalty_gql.api.core.arguments import IDEMPOTENCY_KEY, INPUT
from loyalty_gql.api.core.errors import UserError
from loyalty_gql.api.core.permissions import PUBLIC, WITHIN_PARENT, IsAdmin
from loyalty_gql.api.core.resolving import AppInfo, admin_site, retry_of
from loyalty_gql.db.models import StackingGroupRow
from loyalty_gql.db.repositories.offers.catalog import stacking_groups
from loyalty_gql.domain.checkout import PriceBase, StackingMode
from loyalty_gql.services.offers import stacking as service

SITE_ID = "Global ID of the site."

strawberry.enum(StackingMode, description="How the offers of one stacking group combine.")
strawberry.enum(PriceBase, description="Which price a stacking group's offers are computed on.")


@strawberry.type(description="How the offers sharing a stacking group name combine.")
class StackingGroup:
    """A site's stacking group rule."""

    name: str = strawberry.field(
        description="The name offers give in stackingGroup.", metadata=WITHIN_PARENT
    )
    mode: StackingMode = strawberry.field(
        description=(
            "STACK, BEST_FOR_CUSTOMER or FIRST_BY_PRIORITY; an exclusive offer of a"
            " BEST_FOR_CUSTOMER group competes alone against the other offers together."
        ),
        metadata=WITHIN_PARENT,
    )
    price_base: PriceBase = strawberry.field(
        description="Whether the group's offers compute on original or discounted prices.",
        metadata=WITHIN_PARENT,
    )

    @classmethod
    def from_row(cls, row: StackingGroupRow) -> StackingGroup:
        """The rule a row stores."""
        return cls(name=row.name, mode=StackingMode(row.mode), price_base=PriceBase(row.price_base))


@strawberry.input(description="A stacking group's rule.")
class SetStackingGroupInput:
    """The group name and how its offers combine."""

    site_id: strawberry.ID = strawberry.field(description=SITE_ID)
    name: str = strawberry.field(description="The name offers give in stackingGroup.")
    mode: StackingMode = strawberry.field(description="How the group's offers combine.")
    price_base: PriceBase = strawberry.field(
        default=PriceBase.DISCOUNTED, description="Original or already-discounted prices."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="Result of setStackingGroup.")
class SetStackingGroupPayload:
    """The group rule now in force."""

    stacking_group: StackingGroup | None = strawberry.field(
        description="The rule.", metadata=WITHIN_PARENT
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why it was refused.", metadata=PUBLIC
    )


@strawberry.type
class StackingGroupQueries:
    """Reading stacking groups."""

    @strawberry.field(
        description="The site's stacking group rules, by name.", permission_classes=[IsAdmin]
    )
    async def stacking_groups(
        self,
        info: AppInfo,
        site_id: Annotated[strawberry.ID, strawberry.argument(description=SITE_ID)],
    ) -> list[StackingGroup]:
        """Stacking groups."""
        site_pk = admin_site(info, site_id)
        async with info.context.db.read_sessions() as session:
            rows = await stacking_groups(session, site_pk)
        return [StackingGroup.from_row(row) for row in rows]


@strawberry.type
class StackingGroupMutations:
    """Setting stacking groups."""

    @strawberry.mutation(
        description="Create or change how the offers of a stacking group combine.",
        permission_classes=[IsAdmin],
    )
    async def set_stacking_group(
        self,
        info: AppInfo,
        input: Annotated[SetStackingGroupInput, strawberry.argument(description=INPUT)],
    ) -> SetStackingGroupPayload:
        """Set a stacking group's rule."""
        ctx = info.context
        site_pk = admin_site(info, input.site_id)
        row = await service.set_stacking_group(
            ctx.db, site_id=site_pk, name=input.name, mode=input.mode,
            price_base=input.price_base, actor=ctx.actor, clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
        )  # fmt: skip
        return SetStackingGroupPayload(stacking_group=StackingGroup.from_row(row), user_errors=[])
