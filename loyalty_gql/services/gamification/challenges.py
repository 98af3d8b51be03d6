"""Challenges, as admins define them: create, change, publish; their rows read as the
domain's challenges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import ChallengeRow
from loyalty_gql.db.repositories import gamification as repo
from loyalty_gql.db.repositories.offers.catalog import offer_by_id
from loyalty_gql.db.repositories.sites import settings_of, site_by_id
from loyalty_gql.db.repositories.tiers import tiers_of_site
from loyalty_gql.db.session import Session
from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem
from loyalty_gql.domain.gamification._text import code_problems
from loyalty_gql.domain.gamification.challenges import (
    Audience,
    Challenge,
    FactKind,
    Goal,
    GoalKind,
    Recurrence,
    StreakUnit,
    Window,
    challenge_problems,
)
from loyalty_gql.domain.gamification.rewards import Reward, RewardKind
from loyalty_gql.services.core.common import Actor, Clock
from loyalty_gql.services.core.idempotency import Idempotency, run_once
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.offers.gifts import GIFTABLE


@dataclass(frozen=True, slots=True)
class RewardTerms:
    """One reward as an admin gives it: points, a voucher of an offer, or a badge (by
    its code)."""

    kind: RewardKind
    points: int = 0
    offer_id: int | None = None
    badge_code: str | None = None


@dataclass(frozen=True, slots=True)
class ChallengeTerms:
    """A challenge as an admin gives it (createChallenge; updateChallenge replaces all
    but the code)."""

    code: str
    name: str
    goal_kind: GoalKind
    target: int
    rewards: tuple[RewardTerms, ...]
    description: str = ""
    counts: FactKind = FactKind.ORDER
    activity_code: str | None = None
    categories: tuple[str, ...] = ()
    streak_unit: StreakUnit | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    rolling_days: int | None = None
    groups: tuple[str, ...] = ()
    tier_ids: tuple[int, ...] = ()
    recurrence: Recurrence = Recurrence.ONCE
    max_completions: int | None = None
    reverse_on_cancel: bool = False

    def request(self) -> dict[str, Any]:
        """The stored request fingerprint: every term, as JSON."""
        return {
            "code": self.code,
            "name": self.name,
            "goal": self.goal_kind.value,
            "target": self.target,
            "description": self.description,
            "counts": self.counts.value,
            "activity": self.activity_code,
            "categories": list(self.categories),
            "streak": self.streak_unit.value if self.streak_unit else None,
            "starts": self.starts_at.isoformat() if self.starts_at else None,
            "ends": self.ends_at.isoformat() if self.ends_at else None,
            "rolling": self.rolling_days,
            "groups": list(self.groups),
            "tiers": list(self.tier_ids),
            "recurrence": self.recurrence.value,
            "max": self.max_completions,
            "reverse": self.reverse_on_cancel,
            "rewards": [[r.kind.value, r.points, r.offer_id, r.badge_code] for r in self.rewards],
        }


def challenge_of(row: ChallengeRow) -> Challenge:
    """The domain's challenge of a row."""
    return Challenge(
        id=row.id,
        name=row.name,
        description=row.description,
        goal=Goal(
            kind=GoalKind(row.goal_kind),
            target=row.target,
            counts=FactKind(row.counts),
            activity_code=row.activity_code,
            categories=frozenset(row.categories),
            streak_unit=StreakUnit(row.streak_unit) if row.streak_unit else None,
        ),
        rewards=tuple(
            Reward(
                RewardKind(r["kind"]),
                int(r.get("points") or 0),
                r.get("offer_id"),
                r.get("badge_id"),
            )
            for r in row.rewards
        ),
        window=Window(row.starts_at, row.ends_at, row.rolling_days),
        audience=Audience(frozenset(row.audience_groups), frozenset(row.audience_tier_ids)),
        recurrence=Recurrence(row.recurrence),
        max_completions=row.max_completions,
        reverse_on_cancel=row.reverse_on_cancel,
    )


