"""The points ledger's rules: entry kinds, which lots a spend uses, and expiry dates.

Points are integers. Every change is an entry; each earning is a lot with its own
expiry; a spend takes from the lots that expire soonest, and records how much it
took from each, so that reversing it can give back exactly those lots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum, StrEnum
from zoneinfo import ZoneInfo

from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.sites import ValidityPolicy

MAX_POINTS_PER_ENTRY = 100_000_000
MAX_POINTS_BALANCE = 1_000_000_000
"""The most points one customer holds, available and pending together: every
per-customer balance fits a GraphQL Int (2^31-1); totals over customers are BigInt."""


class EntryKind(Enum):
    """What a ledger entry did to a customer's points."""

    EARNED = "EARNED"
    """Points became available at once."""
    PENDING = "PENDING"
    """Points were promised, available once the order completes."""
    ACTIVATED = "ACTIVATED"
    """Pending points became available."""
    REDEEMED = "REDEEMED"
    """Points were spent (on an offer, a voucher, an order)."""
    EXPIRED = "EXPIRED"
    """Points ran out of validity."""
    ADJUSTED = "ADJUSTED"
    """An admin added or removed points, with a reason."""
    REVERSED = "REVERSED"
    """An earlier entry was undone, in whole or in part (refund, cancellation)."""


class SourceType(Enum):
    """What caused an entry."""

    ORDER = "ORDER"
    ACTIVITY = "ACTIVITY"
    OFFER = "OFFER"
    THRESHOLD_REWARD = "THRESHOLD_REWARD"
    ADMIN = "ADMIN"
    EXPIRY = "EXPIRY"
    REVERSAL = "REVERSAL"
    CAMPAIGN = "CAMPAIGN"  # a campaign's award: the entry's reason names the campaign
    LEADERBOARD = "LEADERBOARD"  # a leaderboard's prize at its period's end
    CHALLENGE = "CHALLENGE"  # a completed challenge's points (gamification)


@dataclass(frozen=True, slots=True)
class Lot:
    """Points from one earning that are still there, and when they expire."""

    id: int
    remaining: int
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Take:
    """Points taken from (negative) or given back to (positive) one lot."""

    lot_id: int
    points: int


def check_points(points: int, *, allow_negative: bool = False, field: str = "points") -> None:
    """Refuse zero, negative (unless allowed) and absurdly large amounts."""
    if points == 0 or (points < 0 and not allow_negative):
        wanted = "a non-zero whole number" if allow_negative else "a positive whole number"
        raise DomainError.single(ErrorCode.INVALID_VALUE, f"points must be {wanted}", field)
    if abs(points) > MAX_POINTS_PER_ENTRY:
        raise DomainError.single(
            ErrorCode.INVALID_VALUE, f"at most {MAX_POINTS_PER_ENTRY} points at once", field
        )


def check_balance(held: int, gain: int) -> None:
    """Refuse a gain that would take a customer's points (available and pending, ``held``
    now) beyond MAX_POINTS_BALANCE."""
    if gain > 0 and held + gain > MAX_POINTS_BALANCE:
        raise DomainError.single(
            ErrorCode.BALANCE_LIMIT_REACHED,
            f"a customer holds at most {MAX_POINTS_BALANCE} points (available and pending): "
            f"{held} now, {gain} more would make {held + gain}",
            "points",
        )


def spending_order(lots: Sequence[Lot]) -> list[Lot]:
    """Lots in the order a spend uses them: soonest expiry first, never-expiring last."""
    return sorted(
        lots,
        key=lambda lot: (
            lot.expires_at is None,
            lot.expires_at.timestamp() if lot.expires_at else 0.0,
            lot.id,
        ),
    )


def plan_spend(lots: Sequence[Lot], points: int) -> list[Take]:
    """Which lots a spend of ``points`` takes from; INSUFFICIENT_POINTS if they don't cover it."""
    available = sum(lot.remaining for lot in lots)
    if points > available:
        raise DomainError.single(
            ErrorCode.INSUFFICIENT_POINTS,
            f"{points} points are needed but only {available} are available",
            "points",
        )
    takes = []
    left = points
    for lot in spending_order([lot for lot in lots if lot.remaining > 0]):
        if left == 0:
            break
        taken = min(lot.remaining, left)
        takes.append(Take(lot.id, -taken))
        left -= taken
    return takes


