"""What the program costs and brings in: the arithmetic behind the numbers.

The rules every insight number follows:
  - an order counts unless it was cancelled; its value is its total less what was
    refunded of it (so a fully refunded order counts, with value 0);
  - a period is a range of whole UTC days, both ends included;
  - money is in minor units until the API turns it into an amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_FLOOR, Decimal

from loyalty_gql.domain.errors import DomainError, ErrorCode

MAX_PERIOD_DAYS = 366
TOP_ITEMS = 5
RATE_PLACES = 4


@dataclass(frozen=True, slots=True)
class Period:
    """Whole UTC days from ``first`` to ``last``, both included."""

    first: date
    last: date

    @classmethod
    def of(cls, first: date, last: date) -> Period:
        """A checked period: first <= last, at most MAX_PERIOD_DAYS days."""
        if last < first:
            raise DomainError.single(ErrorCode.INVALID_VALUE, "to is before from", "to")
        if (last - first).days + 1 > MAX_PERIOD_DAYS:
            raise DomainError.single(
                ErrorCode.INVALID_VALUE, f"a period is at most {MAX_PERIOD_DAYS} days", "to"
            )
        return cls(first, last)

    @property
    def start(self) -> datetime:
        """The first instant of the period."""
        return datetime.combine(self.first, time(), UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the period."""
        return datetime.combine(self.last + timedelta(days=1), time(), UTC)

    def days(self) -> list[date]:
        """Every day of the period, in order."""
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def rate(part: int, whole: int) -> float | None:
    """part / whole rounded to RATE_PLACES decimals; None when there is no whole."""
    if whole <= 0:
        return None
    return round(part / whole, RATE_PLACES)


def average_minor(total: int, count: int) -> int | None:
    """total / count in minor units, halves rounded up; None when count is 0."""
    if count <= 0:
        return None
    return (2 * total + count) // (2 * count)


def average_days_between(first: datetime | None, last: datetime | None, count: int) -> float | None:
    """Mean days from one order to the next, to 2 decimals; None below two orders."""
    if first is None or last is None or count < 2:
        return None
    return round((last - first).total_seconds() / 86400 / (count - 1), 2)


def points_value_minor(points: int, point_value: Decimal | None, exponent: int) -> int | None:
    """What ``points`` take off an order at ``point_value`` (money per point), in minor
    units, rounded down as paying with points does; None without a point value."""
    if point_value is None:
        return None
    return int((point_value.scaleb(exponent) * points).to_integral_value(ROUND_FLOOR))


@dataclass(frozen=True, slots=True)
class Bought:
    """How much of one thing (a product or a category) a customer bought."""

    key: str
    quantity: int
    spent_minor: int


def top_bought(totals: dict[str, tuple[int, int]], limit: int = TOP_ITEMS) -> list[Bought]:
    """The ``limit`` things with most money spent (then quantity, then name) from
    {key: (quantity, spent)}; things all refunded (nothing left) are left out."""
    items = [Bought(key, q, s) for key, (q, s) in totals.items() if q > 0 and key]
    items.sort(key=lambda b: (-b.spent_minor, -b.quantity, b.key))
    return items[:limit]
