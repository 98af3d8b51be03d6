"""Orders: where an order is in its life, what the shop expects of it when recording it,
and the share of its points that refunds take back and give back."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem
from loyalty_gql.domain.values import Money, PointsRounding


class OrderStatus(StrEnum):
    """PLACED, then COMPLETED; CANCELLED undoes it; REFUNDED when all money went back.
    Stored as these strings."""

    PLACED = "PLACED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    REFUNDED = "REFUNDED"


@dataclass(frozen=True, slots=True)
class QuoteExpectation:
    """What the shop quoted and charged: the order is recorded only if it still holds.
    None: not checked. ``total`` in minor units of the site's currency."""

    total: int | None = None
    points: int | None = None
    points_paid: int | None = None

    def check(self) -> None:
        """Refuse expectations no order can meet (negative amounts)."""
        problems = [
            FieldProblem((f"expected_{name}",), ErrorCode.INVALID_VALUE, "must be 0 or more")
            for name, value in (
                ("total", self.total), ("points", self.points), ("points_paid", self.points_paid)
            )
            if value is not None and value < 0
        ]  # fmt: skip
        if problems:
            raise DomainError(problems)

    def differences(
        self, currency: str, *, total: int, points: int, points_paid: int
    ) -> list[tuple[str, str, str]]:
        """(field, as expected, as it is) for each expectation the order does not meet."""
        found = []
        if self.total is not None and self.total != total:
            found.append(("expected_total", _money(self.total, currency), _money(total, currency)))
        if self.points is not None and self.points != points:
            found.append(("expected_points", f"{self.points} points", f"{points} points"))
        if self.points_paid is not None and self.points_paid != points_paid:
            found.append(
                ("expected_points_paid", f"{self.points_paid} points", f"{points_paid} points")
            )
        return found

    def check_quote(self, currency: str, *, total: int, points: int, points_paid: int) -> None:
        """QUOTE_CHANGED, with both values, for each expectation the new quote misses."""
        what = {"expected_total": "totals", "expected_points": "earns",
                "expected_points_paid": "uses for payment"}  # fmt: skip
        problems = [
            FieldProblem(
                (field,),
                ErrorCode.QUOTE_CHANGED,
                f"recalculated now, the order {what[field]} {now}, not the {expected} quoted; "
                "nothing was recorded",
            )
            for field, expected, now in self.differences(
                currency, total=total, points=points, points_paid=points_paid
            )
        ]
        if problems:
            raise DomainError(problems)


def _money(minor: int, currency: str) -> str:
    return f"{Money(minor, currency).amount} {currency}"


def refunded_points(
    points: int, refunded: int, base: int, rounding: PointsRounding, *, in_full: bool
) -> int:
    """The points of ``points`` that refunds of ``refunded`` out of ``base`` (money) cover,
    rounded by the site's points rounding. Cumulative: each refund takes this for all
    refunds so far less what earlier ones took, so the parts add up to ``points`` exactly
    and never to a point more or less. All of them once the order is refunded in full."""
    if in_full or (base > 0 and refunded >= base):
        return points
    if base <= 0 or refunded <= 0:
        return 0
    return min(points, max(0, rounding.apply(Decimal(points * refunded) / base)))
