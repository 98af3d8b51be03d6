"""GraphQL types of leaderboards."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types.nodes import SelectedField

from loyalty_gql.api.core.ids import to_global_id
from loyalty_gql.api.core.permissions import WITHIN_PARENT
from loyalty_gql.api.core.resolving import AppInfo
from loyalty_gql.api.core.scalars import BigInt
from loyalty_gql.db.models import LeaderboardRow
from loyalty_gql.domain.gamification.leaderboards import Metric, PeriodKind, Place
from loyalty_gql.services.leaderboards import (
    BoardSummary,
    BoardTerms,
    BoardView,
    PrizeTerms,
    board_summaries,
    viewer_boards,
)

strawberry.enum(Metric, name="LeaderboardMetric", description="What a leaderboard ranks by.")
strawberry.enum(
    PeriodKind,
    name="LeaderboardPeriod",
    description="The periods a leaderboard is kept for, in the site's timezone: WEEK "
    "(Monday to Monday), MONTH, ALL_TIME, CUSTOM (the board's own dates).",
)


@strawberry.type(description="What the customers ranked fromRank to toRank get at period end.")
class LeaderboardPrize:
    """A prize of a board."""

    from_rank: int = strawberry.field(description="Best rank of the prize.", metadata=WITHIN_PARENT)
    to_rank: int = strawberry.field(
        description="Worst rank of the prize (inclusive); a tie at it is rewarded whole.",
        metadata=WITHIN_PARENT,
    )
    points: int = strawberry.field(description="Points given (0: none).", metadata=WITHIN_PARENT)
    offer_id: strawberry.ID | None = strawberry.field(
        description="The reward or coupon offer a voucher is given from; null: none.",
        metadata=WITHIN_PARENT,
    )

    @classmethod
    def of(cls, prize: PrizeTerms) -> LeaderboardPrize:
        """The GraphQL object of a prize."""
        offer = to_global_id("Offer", prize.offer_id) if prize.offer_id is not None else None
        return cls(
            from_rank=prize.from_rank, to_rank=prize.to_rank, points=prize.points, offer_id=offer
        )


@strawberry.type(description="A leaderboard of a site, as its admins define it.")
class Leaderboard:
    """A board (admins)."""

    id: strawberry.ID = strawberry.field(description="Global ID.", metadata=WITHIN_PARENT)
    code: str = strawberry.field(description="Code, unique in the site.", metadata=WITHIN_PARENT)
    name: str = strawberry.field(description="Name shown to customers.", metadata=WITHIN_PARENT)
    metric: Metric = strawberry.field(description="What it ranks by.", metadata=WITHIN_PARENT)
    period: PeriodKind = strawberry.field(description="Its periods.", metadata=WITHIN_PARENT)
    starts_at: datetime | None = strawberry.field(
        description="CUSTOM: the first instant counted.", metadata=WITHIN_PARENT
    )
    ends_at: datetime | None = strawberry.field(
        description="CUSTOM: the end (not counted).", metadata=WITHIN_PARENT
    )
    size: int = strawberry.field(description="Places shown from the top.", metadata=WITHIN_PARENT)
    neighbours: int = strawberry.field(
        description="Places shown above and below the viewer.", metadata=WITHIN_PARENT
    )
    min_score: BigInt = strawberry.field(
        description="The least score a prize goes to.", metadata=WITHIN_PARENT
    )
    prizes: list[LeaderboardPrize] = strawberry.field(
        description="Prizes at each period's end, best ranks first.", metadata=WITHIN_PARENT
    )
    live: bool = strawberry.field(
        description="Published: customers see it and scores count.", metadata=WITHIN_PARENT
    )
    published_at: datetime | None = strawberry.field(
        description="First publication; scores count from then on.", metadata=WITHIN_PARENT
    )
    awarded_until: datetime | None = strawberry.field(
        description="Prizes were given for every period ending up to here.",
        metadata=WITHIN_PARENT,
    )
    current_period_key: str = strawberry.field(
        description="The period now: 2026-W49, 2026-12, ALL or CUSTOM.", metadata=WITHIN_PARENT
    )
    scored_customers: int = strawberry.field(
        description="Customers with a score in the current period.", metadata=WITHIN_PARENT
    )
    prizes_given: int = strawberry.field(
        description="Prizes given, every period.", metadata=WITHIN_PARENT
    )

    @classmethod
    def of(cls, summary: BoardSummary) -> Leaderboard:
        """The GraphQL object of a board with the admins' numbers."""
        row = summary.row
        terms = BoardTerms.of(row)
        return cls(
            id=to_global_id("Leaderboard", row.id),
            code=row.code,
            name=row.name,
            metric=Metric(row.metric),
            period=PeriodKind(row.period),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            size=row.size,
            neighbours=row.neighbours,
            min_score=row.min_score,
            prizes=[LeaderboardPrize.of(p) for p in terms.prizes],
            live=row.status == "LIVE",
            published_at=row.published_at,
            awarded_until=row.awarded_until,
            current_period_key=summary.period_key,
            scored_customers=summary.scored_customers,
            prizes_given=summary.prizes_given,
        )


async def admin_boards(
    info: AppInfo, site_id: int, rows: list[LeaderboardRow]
) -> list[Leaderboard]:
    """Boards of a site with their numbers (two statements for all of them)."""
    ctx = info.context
    site = await ctx.loaders.site_by_id.load(site_id)
    if site is None:  # pragma: no cover - the admin's site exists
        return []
    async with ctx.read_session() as session:
        summaries = await board_summaries(session, site, rows, ctx.clock())
    return [Leaderboard.of(summary) for summary in summaries]


