"""Mutations on leaderboards: admins define and publish boards; a customer chooses the
name they appear by."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import strawberry

from loyalty_gql.api.core.arguments import IDEMPOTENCY_KEY, INPUT
from loyalty_gql.api.core.errors import UserError
from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.api.core.permissions import PUBLIC, WITHIN_PARENT, IsAdmin, IsCustomer
from loyalty_gql.api.core.resolving import AppInfo, admin_site, retry_of, visible_customer
from loyalty_gql.api.leaderboards.types import Leaderboard, LeaderboardProfile, admin_boards
from loyalty_gql.db.models import LeaderboardRow
from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem
from loyalty_gql.domain.gamification.leaderboards import Metric, PeriodKind
from loyalty_gql.services import leaderboards as service


@strawberry.input(description="A prize for a range of ranks: points and/or a voucher.")
class LeaderboardPrizeInput:
    """One prize."""

    from_rank: int = strawberry.field(description="Best rank (1-1000).")
    to_rank: int = strawberry.field(description="Worst rank, inclusive; ties at it all win.")
    points: int = strawberry.field(default=0, description="Points given (0: none).")
    offer_id: strawberry.ID | None = strawberry.field(
        default=None, description="A reward or coupon offer of the site to give a voucher of."
    )


@strawberry.input(description="A new leaderboard (a draft until published).")
class CreateLeaderboardInput:
    """Board definition."""

    site_id: strawberry.ID = strawberry.field(description="Global ID of the site.")
    code: str = strawberry.field(description="Code, unique in the site (letters, digits, _.-).")
    name: str = strawberry.field(description="Name shown to customers.")
    metric: Metric = strawberry.field(description="What it ranks by.")
    period: PeriodKind = strawberry.field(description="Its periods (site's timezone).")
    starts_at: datetime | None = strawberry.field(default=None, description="CUSTOM only.")
    ends_at: datetime | None = strawberry.field(default=None, description="CUSTOM only.")
    size: int = strawberry.field(default=10, description="Places shown from the top (1-100).")
    neighbours: int = strawberry.field(
        default=2, description="Places shown above and below the viewer (0-10)."
    )
    min_score: int = strawberry.field(default=1, description="The least score a prize needs.")
    prizes: list[LeaderboardPrizeInput] = strawberry.field(
        default_factory=list, description="Prizes at each period's end (at most 20)."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="Board fields to change; omitted fields keep their value.")
class UpdateLeaderboardInput:
    """A partial update (metric, period and dates only until first published)."""

    leaderboard_id: strawberry.ID = strawberry.field(description="Global ID of the board.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="New name.")
    metric: Metric | None = strawberry.field(
        default=strawberry.UNSET, description="Until first published."
    )
    period: PeriodKind | None = strawberry.field(
        default=strawberry.UNSET, description="Until first published."
    )
    starts_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="Until first published."
    )
    ends_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="Until first published."
    )
    size: int | None = strawberry.field(default=strawberry.UNSET, description="New size.")
    neighbours: int | None = strawberry.field(
        default=strawberry.UNSET, description="New neighbours."
    )
    min_score: int | None = strawberry.field(
        default=strawberry.UNSET, description="New minimum score."
    )
    prizes: list[LeaderboardPrizeInput] | None = strawberry.field(
        default=strawberry.UNSET, description="New prizes (all of them; [] for none)."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="A board to publish or unpublish.")
class PublishLeaderboardInput:
    """Which board."""

    leaderboard_id: strawberry.ID = strawberry.field(description="Global ID of the board.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="How the signed-in customer appears on leaderboards.")
class SetLeaderboardProfileInput:
    """Opt in with a display name, or out."""

    opt_in: bool = strawberry.field(description="Appear by the display name (else anonymous).")
    display_name: str | None = strawberry.field(
        default=None, description="The name shown (1-40 characters); null keeps the current."
    )


@strawberry.type(description="Result of a leaderboard change.")
class LeaderboardPayload:
    """The board, or why the change was refused."""

    leaderboard: Leaderboard | None = strawberry.field(
        description="The board as it is now.", metadata=WITHIN_PARENT
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing changed.", metadata=PUBLIC
    )


@strawberry.type(description="Result of setLeaderboardProfile.")
class LeaderboardProfilePayload:
    """The customer's profile on boards, or why it was refused."""

    profile: LeaderboardProfile | None = strawberry.field(
        description="As it is now.", metadata=WITHIN_PARENT
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing changed.", metadata=PUBLIC
    )


def _prizes(prizes: list[LeaderboardPrizeInput]) -> tuple[service.PrizeTerms, ...]:
    return tuple(
        service.PrizeTerms(
            p.from_rank,
            p.to_rank,
            p.points,
            parse_id(p.offer_id, "Offer") if p.offer_id is not None else None,
        )
        for p in prizes
    )


def _changes(input: UpdateLeaderboardInput) -> service.BoardChanges:
    given: dict[str, Any] = {
        name: value
        for name, value in vars(input).items()
        if value is not strawberry.UNSET and name not in ("leaderboard_id", "idempotency_key")
    }
    for name in ("name", "metric", "period", "size", "neighbours", "min_score", "prizes"):
        if name in given and given[name] is None:
            raise DomainError.single(ErrorCode.REQUIRED, "may be omitted but not null", name)
    if "prizes" in given:
        given["prizes"] = _prizes(given["prizes"])
    return service.BoardChanges(**given)


