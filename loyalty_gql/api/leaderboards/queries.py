"""Queries on leaderboards (admins)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from loyalty_gql.api.core.permissions import IsAdmin
from loyalty_gql.api.core.resolving import AppInfo, admin_site
from loyalty_gql.api.leaderboards.types import Leaderboard, admin_boards
from loyalty_gql.db.paging import Window
from loyalty_gql.services import leaderboards as service

MAX_BOARDS = 200


@strawberry.type
class LeaderboardQueries:
    """Reading leaderboards."""

    @strawberry.field(
        description="A site's leaderboards, drafts and live, oldest first (at most 200). "
        "Admins only.",
        permission_classes=[IsAdmin],
    )
    async def leaderboards(
        self,
        info: AppInfo,
        site_id: Annotated[
            strawberry.ID, strawberry.argument(description="Global ID of the site.")
        ],
    ) -> list[Leaderboard]:
        """The site's boards."""
        pk = admin_site(info, site_id)
        async with info.context.read_session() as session:
            rows = await service.boards_page(session, pk, Window(limit=MAX_BOARDS))
        return await admin_boards(info, pk, rows)
