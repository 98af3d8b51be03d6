"""GraphQL types of badges and challenges: the admin's definitions (with insight: holders
and completions) and what a customer sees (earned and locked badges, progress)."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from loyalty_gql.api.core.ids import to_global_id
from loyalty_gql.api.core.permissions import WITHIN_PARENT
from loyalty_gql.api.core.resolving import AppInfo
from loyalty_gql.api.core.scalars import BigInt
from loyalty_gql.db.models import BadgeTypeRow, ChallengeRow
from loyalty_gql.domain.gamification.badges import BadgeState, BadgeVisibility, CustomerBadge
from loyalty_gql.domain.gamification.challenges import (
    FactKind,
    GoalKind,
    Progress,
    Recurrence,
    StreakUnit,
)
from loyalty_gql.domain.gamification.rewards import RewardKind

strawberry.enum(BadgeVisibility, description="Whether customers see a badge before earning it.")
strawberry.enum(BadgeState, description="A badge as the customer sees it: earned or locked.")
strawberry.enum(GoalKind, name="ChallengeGoalKind", description="What a challenge measures.")
strawberry.enum(
    FactKind,
    name="ChallengeCounts",
    description="What a count challenge counts: orders or an activity.",
)
strawberry.enum(StreakUnit, description="The period of a streak, in the site's timezone.")
strawberry.enum(
    Recurrence, name="ChallengeRecurrence", description="How often a customer can complete it."
)
strawberry.enum(RewardKind, name="ChallengeRewardKind", description="What a completion gives.")

_P = WITHIN_PARENT


@strawberry.type(description="A badge of a site, as admins define it.")
class BadgeType:
    """A badge type and how many customers hold it."""

    id: strawberry.ID = strawberry.field(description="Global ID.", metadata=_P)
    code: str = strawberry.field(description="Unique in the site; never changes.", metadata=_P)
    name: str = strawberry.field(description="Name shown to customers.", metadata=_P)
    description: str = strawberry.field(description="What the badge stands for.", metadata=_P)
    image_url: str | None = strawberry.field(description="Its picture.", metadata=_P)
    visibility: BadgeVisibility = strawberry.field(
        description="Hidden until earned, or shown locked.", metadata=_P
    )
    how_to_earn: str = strawberry.field(description="Shown on a locked badge.", metadata=_P)
    holders: int = strawberry.field(description="Customers holding it now (insight).", metadata=_P)

    @classmethod
    def from_row(cls, row: BadgeTypeRow, holders: int = 0) -> BadgeType:
        """The GraphQL object of a badge type row."""
        return cls(
            id=to_global_id("BadgeType", row.id),
            code=row.code,
            name=row.name,
            description=row.description,
            image_url=row.image_url,
            visibility=BadgeVisibility(row.visibility),
            how_to_earn=row.how_to_earn,
            holders=holders,
        )


@strawberry.type(description="A badge in the customer's list: earned (with the date) or locked.")
class CustomerBadgeView:
    """One line of the customer's badges."""

    code: str = strawberry.field(description="The badge's code.", metadata=_P)
    name: str = strawberry.field(description="The badge's name.", metadata=_P)
    description: str = strawberry.field(description="What it stands for.", metadata=_P)
    image_url: str | None = strawberry.field(description="Its picture.", metadata=_P)
    state: BadgeState = strawberry.field(description="Earned or locked.", metadata=_P)
    earned_at: datetime | None = strawberry.field(
        description="When it was earned; null while locked.", metadata=_P
    )
    how_to_earn: str | None = strawberry.field(
        description="How to earn it, on a locked badge; null once earned.", metadata=_P
    )

    @classmethod
    def of(cls, line: CustomerBadge) -> CustomerBadgeView:
        """The GraphQL object of a line of the domain's badge list."""
        badge = line.badge
        return cls(
            code=badge.code,
            name=badge.name,
            description=badge.description,
            image_url=badge.image_url,
            state=line.state,
            earned_at=line.earned_at,
            how_to_earn=badge.how_to_earn if line.state is BadgeState.LOCKED else None,
        )


@strawberry.type(description="What completing a challenge gives.")
class ChallengeReward:
    """Points, a voucher of an offer, or a badge."""

    kind: RewardKind = strawberry.field(description="The kind of reward.", metadata=_P)
    points: BigInt = strawberry.field(description="Points (POINTS).", metadata=_P)
    offer_id: strawberry.ID | None = strawberry.field(
        description="The offer a voucher comes from (VOUCHER).", metadata=_P
    )
    badge_code: str | None = strawberry.field(description="The badge (BADGE).", metadata=_P)


def _rewards(row: ChallengeRow) -> list[ChallengeReward]:
    return [
        ChallengeReward(
            kind=RewardKind(r["kind"]),
            points=int(r.get("points") or 0),
            offer_id=to_global_id("Offer", r["offer_id"]) if r.get("offer_id") else None,
            badge_code=r.get("badge_code"),
        )
        for r in row.rewards
    ]