Row = TypeVar("Row")


async def _prize_paths(work: Awaitable[Row]) -> Row:
    """Await ``work``; its problems on a prize's rewards (the domain gives a prize a list
    of them) name LeaderboardPrizeInput's own fields: ``prizes.0.rewards.0.points`` is
    ``prizes.0.points``, ``prizes.0.rewards`` the prize."""
    try:
        return await work
    except DomainError as error:
        raise DomainError(
            [
                FieldProblem((*p.field[:2], *p.field[4:]), p.code, p.message)
                if len(p.field) >= 3 and p.field[0] == "prizes" and p.field[2] == "rewards"
                else p
                for p in error.problems
            ]
        ) from None


async def _payload(info: AppInfo, row: LeaderboardRow) -> LeaderboardPayload:
    [board] = await admin_boards(info, row.site_id, [row])
    return LeaderboardPayload(leaderboard=board, user_errors=[])


async def _board_of_admin(info: AppInfo, board_id: str) -> int:
    pk = parse_id(board_id, "Leaderboard")
    async with info.context.read_session() as session:
        site_id = await service.board_site(session, pk)
    if site_id is None or not info.context.access.manages_site(site_id):
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such leaderboard", "leaderboardId")
    return pk


@strawberry.type
class LeaderboardMutations:
    """Changing leaderboards."""

    @strawberry.mutation(description="Add a leaderboard (a draft).", permission_classes=[IsAdmin])
    async def create_leaderboard(
        self,
        info: AppInfo,
        input: Annotated[CreateLeaderboardInput, strawberry.argument(description=INPUT)],
    ) -> LeaderboardPayload:
        """Create a board."""
        ctx = info.context
        site_pk = admin_site(info, input.site_id)
        terms = service.BoardTerms(
            code=input.code,
            name=input.name,
            metric=input.metric,
            period=input.period,
            starts_at=input.starts_at,
            ends_at=input.ends_at,
            size=input.size,
            neighbours=input.neighbours,
            min_score=input.min_score,
            prizes=_prizes(input.prizes),
        )
        row = await _prize_paths(
            service.create_board(
                ctx.db, site_id=site_pk, terms=terms, actor=ctx.actor, clock=ctx.clock,
                retry=retry_of(info, input.idempotency_key),
            )
        )  # fmt: skip
        return await _payload(info, row)

    @strawberry.mutation(description="Change a leaderboard.", permission_classes=[IsAdmin])
    async def update_leaderboard(
        self,
        info: AppInfo,
        input: Annotated[UpdateLeaderboardInput, strawberry.argument(description=INPUT)],
    ) -> LeaderboardPayload:
        """Update a board."""
        ctx = info.context
        changes = _changes(input)
        pk = await _board_of_admin(info, input.leaderboard_id)
        row = await _prize_paths(
            service.update_board(
                ctx.db, board_id=pk, changes=changes, actor=ctx.actor, clock=ctx.clock,
                retry=retry_of(info, input.idempotency_key),
            )
        )  # fmt: skip
        return await _payload(info, row)

    @strawberry.mutation(
        description="Publish a leaderboard: customers see it and scores count from now on.",
        permission_classes=[IsAdmin],
    )
    async def publish_leaderboard(
        self,
        info: AppInfo,
        input: Annotated[PublishLeaderboardInput, strawberry.argument(description=INPUT)],
    ) -> LeaderboardPayload:
        """Publish a board."""
        return await _publish(info, input, published=True)

    @strawberry.mutation(
        description="Unpublish a leaderboard: hidden, scores stop counting (kept).",
        permission_classes=[IsAdmin],
    )
    async def unpublish_leaderboard(
        self,
        info: AppInfo,
        input: Annotated[PublishLeaderboardInput, strawberry.argument(description=INPUT)],
    ) -> LeaderboardPayload:
        """Unpublish a board."""
        return await _publish(info, input, published=False)

    @strawberry.mutation(
        description="How the signed-in customer appears on leaderboards: by a display name "
        "when opted in, by an anonymous label otherwise.",
        permission_classes=[IsCustomer],
    )
    async def set_leaderboard_profile(
        self,
        info: AppInfo,
        input: Annotated[SetLeaderboardProfileInput, strawberry.argument(description=INPUT)],
    ) -> LeaderboardProfilePayload:
        """Opt in or out."""
        ctx = info.context
        customer_pk = await visible_customer(info, None)
        row = await service.set_display_name(
            ctx.db, customer_id=customer_pk,
            display_name=input.display_name, opt_in=input.opt_in,
        )  # fmt: skip
        return LeaderboardProfilePayload(
            profile=LeaderboardProfile(
                display_name=row.display_name, opt_in=row.leaderboard_opt_in
            ),
            user_errors=[],
        )


async def _publish(
    info: AppInfo, input: PublishLeaderboardInput, *, published: bool
) -> LeaderboardPayload:
    ctx = info.context
    pk = await _board_of_admin(info, input.leaderboard_id)
    row = await service.set_published(
        ctx.db, board_id=pk, published=published, actor=ctx.actor, clock=ctx.clock,
        retry=retry_of(info, input.idempotency_key),
    )  # fmt: skip
    return await _payload(info, row)