async def _checked_rewards(
    session: Session, site_id: int, rewards: tuple[RewardTerms, ...], now: datetime
) -> list[dict[str, Any]]:
    """The rewards as stored (badges by id and code), each offer a live reward or coupon
    of the site and each badge one of its types."""
    stored: list[dict[str, Any]] = []
    problems: list[FieldProblem] = []
    for index, reward in enumerate(rewards):
        path = ("rewards", str(index))
        badge_id = None
        if reward.kind is RewardKind.VOUCHER and reward.offer_id is not None:
            offer = await offer_by_id(session, reward.offer_id)
            if offer is None or offer.site_id != site_id or offer.kind not in GIFTABLE:
                problems.append(
                    FieldProblem(
                        (*path, "offer_id"),
                        ErrorCode.NOT_FOUND,
                        "no reward or coupon offer of this site",
                    )
                )
        if reward.kind is RewardKind.BADGE and reward.badge_code is not None:
            badge = await repo.badge_type_by_code(session, site_id, reward.badge_code.strip())
            if badge is None:
                problems.append(
                    FieldProblem((*path, "badge_code"), ErrorCode.NOT_FOUND, "no such badge")
                )
            else:
                badge_id = badge.id
        stored.append(
            {
                "kind": reward.kind.value,
                "points": reward.points,
                "offer_id": reward.offer_id,
                "badge_id": badge_id,
                "badge_code": reward.badge_code.strip() if reward.badge_code else None,
            }
        )
    if problems:
        raise DomainError(problems)
    return stored


async def _validated(
    session: Session, site_id: int, terms: ChallengeTerms, now: datetime
) -> tuple[Challenge, list[dict[str, Any]]]:
    site = await site_by_id(session, site_id)
    if site is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such site", "site_id")
    problems = code_problems(terms.code.strip())
    stored = await _checked_rewards(session, site_id, terms.rewards, now)
    if terms.tier_ids:
        known = {tier.id for tier in await tiers_of_site(session, site_id)}
        if not set(terms.tier_ids) <= known:
            problems.append(
                FieldProblem(("audience", "tier_ids"), ErrorCode.NOT_FOUND, "unknown tier")
            )
    challenge = Challenge(
        id=0,
        name=terms.name.strip(),
        description=terms.description.strip(),
        goal=Goal(
            terms.goal_kind,
            terms.target,
            terms.counts,
            terms.activity_code.strip().upper() if terms.activity_code else None,
            frozenset(c.strip() for c in terms.categories),
            terms.streak_unit,
        ),
        rewards=tuple(
            Reward(RewardKind(r["kind"]), r["points"], r["offer_id"], r["badge_id"]) for r in stored
        ),
        window=Window(terms.starts_at, terms.ends_at, terms.rolling_days),
        audience=Audience(frozenset(terms.groups), frozenset(terms.tier_ids)),
        recurrence=terms.recurrence,
        max_completions=terms.max_completions,
        reverse_on_cancel=terms.reverse_on_cancel,
    )
    problems.extend(challenge_problems(challenge, settings_of(site).zone))
    if problems:
        raise DomainError(problems)
    return challenge, stored


def _apply(
    row: ChallengeRow, challenge: Challenge, stored: list[dict[str, Any]], now: datetime
) -> None:
    goal, window, audience = challenge.goal, challenge.window, challenge.audience
    row.name, row.description = challenge.name, challenge.description
    row.goal_kind, row.counts, row.target = goal.kind.value, goal.counts.value, goal.target
    row.activity_code, row.categories = goal.activity_code, sorted(goal.categories)
    row.streak_unit = goal.streak_unit.value if goal.streak_unit else None
    row.starts_at, row.ends_at, row.rolling_days = (
        window.starts_at,
        window.ends_at,
        window.rolling_days,
    )
    row.audience_groups, row.audience_tier_ids = sorted(audience.groups), sorted(audience.tier_ids)
    row.rewards = stored
    row.recurrence, row.max_completions = challenge.recurrence.value, challenge.max_completions
    row.reverse_on_cancel = challenge.reverse_on_cancel
    row.updated_at = now


