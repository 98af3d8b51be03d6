"""What a completed challenge or a leaderboard place gives: points, a voucher from an
offer, or a badge."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from loyalty_gql.domain.errors import ErrorCode, FieldProblem

MAX_POINTS = 10**9
MAX_REWARDS = 5


class RewardKind(Enum):
    """The kind of a reward."""

    POINTS = "POINTS"
    VOUCHER = "VOUCHER"  # a voucher from a reward or coupon offer
    BADGE = "BADGE"


@dataclass(frozen=True, slots=True)
class Reward:
    """One thing given: ``points`` for POINTS, ``offer_id`` for VOUCHER, ``badge_id`` for
    BADGE (the others stay empty)."""

    kind: RewardKind
    points: int = 0
    offer_id: int | None = None
    badge_id: int | None = None


def reward_problems(rewards: Sequence[Reward], path: tuple[str, ...]) -> list[FieldProblem]:
    """What is wrong with a list of rewards (at least one, at most MAX_REWARDS, each whole)."""
    problems: list[FieldProblem] = []
    if not rewards:
        problems.append(FieldProblem(path, ErrorCode.REQUIRED, "give at least one reward"))
    if len(rewards) > MAX_REWARDS:
        problems.append(
            FieldProblem(path, ErrorCode.INVALID_VALUE, f"at most {MAX_REWARDS} rewards")
        )
    badges = [reward.badge_id for reward in rewards if reward.kind is RewardKind.BADGE]
    if len(badges) != len(set(badges)):
        problems.append(FieldProblem(path, ErrorCode.DUPLICATE, "a badge is given once"))
    for index, reward in enumerate(rewards):
        problems.extend(_one_reward_problems(reward, (*path, str(index))))
    return problems


def _one_reward_problems(reward: Reward, path: tuple[str, ...]) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if reward.kind is RewardKind.POINTS and not 1 <= reward.points <= MAX_POINTS:
        problems.append(
            FieldProblem((*path, "points"), ErrorCode.INVALID_VALUE, f"must be 1 to {MAX_POINTS}")
        )
    if reward.kind is not RewardKind.POINTS and reward.points:
        problems.append(
            FieldProblem((*path, "points"), ErrorCode.INVALID_VALUE, "only for a points reward")
        )
    for kind, name, value in (
        (RewardKind.VOUCHER, "offer_id", reward.offer_id),
        (RewardKind.BADGE, "badge_id", reward.badge_id),
    ):
        if reward.kind is kind and value is None:
            problems.append(
                FieldProblem(
                    (*path, name), ErrorCode.REQUIRED, f"a {kind.value.lower()} reward names it"
                )
            )
        elif reward.kind is not kind and value is not None:
            problems.append(
                FieldProblem(
                    (*path, name),
                    ErrorCode.INVALID_VALUE,
                    f"only for a {kind.value.lower()} reward",
                )
            )
    return problems
