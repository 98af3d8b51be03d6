"""Tiers: levels a customer reaches by points earned or money spent in a window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum

from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem

MAX_MULTIPLIER = Decimal(100)


class TierMetric(Enum):
    """What a tier's threshold counts."""

    POINTS_EARNED = "POINTS_EARNED"
    AMOUNT_SPENT = "AMOUNT_SPENT"


@dataclass(frozen=True, slots=True)
class TierRule:
    """One tier: reached when ``metric`` within the window reaches ``threshold``.

    ``threshold`` is points for POINTS_EARNED and minor units of the site's
    currency for AMOUNT_SPENT. ``window_months`` None means lifetime.
    A higher ``rank`` is a better tier.
    """

    id: int
    name: str
    rank: int
    metric: TierMetric
    threshold: int
    window_months: int | None
    earn_multiplier: Decimal

    def check(self) -> None:
        """Raise a DomainError listing what is wrong with the tier."""
        problems = []
        if not self.name.strip() or len(self.name) > 100:
            problems.append(_invalid("name", "must be 1-100 characters"))
        if not 0 <= self.rank <= 1000:
            problems.append(_invalid("rank", "must be 0 to 1000"))
        if not 0 <= self.threshold <= 10**12:
            problems.append(_invalid("threshold", "must be 0 or more"))
        if self.window_months is not None and not 1 <= self.window_months <= 120:
            problems.append(_invalid("window_months", "must be 1 to 120 months, or null"))
        if not Decimal(1) <= self.earn_multiplier <= MAX_MULTIPLIER:
            problems.append(_invalid("earn_multiplier", f"must be 1 to {MAX_MULTIPLIER}"))
        elif self.earn_multiplier.as_tuple().exponent < -2:  # type: ignore[operator]
            problems.append(_invalid("earn_multiplier", "may have at most 2 decimal places"))
        if problems:
            raise DomainError(problems)


Measures = dict[tuple[TierMetric, int | None], int]


def best_tier(tiers: Sequence[TierRule], measures: Measures) -> TierRule | None:
    """The highest-ranked tier whose threshold the measures reach."""
    reached = [t for t in tiers if measures.get((t.metric, t.window_months), 0) >= t.threshold]
    return max(reached, key=lambda t: (t.rank, t.threshold, t.id), default=None)


def next_tier(tiers: Sequence[TierRule], current: TierRule | None) -> TierRule | None:
    """The tier just above ``current`` (the lowest-ranked better one)."""
    floor = current.rank if current else -1
    above = [t for t in tiers if t.rank > floor]
    return min(above, key=lambda t: (t.rank, t.threshold, t.id), default=None)


def window_start(today: date, months: int | None) -> date | None:
    """First day counted by a rolling window of ``months`` ending today (None: lifetime)."""
    if months is None:
        return None
    month_index = today.year * 12 + today.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    last_day = [31, 29 if _leap(year) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return date(year, month, min(today.day, last_day))


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _invalid(field: str, message: str) -> FieldProblem:
    return FieldProblem((field,), ErrorCode.INVALID_VALUE, message)
