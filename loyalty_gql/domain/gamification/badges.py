"""Badges: recognition a customer earns ("First purchase", "Explorer").

A badge type belongs to a site. It is granted by a campaign's effect, by completing a
challenge, or by an admin with a reason, and an admin may revoke it; a customer holds a
badge once (granting it again changes nothing). A hidden badge is not shown until it is
earned (a surprise); a visible one is shown locked, with how to earn it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from loyalty_gql.domain.errors import DomainError, FieldProblem
from loyalty_gql.domain.gamification._text import (
    code_problems,
    description_problems,
    name_problems,
    url_problems,
)


class BadgeVisibility(Enum):
    """Whether customers see a badge before they earn it."""

    HIDDEN_UNTIL_EARNED = "HIDDEN_UNTIL_EARNED"
    VISIBLE_LOCKED = "VISIBLE_LOCKED"  # shown locked, with how to earn it


class BadgeState(Enum):
    """A badge as one customer sees it."""

    EARNED = "EARNED"
    LOCKED = "LOCKED"


@dataclass(frozen=True, slots=True)
class BadgeType:
    """A badge of a site; ``code`` is unique per site and never changes."""

    id: int
    code: str
    name: str
    description: str = ""
    image_url: str | None = None
    visibility: BadgeVisibility = BadgeVisibility.VISIBLE_LOCKED
    how_to_earn: str = ""  # shown on a locked badge

    def check(self) -> None:
        """Raise a DomainError listing what is wrong with the badge type."""
        problems = badge_problems(self)
        if problems:
            raise DomainError(problems)


@dataclass(frozen=True, slots=True)
class HeldBadge:
    """A badge a customer holds (granted and not revoked), since when."""

    badge_id: int
    earned_at: datetime


@dataclass(frozen=True, slots=True)
class CustomerBadge:
    """One line of the customer's badge list."""

    badge: BadgeType
    state: BadgeState
    earned_at: datetime | None = None


def customer_badges(badges: Sequence[BadgeType], held: Iterable[HeldBadge]) -> list[CustomerBadge]:
    """The customer's badge list: earned ones, newest first, then the visible locked ones
    in the site's order; hidden badges the customer has not earned are left out.

    A badge held twice (two grants racing before the unique key turned one away) counts
    once, from its first date; holdings of badges not in ``badges`` are ignored.
    """
    by_id = {badge.id: badge for badge in badges}
    first: dict[int, datetime] = {}
    for holding in held:
        if holding.badge_id in by_id:
            earlier = first.get(holding.badge_id)
            if earlier is None or holding.earned_at < earlier:
                first[holding.badge_id] = holding.earned_at
    earned = [
        CustomerBadge(by_id[badge_id], BadgeState.EARNED, at)
        for badge_id, at in sorted(first.items(), key=lambda item: (-item[1].timestamp(), item[0]))
    ]
    locked = [
        CustomerBadge(badge, BadgeState.LOCKED)
        for badge in badges
        if badge.id not in first and badge.visibility is BadgeVisibility.VISIBLE_LOCKED
    ]
    return earned + locked


def badge_problems(badge: BadgeType) -> list[FieldProblem]:
    """What is wrong with a badge type's admin input."""
    return [
        *code_problems(badge.code),
        *name_problems(badge.name),
        *description_problems(badge.description, ("description",)),
        *description_problems(badge.how_to_earn, ("how_to_earn",)),
        *url_problems(badge.image_url, ("image_url",)),
    ]