@strawberry.type(description="One line of a leaderboard.")
class LeaderboardPlace:
    """A customer's place: rank (ties share one), the name shown, the score."""

    rank: int = strawberry.field(
        description="1 + the customers with a higher score: ties share a rank (1, 2, 2, 4).",
        metadata=WITHIN_PARENT,
    )
    name: str = strawberry.field(
        description="The customer's display name when they opted in, else an anonymous "
        'label stable for them ("Member 7F3A2C").',
        metadata=WITHIN_PARENT,
    )
    anonymous: bool = strawberry.field(
        description="Whether name is the anonymous label.", metadata=WITHIN_PARENT
    )
    score: BigInt = strawberry.field(
        description="Points earned, minor units spent, or challenges completed in the period.",
        metadata=WITHIN_PARENT,
    )
    is_viewer: bool = strawberry.field(
        description="Whether this line is the signed-in customer's.", metadata=WITHIN_PARENT
    )

    @classmethod
    def of(cls, place: Place, viewer: int) -> LeaderboardPlace:
        """A line as the viewer sees it."""
        return cls(
            rank=place.rank,
            name=place.name,
            anonymous=place.anonymous,
            score=place.score,
            is_viewer=place.customer_id == viewer,
        )


@strawberry.type(description="The viewer's place on a board, with their neighbours.")
class LeaderboardStanding:
    """The viewer's own line and those around it."""

    place: LeaderboardPlace = strawberry.field(
        description="The viewer's line.", metadata=WITHIN_PARENT
    )
    above: list[LeaderboardPlace] = strawberry.field(
        description="Lines just above, best first.", metadata=WITHIN_PARENT
    )
    below: list[LeaderboardPlace] = strawberry.field(
        description="Lines just below, best first.", metadata=WITHIN_PARENT
    )


@strawberry.type(description="A live leaderboard as the signed-in customer sees it now.")
class ViewerLeaderboard:
    """One board's current period: its top and the viewer's place."""

    id: strawberry.ID = strawberry.field(
        description="Global ID of the board.", metadata=WITHIN_PARENT
    )
    name: str = strawberry.field(description="The board's name.", metadata=WITHIN_PARENT)
    metric: Metric = strawberry.field(description="What it ranks by.", metadata=WITHIN_PARENT)
    period: PeriodKind = strawberry.field(description="Its periods.", metadata=WITHIN_PARENT)
    period_key: str = strawberry.field(
        description="The period shown: 2026-W49, 2026-12, ALL or CUSTOM.",
        metadata=WITHIN_PARENT,
    )
    period_starts_at: datetime | None = strawberry.field(
        description="Start of the period shown (null: all time).", metadata=WITHIN_PARENT
    )
    period_ends_at: datetime | None = strawberry.field(
        description="End of the period shown (null: all time).", metadata=WITHIN_PARENT
    )
    top: list[LeaderboardPlace] = strawberry.field(
        description="The first places, best first.", metadata=WITHIN_PARENT
    )
    viewer: LeaderboardStanding | None = strawberry.field(
        description="The viewer's place with neighbours; null while they have no score.",
        metadata=WITHIN_PARENT,
    )

    @classmethod
    def of(cls, view: BoardView, viewer: int) -> ViewerLeaderboard:
        """A board view for the viewer."""
        me = view.me
        standing = (
            LeaderboardStanding(
                place=LeaderboardPlace.of(me.place, viewer),
                above=[LeaderboardPlace.of(p, viewer) for p in me.above],
                below=[LeaderboardPlace.of(p, viewer) for p in me.below],
            )
            if me is not None
            else None
        )
        return cls(
            id=to_global_id("Leaderboard", view.row.id),
            name=view.row.name,
            metric=Metric(view.row.metric),
            period=PeriodKind(view.row.period),
            period_key=view.period.key,
            period_starts_at=view.period.starts_at,
            period_ends_at=view.period.ends_at,
            top=[LeaderboardPlace.of(p, viewer) for p in view.top],
            viewer=standing,
        )


@strawberry.type(description="How the signed-in customer appears on leaderboards.")
class LeaderboardProfile:
    """The customer's display name and opt-in."""

    display_name: str | None = strawberry.field(
        description="The name shown while opted in.", metadata=WITHIN_PARENT
    )
    opt_in: bool = strawberry.field(
        description="Whether boards show the display name (else an anonymous label).",
        metadata=WITHIN_PARENT,
    )


def _asked(selections: Sequence[Any]) -> set[str]:
    """The names of the fields selected under the field (through fragments)."""
    names: set[str] = set()
    for selection in selections:
        for inner in getattr(selection, "selections", None) or []:
            if isinstance(inner, SelectedField):
                names.add(inner.name)
            else:  # a fragment: its own selections
                names |= _asked([inner])
    return names


async def viewer_leaderboards(
    info: AppInfo, customer_pk: int, site_pk: int
) -> list[ViewerLeaderboard]:
    """The live boards of the customer's site as they see them (Customer.leaderboards).

    Never cached: another customer's score changes what this one sees, and the
    response cache knows only this customer's and the site's versions."""
    ctx = info.context
    if ctx.freshness is not None:
        ctx.freshness.refuse()
    site = await ctx.loaders.site_by_id.load(site_pk)
    customer = await ctx.loaders.customer_by_id.load(customer_pk)
    if site is None or customer is None or not site.live_leaderboards:
        return []
    asked = _asked(info.selected_fields)
    async with ctx.read_session() as session:
        views = await viewer_boards(
            session, site, customer, ctx.clock(),
            with_top="top" in asked, with_standing="viewer" in asked,
        )  # fmt: skip
    return [ViewerLeaderboard.of(view, customer_pk) for view in views]