async def create_challenge(
    db: Database,
    *,
    site_id: int,
    terms: ChallengeTerms,
    actor: Actor,
    clock: Clock,
    retry: Idempotency,
) -> ChallengeRow:
    """Add a challenge (unpublished) to a site; its code is unique there."""
    now = clock()

    async def work(uow: UnitOfWork) -> ChallengeRow:
        challenge, stored = await _validated(uow.session, site_id, terms, now)
        code = terms.code.strip()
        if await repo.challenge_code_taken(uow.session, site_id, code, None):
            raise DomainError.single(ErrorCode.DUPLICATE, f"a challenge {code!r} exists", "code")
        row = ChallengeRow(site_id=site_id, code=code, published=False, created_at=now)
        _apply(row, challenge, stored, now)
        uow.session.add(row)
        await uow.session.flush()
        return row

    return await run_once(
        db,
        scope=f"site:{site_id}",
        retry=retry,
        request={"site": site_id, **terms.request()},
        now=now,
        work=work,
        dump=lambda row: {"challenge": row.id},
        load=_load_challenge,
    )


async def update_challenge(
    db: Database,
    *,
    site_id: int,
    challenge_id: int,
    terms: ChallengeTerms,
    actor: Actor,
    clock: Clock,
    retry: Idempotency,
) -> ChallengeRow:
    """Replace a challenge's terms (its code stays). Progress is measured again from the
    facts recorded, at the customer's next counting fact; completions recorded stay."""
    now = clock()

    async def work(uow: UnitOfWork) -> ChallengeRow:
        row = await _challenge(uow.session, site_id, challenge_id)
        if terms.code.strip() != row.code:  # taken as a rename before, silently ignored
            raise DomainError.single(
                ErrorCode.INVALID_VALUE, f"the challenge's code is {row.code!r}; it stays", "code"
            )
        challenge, stored = await _validated(uow.session, site_id, terms, now)
        _apply(row, challenge, stored, now)
        await uow.session.flush()
        return row

    return await run_once(
        db,
        scope=f"site:{site_id}",
        retry=retry,
        request={"challenge": challenge_id, **terms.request()},
        now=now,
        work=work,
        dump=lambda row: {"challenge": row.id},
        load=_load_challenge,
    )


async def publish_challenge(
    db: Database,
    *,
    site_id: int,
    challenge_id: int,
    published: bool,
    actor: Actor,
    clock: Clock,
    retry: Idempotency,
) -> ChallengeRow:
    """Publish a challenge (customers see it, orders and activities count towards it) or
    take it back; the site's count of published challenges follows."""
    now = clock()

    async def work(uow: UnitOfWork) -> ChallengeRow:
        site = await site_by_id(uow.session, site_id, lock=True)
        if site is None:
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such site", "site_id")
        row = await _challenge(uow.session, site_id, challenge_id)
        if row.published != published:
            row.published, row.updated_at = published, now
            await uow.session.flush()
            await repo.set_live_challenges(
                uow.session, site, await repo.count_live_challenges(uow.session, site_id)
            )
        return row

    return await run_once(
        db,
        scope=f"site:{site_id}",
        retry=retry,
        request={"challenge": challenge_id, "published": published},
        now=now,
        work=work,
        dump=lambda row: {"challenge": row.id},
        load=_load_challenge,
    )


async def _challenge(session: Session, site_id: int, challenge_id: int) -> ChallengeRow:
    row = await repo.challenge_by_id(session, challenge_id)
    if row is None or row.site_id != site_id:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such challenge", "challenge_id")
    return row


async def _load_challenge(session: Session, stored: dict[str, Any]) -> ChallengeRow:
    row = await repo.challenge_by_id(session, stored["challenge"])
    if row is None:  # pragma: no cover - challenges are never deleted
        raise DomainError.single(ErrorCode.NOT_FOUND, "the challenge is gone")
    return row