def plan_give_back(taken: Sequence[Take], points: int) -> list[Take]:
    """Give ``points`` back to the lots a spend took them from, last-used lot first.

    ``taken`` is the spend's net takes per lot (negative numbers). Giving back
    the lot used last first keeps the points that expire latest with the customer.
    """
    gives = []
    left = points
    for take in reversed(taken):
        if left == 0:
            break
        given = min(-take.points, left)
        if given > 0:
            gives.append(Take(take.lot_id, given))
            left -= given
    if left:
        msg = f"cannot give back {points} points: the entry took only {points - left}"
        raise DomainError.single(ErrorCode.INVALID_VALUE, msg, "points")
    return gives


# Points are valid through whole calendar days of the site's timezone: "valid until
# 30 April" means usable all of 30 April there. A stored expiry (``expires_at``) is
# the first moment they are no longer valid, the end of that last day (the next
# day's local midnight), so "expires_at <= now" decides at any hour a job runs.


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """The calendar day in ``zone`` that ``moment`` falls on."""
    return moment.astimezone(zone).date()


def end_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The moment the calendar day ``day`` of ``zone`` ends (the next day's first
    moment there), in UTC."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)


def last_valid_day(expires_at: datetime, zone: ZoneInfo) -> date:
    """The last calendar day in ``zone`` on which points expiring at ``expires_at``
    can still be used (the day before, when they expire at a local midnight)."""
    return local_day(expires_at - timedelta(microseconds=1), zone)


def lot_expiry(
    policy: ValidityPolicy, validity_days: int | None, earned_at: datetime, zone: ZoneInfo
) -> datetime | None:
    """When a lot earned at ``earned_at`` expires (None: never, or with the account):
    at the end of the local day ``validity_days`` after the day it was earned."""
    if policy is ValidityPolicy.FIXED_DAYS and validity_days:
        return end_of_day(local_day(earned_at, zone) + timedelta(days=validity_days), zone)
    return None


def rolling_expiry(
    policy: ValidityPolicy,
    validity_days: int | None,
    last_order_at: datetime | None,
    zone: ZoneInfo,
) -> datetime | None:
    """When all of an account's points expire under ROLLING_DAYS: at the end of the
    local day ``validity_days`` after the day of the last order."""
    if policy is ValidityPolicy.ROLLING_DAYS and validity_days and last_order_at:
        return end_of_day(local_day(last_order_at, zone) + timedelta(days=validity_days), zone)
    return None


def warning_step(days_left: float, schedule: Sequence[int]) -> int | None:
    """The schedule step a warning belongs to now: the smallest step not yet passed.

    With steps (60, 30, 14, 7) and 20 days left, the 30-day warning is due; a
    job that ran late does not send the 60-day one as well.
    """
    due = [step for step in schedule if days_left <= step]
    return min(due) if due else None


def warning_due(
    expires_at: datetime, now: datetime, zone: ZoneInfo, schedule: Sequence[int]
) -> int | None:
    """The warning step due today (a calendar day in ``zone``) for points expiring at
    ``expires_at``: the N-day warning is due on the day N days before their last valid
    day, whatever the hour the job runs, and stays due (for a late job) until the next
    step's day."""
    days_left = (last_valid_day(expires_at, zone) - local_day(now, zone)).days
    return warning_step(days_left, schedule)


def threshold_conversions(available: int, threshold: int) -> int:
    """How many threshold rewards an available balance converts into now."""
    if threshold <= 0:
        return 0
    return available // threshold


class VoucherStatus(StrEnum):
    """Where a voucher is in its life; stored as these strings."""

    ACTIVE = "ACTIVE"
    USED = "USED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


def voucher_status(stored: str, expires_at: datetime | None, now: datetime) -> VoucherStatus:
    """A voucher's status now: an ACTIVE one past its expiry is EXPIRED (no job writes
    that down; the time decides)."""
    status = VoucherStatus(stored)
    if status is VoucherStatus.ACTIVE and expires_at is not None and expires_at <= now:
        return VoucherStatus.EXPIRED
    return status