@strawberry.type(description="A challenge of a site, as admins define it.")
class Challenge:
    """A goal over a time window and its rewards, with how often it was completed."""

    id: strawberry.ID = strawberry.field(description="Global ID.", metadata=_P)
    code: str = strawberry.field(description="Unique in the site.", metadata=_P)
    name: str = strawberry.field(description="Name shown to customers.", metadata=_P)
    description: str = strawberry.field(description="What to do.", metadata=_P)
    goal_kind: GoalKind = strawberry.field(description="What it measures.", metadata=_P)
    target: BigInt = strawberry.field(
        description="Events, minor units, products or periods in a row.", metadata=_P
    )
    counts: FactKind = strawberry.field(description="COUNT: orders or an activity.", metadata=_P)
    activity_code: str | None = strawberry.field(description="The activity counted.", metadata=_P)
    categories: list[str] = strawberry.field(
        description="AMOUNT, DISTINCT_PRODUCTS: only these categories.", metadata=_P
    )
    streak_unit: StreakUnit | None = strawberry.field(
        description="STREAK: weeks or months.", metadata=_P
    )
    starts_at: datetime | None = strawberry.field(description="Facts count from here.", metadata=_P)
    ends_at: datetime | None = strawberry.field(description="Facts count until here.", metadata=_P)
    rolling_days: int | None = strawberry.field(
        description="Only the facts of the last N days count.", metadata=_P
    )
    groups: list[str] = strawberry.field(
        description="Open to these customer groups; empty is everyone.", metadata=_P
    )
    tier_ids: list[strawberry.ID] = strawberry.field(
        description="Open to these tiers; empty is every tier.", metadata=_P
    )
    rewards: list[ChallengeReward] = strawberry.field(description="What it gives.", metadata=_P)
    recurrence: Recurrence = strawberry.field(description="Once or repeatedly.", metadata=_P)
    max_completions: BigInt | None = strawberry.field(
        description="REPEATEDLY: at most this many per customer.", metadata=_P
    )
    reverse_on_cancel: bool = strawberry.field(
        description="A completion no cancelled order supports any more is taken back "
        "(its points); otherwise a rewarded completion stays.",
        metadata=_P,
    )
    published: bool = strawberry.field(description="Customers see it; it counts.", metadata=_P)
    completions: int = strawberry.field(
        description="Completions that stand (insight).", metadata=_P
    )
    completed_by: int = strawberry.field(
        description="Customers with a completion (insight).", metadata=_P
    )

    @classmethod
    def from_row(cls, row: ChallengeRow, counts: tuple[int, int] = (0, 0)) -> Challenge:
        """The GraphQL object of a challenge row."""
        return cls(
            id=to_global_id("Challenge", row.id),
            code=row.code,
            name=row.name,
            description=row.description,
            goal_kind=GoalKind(row.goal_kind),
            target=row.target,
            counts=FactKind(row.counts),
            activity_code=row.activity_code,
            categories=list(row.categories),
            streak_unit=StreakUnit(row.streak_unit) if row.streak_unit else None,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            rolling_days=row.rolling_days,
            groups=list(row.audience_groups),
            tier_ids=[to_global_id("Tier", pk) for pk in row.audience_tier_ids],
            rewards=_rewards(row),
            recurrence=Recurrence(row.recurrence),
            max_completions=row.max_completions,
            reverse_on_cancel=row.reverse_on_cancel,
            published=row.published,
            completions=counts[0],
            completed_by=counts[1],
        )


@strawberry.type(description="A challenge as the customer stands in it now.")
class ChallengeProgress:
    """Value, target, time left, and what completing gives."""

    code: str = strawberry.field(description="The challenge's code.", metadata=_P)
    name: str = strawberry.field(description="The challenge's name.", metadata=_P)
    description: str = strawberry.field(description="What to do.", metadata=_P)
    goal_kind: GoalKind = strawberry.field(description="What it measures.", metadata=_P)
    value: BigInt = strawberry.field(
        description="The current round's measure (the target once a one-time challenge "
        "is complete).",
        metadata=_P,
    )
    target: BigInt = strawberry.field(description="What completes it.", metadata=_P)
    completed: int = strawberry.field(description="The customer's completions.", metadata=_P)
    ends_at: datetime | None = strawberry.field(
        description="When the current progress runs out (the window's end, the oldest "
        "fact of a rolling window leaving it, the end of the period a streak must be "
        "extended in); the time left is until then. Null: it does not run out.",
        metadata=_P,
    )
    open: bool = strawberry.field(description="Facts count now.", metadata=_P)
    finished: bool = strawberry.field(description="No further completion can come.", metadata=_P)
    rewards: list[ChallengeReward] = strawberry.field(description="What it gives.", metadata=_P)

    @strawberry.field(
        description="Seconds until endsAt, at the request's time; null without an end. It "
        "changes every second, so an answer selecting it is not kept by the response cache "
        "(endsAt is).",
        metadata=_P,
    )
    def time_left_seconds(self, info: AppInfo) -> BigInt | None:
        """The time left, in whole seconds."""
        ctx = info.context
        if self.ends_at is None:
            return None
        if ctx.freshness is not None:
            ctx.freshness.refuse()
        return max(int((self.ends_at - ctx.clock()).total_seconds()), 0)

    @classmethod
    def of(cls, row: ChallengeRow, result: Progress) -> ChallengeProgress:
        """The GraphQL object of a challenge and the customer's progress."""
        return cls(
            code=row.code,
            name=row.name,
            description=row.description,
            goal_kind=GoalKind(row.goal_kind),
            value=result.value,
            target=result.target,
            completed=result.completed,
            ends_at=result.ends_at.astimezone(UTC) if result.ends_at else None,
            open=result.open,
            finished=result.finished,
            rewards=_rewards(row),
        )
