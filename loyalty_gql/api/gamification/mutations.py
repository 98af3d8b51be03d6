"""Mutations on badges and challenges (admins): define, publish, grant, revoke."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, TypeVar

import strawberry

from loyalty_gql.api.core.arguments import IDEMPOTENCY_KEY, INPUT
from loyalty_gql.api.core.errors import UserError
from loyalty_gql.api.core.ids import parse_id, to_global_id
from loyalty_gql.api.core.permissions import PUBLIC, WITHIN_PARENT, IsAdmin
from loyalty_gql.api.core.resolving import AppInfo, admin_site, retry_of
from loyalty_gql.api.gamification.types import BadgeType, Challenge
from loyalty_gql.db.models import CustomerBadgeRow
from loyalty_gql.domain.errors import DomainError, FieldProblem
from loyalty_gql.domain.gamification.badges import BadgeVisibility
from loyalty_gql.domain.gamification.challenges import FactKind, GoalKind, Recurrence, StreakUnit
from loyalty_gql.domain.gamification.rewards import RewardKind
from loyalty_gql.services.gamification import badges as badge_service
from loyalty_gql.services.gamification import challenges as challenge_service

_KEY = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="A badge type (createBadgeType, updateBadgeType by its code).")
class BadgeTypeInput:
    """Badge type terms."""

    site_id: strawberry.ID = strawberry.field(description="Global ID of the site.")
    code: str = strawberry.field(description="Unique in the site; cannot be changed.")
    name: str = strawberry.field(description="Name shown to customers.")
    description: str = strawberry.field(default="", description="What it stands for.")
    image_url: str | None = strawberry.field(default=None, description="An http(s) URL.")
    visibility: BadgeVisibility = strawberry.field(
        default=BadgeVisibility.VISIBLE_LOCKED, description="Hidden until earned, or locked."
    )
    how_to_earn: str = strawberry.field(default="", description="Shown on a locked badge.")
    idempotency_key: str | None = _KEY


@strawberry.input(description="A badge granted to, or revoked from, a customer.")
class BadgeGrantInput:
    """Who, which badge, and why."""

    site_id: strawberry.ID = strawberry.field(description="Global ID of the site.")
    customer_id: strawberry.ID = strawberry.field(description="Global ID of the customer.")
    badge_code: str = strawberry.field(description="The badge's code.")
    reason: str | None = strawberry.field(
        default=None, description="Why (required to grant; optional to revoke)."
    )
    idempotency_key: str | None = _KEY


@strawberry.input(description="One reward of a challenge.")
class ChallengeRewardInput:
    """Points, a voucher of a reward or coupon offer, or a badge."""

    kind: RewardKind = strawberry.field(description="What it gives.")
    points: int = strawberry.field(default=0, description="POINTS: how many.")
    offer_id: strawberry.ID | None = strawberry.field(
        default=None, description="VOUCHER: Global ID of the offer."
    )
    badge_code: str | None = strawberry.field(default=None, description="BADGE: its code.")


@strawberry.input(description="A challenge (createChallenge; updateChallenge replaces all).")
class ChallengeInput:
    """Challenge terms."""

    site_id: strawberry.ID = strawberry.field(description="Global ID of the site.")
    code: str = strawberry.field(description="Unique in the site; cannot be changed.")
    name: str = strawberry.field(description="Name shown to customers.")
    goal_kind: GoalKind = strawberry.field(description="What it measures.")
    target: int = strawberry.field(
        description="Events, minor units (AMOUNT), products, or periods in a row (STREAK)."
    )
    rewards: list[ChallengeRewardInput] = strawberry.field(description="1-5 rewards.")
    description: str = strawberry.field(default="", description="What to do.")
    counts: FactKind = strawberry.field(
        default=FactKind.ORDER, description="COUNT: completed orders or an activity."
    )
    activity_code: str | None = strawberry.field(
        default=None, description="COUNT of ACTIVITY: which activity (PRODUCT_REVIEW...)."
    )
    categories: list[str] = strawberry.field(
        default_factory=list, description="AMOUNT, DISTINCT_PRODUCTS: only these categories."
    )
    streak_unit: StreakUnit | None = strawberry.field(default=None, description="STREAK.")
    starts_at: datetime | None = strawberry.field(default=None, description="Window start.")
    ends_at: datetime | None = strawberry.field(default=None, description="Window end.")
    rolling_days: int | None = strawberry.field(
        default=None, description="Only facts of the last N days count."
    )
    groups: list[str] = strawberry.field(
        default_factory=list, description="Open to these groups; empty is everyone."
    )
    tier_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Open to these tiers; empty is every tier."
    )
    recurrence: Recurrence = strawberry.field(default=Recurrence.ONCE, description="How often.")
    max_completions: int | None = strawberry.field(
        default=None, description="REPEATEDLY: at most this many per customer."
    )
    reverse_on_cancel: bool = strawberry.field(
        default=False,
        description="Take back a completion (its points) that cancelled orders no longer "
        "support; otherwise a rewarded completion stays.",
    )
    idempotency_key: str | None = _KEY


@strawberry.input(description="A challenge to publish or take back.")
class PublishChallengeInput:
    """Which challenge and whether customers see it."""

    site_id: strawberry.ID = strawberry.field(description="Global ID of the site.")
    challenge_id: strawberry.ID = strawberry.field(description="Global ID of the challenge.")
    published: bool = strawberry.field(default=True, description="False takes it back.")
    idempotency_key: str | None = _KEY


@strawberry.type(description="Result of a badge type change.")
class BadgeTypePayload:
    """The badge type, or why nothing changed."""

    badge_type: BadgeType | None = strawberry.field(
        description="As it is now.", metadata=WITHIN_PARENT
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing changed.", metadata=PUBLIC
    )


@strawberry.type(description="A customer's badge after a grant or revocation.")
class CustomerBadgeGrant:
    """The holding."""

    badge_code: str = strawberry.field(description="The badge.", metadata=WITHIN_PARENT)
    customer_id: strawberry.ID = strawberry.field(
        description="The customer.", metadata=WITHIN_PARENT
    )
    granted_at: datetime = strawberry.field(description="The latest grant.", metadata=WITHIN_PARENT)
    revoked_at: datetime | None = strawberry.field(
        description="When revoked; null while held.", metadata=WITHIN_PARENT
    )
    reason: str | None = strawberry.field(description="The grant's reason.", metadata=WITHIN_PARENT)


@strawberry.type(description="Result of grantBadge or revokeBadge.")
class BadgeGrantPayload:
    """The holding, or why nothing changed."""

    badge: CustomerBadgeGrant | None = strawberry.field(
        description="The customer's badge.", metadata=WITHIN_PARENT
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing changed.", metadata=PUBLIC
    )


@strawberry.type(description="Result of a challenge change.")
class ChallengePayload:
    """The challenge, or why nothing changed."""

    challenge: Challenge | None = strawberry.field(
        description="As it is now.", metadata=WITHIN_PARENT
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing changed.", metadata=PUBLIC
    )


def _badge_terms(input: BadgeTypeInput) -> badge_service.BadgeTerms:
    return badge_service.BadgeTerms(
        code=input.code,
        name=input.name,
        description=input.description,
        image_url=input.image_url,
        visibility=input.visibility,
        how_to_earn=input.how_to_earn,
    )


def _challenge_terms(input: ChallengeInput) -> challenge_service.ChallengeTerms:
    return challenge_service.ChallengeTerms(
        code=input.code,
        name=input.name,
        goal_kind=input.goal_kind,
        target=input.target,
        rewards=tuple(
            challenge_service.RewardTerms(
                kind=r.kind,
                points=r.points,
                offer_id=parse_id(r.offer_id, "Offer") if r.offer_id else None,
                badge_code=r.badge_code,
            )
            for r in input.rewards
        ),
        description=input.description,
        counts=input.counts,
        activity_code=input.activity_code,
        categories=tuple(input.categories),
        streak_unit=input.streak_unit,
        starts_at=input.starts_at,
        ends_at=input.ends_at,
        rolling_days=input.rolling_days,
        groups=tuple(g.strip() for g in input.groups),
        tier_ids=tuple(parse_id(t, "Tier") for t in input.tier_ids),
        recurrence=input.recurrence,
        max_completions=input.max_completions,
        reverse_on_cancel=input.reverse_on_cancel,
    )


_GROUPED = frozenset({"goal", "window", "audience"})
"""The domain's groups of a challenge's terms; ChallengeInput lists their fields flat."""

Row = TypeVar("Row")


async def _flat_paths(work: Awaitable[Row]) -> Row:
    """Await ``work``; its problems on the domain's grouped terms (``goal.target``,
    ``window.ends_at``, ``audience.tier_ids``) name ChallengeInput's own fields."""
    try:
        return await work
    except DomainError as error:
        raise DomainError(
            [
                FieldProblem(p.field[1:], p.code, p.message)
                if len(p.field) > 1 and p.field[0] in _GROUPED
                else p
                for p in error.problems
            ]
        ) from None


