"""Queries on badges and challenges (staff): the definitions with their insight."""

from __future__ import annotations

from typing import Annotated

import strawberry

from loyalty_gql.api.core.permissions import IsStaff
from loyalty_gql.api.core.resolving import AppInfo, staff_site
from loyalty_gql.api.gamification.types import BadgeType, Challenge
from loyalty_gql.db.repositories import gamification as repo
from loyalty_gql.services.gamification import views

SITE_ARG = Annotated[strawberry.ID, strawberry.argument(description="Global ID of the site.")]


@strawberry.type
class GamificationQueries:
    """Reading badge types and challenges."""

    @strawberry.field(
        description="A site's badge types, oldest first, with their holders (two statements).",
        permission_classes=[IsStaff],
    )
    async def badge_types(self, info: AppInfo, site_id: SITE_ARG) -> list[BadgeType]:
        """The site's badge types."""
        pk = staff_site(info, site_id)
        async with info.context.read_session() as session:
            rows = await repo.badge_types_of_site(session, pk)
            holders = await views.badge_insight(session, pk)
        return [BadgeType.from_row(row, holders.get(row.id, 0)) for row in rows]

    @strawberry.field(
        description="A site's challenges, oldest first, with their completions (two statements).",
        permission_classes=[IsStaff],
    )
    async def challenges(self, info: AppInfo, site_id: SITE_ARG) -> list[Challenge]:
        """The site's challenges."""
        pk = staff_site(info, site_id)
        async with info.context.read_session() as session:
            rows = await repo.challenges_of_site(session, pk)
            counts = await views.challenge_insight(session, pk)
        return [Challenge.from_row(row, counts.get(row.id, (0, 0))) for row in rows]