def _grant(row: CustomerBadgeRow, code: str) -> CustomerBadgeGrant:
    return CustomerBadgeGrant(
        badge_code=code,
        customer_id=to_global_id("Customer", row.customer_id),
        granted_at=row.granted_at,
        revoked_at=row.revoked_at,
        reason=row.reason,
    )


@strawberry.type
class GamificationMutations:
    """Changing badges and challenges."""

    @strawberry.mutation(description="Add a badge type.", permission_classes=[IsAdmin])
    async def create_badge_type(
        self,
        info: AppInfo,
        input: Annotated[BadgeTypeInput, strawberry.argument(description=INPUT)],
    ) -> BadgeTypePayload:
        """Create a badge type."""
        ctx = info.context
        row = await badge_service.create_badge_type(
            ctx.db,
            site_id=admin_site(info, input.site_id),
            terms=_badge_terms(input),
            actor=ctx.actor,
            clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
        )
        return BadgeTypePayload(badge_type=BadgeType.from_row(row), user_errors=[])

    @strawberry.mutation(
        description="Change a badge type (named by its code).", permission_classes=[IsAdmin]
    )
    async def update_badge_type(
        self,
        info: AppInfo,
        input: Annotated[BadgeTypeInput, strawberry.argument(description=INPUT)],
    ) -> BadgeTypePayload:
        """Update a badge type."""
        ctx = info.context
        row = await badge_service.update_badge_type(
            ctx.db,
            site_id=admin_site(info, input.site_id),
            terms=_badge_terms(input),
            actor=ctx.actor,
            clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
        )
        return BadgeTypePayload(badge_type=BadgeType.from_row(row), user_errors=[])

    @strawberry.mutation(
        description="Grant a badge to a customer, with a reason (held already: no change).",
        permission_classes=[IsAdmin],
    )
    async def grant_badge(
        self,
        info: AppInfo,
        input: Annotated[BadgeGrantInput, strawberry.argument(description=INPUT)],
    ) -> BadgeGrantPayload:
        """Grant a badge."""
        ctx = info.context
        row = await badge_service.admin_grant_badge(
            ctx.db,
            site_id=admin_site(info, input.site_id),
            customer_id=parse_id(input.customer_id, "Customer"),
            badge_code=input.badge_code,
            reason=input.reason or "",
            actor=ctx.actor,
            clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
        )
        return BadgeGrantPayload(badge=_grant(row, input.badge_code.strip()), user_errors=[])

    @strawberry.mutation(
        description="Take a badge back from a customer.", permission_classes=[IsAdmin]
    )
    async def revoke_badge(
        self,
        info: AppInfo,
        input: Annotated[BadgeGrantInput, strawberry.argument(description=INPUT)],
    ) -> BadgeGrantPayload:
        """Revoke a badge."""
        ctx = info.context
        row = await badge_service.admin_revoke_badge(
            ctx.db,
            site_id=admin_site(info, input.site_id),
            customer_id=parse_id(input.customer_id, "Customer"),
            badge_code=input.badge_code,
            reason=input.reason,
            actor=ctx.actor,
            clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
        )
        return BadgeGrantPayload(badge=_grant(row, input.badge_code.strip()), user_errors=[])

    @strawberry.mutation(description="Add a challenge (unpublished).", permission_classes=[IsAdmin])
    async def create_challenge(
        self,
        info: AppInfo,
        input: Annotated[ChallengeInput, strawberry.argument(description=INPUT)],
    ) -> ChallengePayload:
        """Create a challenge."""
        ctx = info.context
        row = await _flat_paths(
            challenge_service.create_challenge(
                ctx.db,
                site_id=admin_site(info, input.site_id),
                terms=_challenge_terms(input),
                actor=ctx.actor,
                clock=ctx.clock,
                retry=retry_of(info, input.idempotency_key),
            )
        )
        return ChallengePayload(challenge=Challenge.from_row(row), user_errors=[])

    @strawberry.mutation(
        description="Replace a challenge's terms (its code stays: input.code must be the "
        "challenge's, another one is refused).",
        permission_classes=[IsAdmin],
    )
    async def update_challenge(
        self,
        info: AppInfo,
        challenge_id: Annotated[
            strawberry.ID, strawberry.argument(description="Global ID of the challenge.")
        ],
        input: Annotated[ChallengeInput, strawberry.argument(description=INPUT)],
    ) -> ChallengePayload:
        """Update a challenge."""
        ctx = info.context
        row = await _flat_paths(
            challenge_service.update_challenge(
                ctx.db,
                site_id=admin_site(info, input.site_id),
                challenge_id=parse_id(challenge_id, "Challenge"),
                terms=_challenge_terms(input),
                actor=ctx.actor,
                clock=ctx.clock,
                retry=retry_of(info, input.idempotency_key),
            )
        )
        return ChallengePayload(challenge=Challenge.from_row(row), user_errors=[])

    @strawberry.mutation(
        description="Publish a challenge (customers see it, facts count) or take it back.",
        permission_classes=[IsAdmin],
    )
    async def publish_challenge(
        self,
        info: AppInfo,
        input: Annotated[PublishChallengeInput, strawberry.argument(description=INPUT)],
    ) -> ChallengePayload:
        """Publish or unpublish a challenge."""
        ctx = info.context
        row = await challenge_service.publish_challenge(
            ctx.db,
            site_id=admin_site(info, input.site_id),
            challenge_id=parse_id(input.challenge_id, "Challenge"),
            published=input.published,
            actor=ctx.actor,
            clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
        )
        return ChallengePayload(challenge=Challenge.from_row(row), user_errors=[])
