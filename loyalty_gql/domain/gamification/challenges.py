"""Challenges: a goal over a time window, its progress visible to the customer, and a
reward on completion ("three orders in 30 days", "spend 200.00 on shoes in December",
"buy five different teas", "an order every month for three months").

One pure function, :func:`progress`, says where a customer stands. The caller brings
what only the database knows: the customer's facts (orders and activities, each with
whether it still counts: a cancelled or refunded order does not) and the completions
already recorded (and rewarded). The rules, as documented for shop owners:

1. A fact counts when it still counts, is of the goal's kind (a completed order; an
   activity of the goal's code), lies in the challenge's window [starts_at, ends_at)
   and is not later than ``now``. Facts are taken in time order (then by key).
2. The goal is measured over the counting facts of the current round: their number
   (COUNT), what was paid for their lines after every discount, within the goal's
   categories if it names some (AMOUNT, like a campaign's qualifying amount), the
   products of those lines (DISTINCT_PRODUCTS), or the consecutive weeks (Monday to
   Sunday) or months of the site's timezone with at least one order (STREAK). A
   rolling window of N days measures, at each fact, the facts of the last N days:
   (at - N days, at].
3. A round completes at the first fact that brings the measure to the target. The facts
   up to it are spent on that completion: a challenge that runs REPEATEDLY starts its
   next round after it (a streak, after the period that completed it), and what was
   measured beyond the target is not carried over. A ONCE challenge completes once; a
   repeated one at most ``max_completions`` times if it has that limit.
4. A cancelled or refunded order takes its progress back: it no longer counts, so the
   round's measure drops. A completion already recorded and rewarded **stays** when an
   order it counted is later cancelled; the next round starts after it as before.
   Only when the shop chose ``reverse_on_cancel`` are the rounds replayed from the
   facts that still count, and the completions they no longer support (the last ones)
   are returned to be reversed (their rewards taken back by the caller).
5. New completions are returned with the moment each happened (``due``), numbered on
   from those recorded: the caller records completion number k of (challenge,
   customer) under a unique key, so concurrent orders reward it exactly once.

Who may take part (the audience) is checked by the caller when it records progress:
:meth:`Audience.admits`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from loyalty_gql.domain.campaigns import LimitPeriod, period_start
from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem
from loyalty_gql.domain.gamification._text import code_problems, description_problems, name_problems
from loyalty_gql.domain.gamification.rewards import Reward, reward_problems
from loyalty_gql.domain.offers import GROUP

MAX_COUNT = 10**6
MAX_AMOUNT_MINOR = 10**12
MAX_DISTINCT_PRODUCTS = 10**4
MIN_STREAK, MAX_STREAK = 2, 52
MAX_ROLLING_DAYS = 3660
MAX_COMPLETIONS = 10**6
MAX_CATEGORIES = 1000
MAX_AUDIENCE = 100
SMALL_TARGET = 5  # up to this target, every step is a milestone
MILESTONE_PERCENTS = (25, 50, 75)
UTC_ZONE = ZoneInfo("UTC")


class GoalKind(Enum):
    """What a challenge measures."""

    COUNT = "COUNT"  # qualifying events: completed orders, or activities of one code
    AMOUNT = "AMOUNT"  # minor units paid, after discounts (optionally within categories)
    DISTINCT_PRODUCTS = "DISTINCT_PRODUCTS"
    STREAK = "STREAK"  # consecutive weeks or months with an order


class FactKind(Enum):
    """What a fact is."""

    ORDER = "ORDER"  # a completed order
    ACTIVITY = "ACTIVITY"  # a rewarded activity (a review, a newsletter sign-up)


class StreakUnit(Enum):
    """The period of a streak, in the site's timezone."""

    WEEK = "WEEK"  # Monday to Sunday
    MONTH = "MONTH"


class Recurrence(Enum):
    """How often a customer can complete a challenge."""

    ONCE = "ONCE"
    REPEATEDLY = "REPEATEDLY"


@dataclass(frozen=True, slots=True)
class Goal:
    """The target: events, minor units, products, or periods in a row (STREAK)."""

    kind: GoalKind
    target: int
    counts: FactKind = FactKind.ORDER  # COUNT: what is counted
    activity_code: str | None = None  # COUNT of ACTIVITY: which activity
    categories: frozenset[str] = frozenset()  # AMOUNT, DISTINCT_PRODUCTS: only these
    streak_unit: StreakUnit | None = None  # STREAK

    def qualifies(self, fact: Fact) -> bool:
        """Whether the fact is of the kind this goal counts (its window aside)."""
        if not fact.counts:
            return False
        if self.kind is GoalKind.COUNT and self.counts is FactKind.ACTIVITY:
            return fact.kind is FactKind.ACTIVITY and fact.activity_code == self.activity_code
        return fact.kind is FactKind.ORDER


@dataclass(frozen=True, slots=True)
class Window:
    """When facts count: [starts_at, ends_at) (either open), and with ``rolling_days``
    only the facts of the last N days at each moment."""

    starts_at: datetime | None = None
    ends_at: datetime | None = None
    rolling_days: int | None = None

    def holds(self, at: datetime) -> bool:
        """Whether ``at`` lies in [starts_at, ends_at)."""
        return (self.starts_at is None or self.starts_at <= at) and (
            self.ends_at is None or at < self.ends_at
        )


@dataclass(frozen=True, slots=True)
class Audience:
    """Who may take part: everyone when both are empty; otherwise a customer in one of
    the groups (if groups are named) and in one of the tiers (if tiers are named)."""

    groups: frozenset[str] = frozenset()
    tier_ids: frozenset[int] = frozenset()

    def admits(self, groups: Iterable[str], tier_id: int | None) -> bool:
        """Whether a customer of these groups and tier may take part."""
        if self.groups and not self.groups & set(groups):
            return False
        return not self.tier_ids or tier_id in self.tier_ids


@dataclass(frozen=True, slots=True)
class Challenge:
    """A challenge of a site."""

    id: int
    name: str
    goal: Goal
    rewards: tuple[Reward, ...]
    window: Window = Window()
    audience: Audience = Audience()
    recurrence: Recurrence = Recurrence.ONCE
    max_completions: int | None = None  # REPEATEDLY: at most this many (None: no limit)
    reverse_on_cancel: bool = False  # the shop takes back completions no longer supported
    description: str = ""

    @property
    def completion_limit(self) -> int | None:
        """How many completions a customer can have (None: no limit)."""
        return 1 if self.recurrence is Recurrence.ONCE else self.max_completions

    def check(self, zone: ZoneInfo) -> None:
        """Raise a DomainError listing what is wrong with the challenge."""
        problems = challenge_problems(self, zone)
        if problems:
            raise DomainError(problems)


@dataclass(frozen=True, slots=True)
class FactLine:
    """A line of an order: what was paid for it after every discount (minor units)."""

    product_id: str
    category: str
    paid_minor: int


@dataclass(frozen=True, slots=True)
class Fact:
    """An order or activity of the customer; ``key`` is its natural key (the order id).

    ``counts`` is False once the order is cancelled or refunded in full; a partial
    refund is given as the lines' remaining paid amounts. ``amount_minor`` is the
    order's paid total after discounts, used when the goal names no categories.
    """

    key: str
    kind: FactKind
    at: datetime
    counts: bool = True
    amount_minor: int = 0
    lines: tuple[FactLine, ...] = ()
    activity_code: str | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a customer stands in a challenge at ``now``.

    ``value`` is the current round's measure (the target once a ONCE challenge is
    complete); ``completed`` the completions that stand, the new ones included;
    ``due`` when each new completion happened, oldest first (their numbers follow the
    recorded ones that stay); ``to_reverse`` the numbers of recorded completions to take
    back (only with ``reverse_on_cancel``). ``ends_at`` is when the current progress
    runs out: the window's end, the moment the oldest fact of a rolling window drops
    out, or the end of the period a streak must be extended in.
    """

    value: int
    target: int
    completed: int
    due: tuple[datetime, ...] = ()
    to_reverse: tuple[int, ...] = ()
    ends_at: datetime | None = None
    time_left: timedelta | None = None
    open: bool = True  # the window admits facts at now
    finished: bool = False  # no further completion can come (done, or the window closed)
    due_keys: tuple[str, ...] = ()  # the key of the fact that completed each of ``due``

    @property
    def completion_due(self) -> bool:
        """Whether a new completion is to be recorded and rewarded now."""
        return bool(self.due)


def progress(
    challenge: Challenge,
    facts: Iterable[Fact],
    recorded: Sequence[datetime | tuple[datetime, str]],
    now: datetime,
    zone: ZoneInfo,
) -> Progress:
    """Where the customer stands at ``now``, what is due and what is to be reversed.

    ``recorded`` is when each completion already recorded (and not reversed) happened,
    oldest first, each with the key of the fact that completed it when known (facts of
    the same instant are then told apart: the next round starts after that fact);
    ``zone`` is the site's timezone (streak periods follow it).
    """
    goal, window = challenge.goal, challenge.window
    counting = sorted(
        (f for f in facts if goal.qualifies(f) and window.holds(f.at) and f.at <= now),
        key=lambda f: (f.at, f.key),
    )
    rounds = _Rounds(challenge, counting, zone)
    limit = challenge.completion_limit
    to_reverse: tuple[int, ...] = ()
    if challenge.reverse_on_cancel:
        state = rounds.replay(0, None, limit)
        kept = min(len(recorded), len(state.completions))
        to_reverse = tuple(range(kept + 1, len(recorded) + 1))
        due = tuple(state.completions[kept:])
        due_keys = tuple(state.keys[kept:])
        completed = len(state.completions)
    else:
        start, floor = rounds.after(recorded[-1]) if recorded else (0, None)
        left = None if limit is None else max(limit - len(recorded), 0)
        state = rounds.replay(start, floor, left)
        due = tuple(state.completions)
        due_keys = tuple(state.keys)
        completed = len(recorded) + len(due)
    is_open = window.holds(now)
    done = limit is not None and completed >= limit
    if done:
        return Progress(
            goal.target, goal.target, completed, due, to_reverse, open=is_open, finished=True,
            due_keys=due_keys,
        )  # fmt: skip
    value, ends_at = rounds.current(state, now)
    if window.ends_at is not None and (ends_at is None or window.ends_at < ends_at):
        ends_at = window.ends_at
    time_left = None if ends_at is None else max(ends_at - now, timedelta(0))
    finished = window.ends_at is not None and now >= window.ends_at
    return Progress(
        value, goal.target, completed, due, to_reverse, ends_at, time_left, is_open, finished,
        due_keys,
    )  # fmt: skip


def milestones(target: int) -> tuple[int, ...]:
    """The values that send CHALLENGE_PROGRESS: each step up to SMALL_TARGET, otherwise
    25, 50 and 75 % of the target (rounded up); never 0 nor the target itself (reaching
    it sends CHALLENGE_COMPLETED)."""
    if target <= SMALL_TARGET:
        return tuple(range(1, target))
    marks = {math.ceil(target * percent / 100) for percent in MILESTONE_PERCENTS}
    return tuple(sorted(mark for mark in marks if 0 < mark < target))


def milestones_crossed(target: int, before: int, after: int) -> tuple[int, ...]:
    """The milestones passed when a round's value went from ``before`` to ``after``
    (none when it went back: a cancellation does not announce anything). When a round
    completed in between, the caller asks for the new round from 0."""
    return tuple(mark for mark in milestones(target) if before < mark <= after)


# -- rounds ------------------------------------------------------------------------------


@dataclass(slots=True)
class _State:
    """Where a replay ended: the completions it found and the open round."""

    completions: list[datetime]
    start: int  # index of the open round's first fact
    floor: int | None  # STREAK: the open round counts periods after this one
    run: int = 0  # STREAK: periods in a row so far
    last: int | None = None  # STREAK: the last period of the run
    keys: list[str] = field(default_factory=list)  # the completing facts' keys


class _Rounds:
    """The counting facts of one customer and challenge, and how rounds complete."""

    def __init__(self, challenge: Challenge, facts: list[Fact], zone: ZoneInfo) -> None:
        self.goal = challenge.goal
        self.rolling = (
            None
            if challenge.window.rolling_days is None
            else timedelta(days=challenge.window.rolling_days)
        )
        self.facts = facts
        self.zone = zone

    def after(self, mark: datetime | tuple[datetime, str]) -> tuple[int, int | None]:
        """Where the round after a recorded completion starts: the first fact later than
        it (than the fact that completed it, when its key is known) and, for a streak,
        the period after the completion's."""
        if isinstance(mark, tuple):
            completed_at, key = mark
            start = next(
                (i for i, f in enumerate(self.facts) if (f.at, f.key) > (completed_at, key)),
                len(self.facts),
            )
        else:
            completed_at = mark
            start = next(
                (i for i, f in enumerate(self.facts) if f.at > completed_at), len(self.facts)
            )
        if self.goal.kind is GoalKind.STREAK:
            return start, self.period(completed_at)
        return start, None

    def replay(self, start: int, floor: int | None, limit: int | None) -> _State:
        """The completions from fact ``start`` on, at most ``limit`` of them."""
        state = _State([], start, floor)
        if self.goal.kind is GoalKind.STREAK:
            return self._replay_streak(state, limit)
        for i in range(start, len(self.facts)):
            if limit is not None and len(state.completions) >= limit:
                break
            at = self.facts[i].at
            if self.measure(self._round(state.start, i + 1, at)) >= self.goal.target:
                state.completions.append(at)
                state.keys.append(self.facts[i].key)
                state.start = i + 1
        return state

    def current(self, state: _State, now: datetime) -> tuple[int, datetime | None]:
        """The open round's value at ``now`` and when that progress runs out."""
        if self.goal.kind is GoalKind.STREAK:
            return self._current_streak(state, now)
        facts = self._round(state.start, len(self.facts), now)
        value = self.measure(facts)
        if self.rolling is None or not facts or value == 0:
            return value, None
        return value, facts[0].at + self.rolling

    def _round(self, start: int, end: int, at: datetime) -> list[Fact]:
        facts = self.facts[start:end]
        if self.rolling is not None:
            since = at - self.rolling
            facts = [f for f in facts if f.at > since]
        return facts

    def measure(self, facts: Sequence[Fact]) -> int:
        """The goal's measure of these facts (not STREAK)."""
        goal = self.goal
        if goal.kind is GoalKind.COUNT:
            return len(facts)
        if goal.kind is GoalKind.AMOUNT:
            if not goal.categories:
                return sum(max(f.amount_minor, 0) for f in facts)
            return sum(
                max(line.paid_minor, 0)
                for f in facts
                for line in f.lines
                if line.category in goal.categories
            )
        return len(
            {
                line.product_id
                for f in facts
                for line in f.lines
                if not goal.categories or line.category in goal.categories
            }
        )

    # -- streaks

    def period(self, at: datetime) -> int:
        """The number of the week or month holding ``at`` in the site's zone (consecutive
        periods have consecutive numbers)."""
        if self.goal.streak_unit is StreakUnit.WEEK:
            start = period_start(LimitPeriod.WEEK, at, self.zone)
            assert start is not None  # noqa: S101 - WEEK has a start
            return start.date().toordinal() // 7  # Mondays are 7k + 1
        local = at.astimezone(self.zone)
        return local.year * 12 + local.month - 1

    def period_end(self, number: int) -> datetime:
        """When period ``number`` ends (the next one starts), in the site's zone."""
        following = number + 1
        if self.goal.streak_unit is StreakUnit.WEEK:
            day = date.fromordinal(following * 7 + 1)
        else:
            day = date(following // 12, following % 12 + 1, 1)
        return datetime.combine(day, time(), self.zone)

    def _replay_streak(self, state: _State, limit: int | None) -> _State:
        for i in range(state.start, len(self.facts)):
            number = self.period(self.facts[i].at)
            if state.floor is not None and number <= state.floor:
                continue
            if limit is not None and len(state.completions) >= limit:
                break
            if state.last == number:
                continue  # another order in the same period
            consecutive = state.last is not None and number == state.last + 1
            state.run = state.run + 1 if consecutive else 1
            state.last = number
            if state.run >= self.goal.target:
                state.completions.append(self.facts[i].at)
                state.keys.append(self.facts[i].key)
                state.start, state.floor, state.run, state.last = i + 1, number, 0, None
        return state

    def _current_streak(self, state: _State, now: datetime) -> tuple[int, datetime | None]:
        if state.last is None:
            return 0, None
        current = self.period(now)
        if state.last == current:
            return state.run, self.period_end(current + 1)  # next period keeps it
        if state.last == current - 1:
            return state.run, self.period_end(current)  # an order this period keeps it
        return 0, None  # a period was missed: the run is broken


# -- validation ----------------------------------------------------------------------------

TARGET_LIMITS = {
    GoalKind.COUNT: (1, MAX_COUNT),
    GoalKind.AMOUNT: (1, MAX_AMOUNT_MINOR),
    GoalKind.DISTINCT_PRODUCTS: (1, MAX_DISTINCT_PRODUCTS),
    GoalKind.STREAK: (MIN_STREAK, MAX_STREAK),
}


def challenge_problems(challenge: Challenge, zone: ZoneInfo = UTC_ZONE) -> list[FieldProblem]:
    """What is wrong with a challenge's admin input (``zone``: the site's, for streaks)."""
    return [
        *name_problems(challenge.name),
        *description_problems(challenge.description, ("description",)),
        *_goal_problems(challenge.goal),
        *_window_problems(challenge, zone),
        *_audience_problems(challenge.audience),
        *reward_problems(challenge.rewards, ("rewards",)),
        *_recurrence_problems(challenge),
    ]


def _goal_problems(goal: Goal) -> list[FieldProblem]:
    problems: list[FieldProblem] = []

    def bad(name: str, message: str, code: ErrorCode = ErrorCode.INVALID_VALUE) -> None:
        problems.append(FieldProblem(("goal", name), code, message))

    low, high = TARGET_LIMITS[goal.kind]
    if not low <= goal.target <= high:
        what = "periods in a row" if goal.kind is GoalKind.STREAK else "the target"
        bad("target", f"{what}: must be {low} to {high}")
    if goal.kind is GoalKind.STREAK and goal.streak_unit is None:
        bad("streak_unit", "a streak counts weeks or months", ErrorCode.REQUIRED)
    if goal.kind is not GoalKind.STREAK and goal.streak_unit is not None:
        bad("streak_unit", "applies to streaks only")
    if goal.counts is FactKind.ACTIVITY and goal.kind is not GoalKind.COUNT:
        bad("counts", "amounts, products and streaks count orders")
    if goal.kind is GoalKind.COUNT and goal.counts is FactKind.ACTIVITY:
        if goal.activity_code is None:
            bad("activity_code", "name the activity counted", ErrorCode.REQUIRED)
        else:
            problems.extend(code_problems(goal.activity_code, ("goal", "activity_code")))
    elif goal.activity_code is not None:
        bad("activity_code", "applies to a count of activities only")
    if goal.categories and goal.kind not in (GoalKind.AMOUNT, GoalKind.DISTINCT_PRODUCTS):
        bad("categories", "apply to amounts and distinct products only")
    if len(goal.categories) > MAX_CATEGORIES:
        bad("categories", f"at most {MAX_CATEGORIES}")
    if any(not category.strip() or len(category) > 100 for category in goal.categories):
        bad("categories", "each is 1-100 characters")
    return problems


def _window_problems(challenge: Challenge, zone: ZoneInfo) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    window, goal = challenge.window, challenge.goal
    starts, ends = window.starts_at, window.ends_at
    if starts is not None and ends is not None and ends <= starts:
        problems.append(
            FieldProblem(("window", "ends_at"), ErrorCode.INVALID_VALUE, "must be after starts_at")
        )
    elif starts is not None and ends is not None and goal.kind is GoalKind.STREAK:
        rounds = _Rounds(challenge, [], zone)
        periods = rounds.period(ends - timedelta(microseconds=1)) - rounds.period(starts) + 1
        if goal.streak_unit is not None and periods < goal.target:
            problems.append(
                FieldProblem(
                    ("window", "ends_at"),
                    ErrorCode.INVALID_VALUE,
                    f"spans {periods} {goal.streak_unit.value.lower()}s, fewer than the streak",
                )
            )
    if window.rolling_days is not None:
        if not 1 <= window.rolling_days <= MAX_ROLLING_DAYS:
            problems.append(
                FieldProblem(
                    ("window", "rolling_days"),
                    ErrorCode.INVALID_VALUE,
                    f"must be 1 to {MAX_ROLLING_DAYS} days",
                )
            )
        if goal.kind is GoalKind.STREAK:
            problems.append(
                FieldProblem(
                    ("window", "rolling_days"),
                    ErrorCode.INVALID_VALUE,
                    "a streak has its own periods; give fixed dates or none",
                )
            )
    return problems


def _audience_problems(audience: Audience) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    for name, chosen in (("groups", audience.groups), ("tier_ids", audience.tier_ids)):
        if len(chosen) > MAX_AUDIENCE:
            problems.append(
                FieldProblem(("audience", name), ErrorCode.INVALID_VALUE, f"at most {MAX_AUDIENCE}")
            )
    if any(not GROUP.match(group) for group in audience.groups):
        problems.append(
            FieldProblem(
                ("audience", "groups"),
                ErrorCode.INVALID_VALUE,
                "1-64 letters, digits, '_', '.', ':' or '-', starting with a letter or digit",
            )
        )
    if any(tier_id < 1 for tier_id in audience.tier_ids):
        problems.append(
            FieldProblem(("audience", "tier_ids"), ErrorCode.INVALID_VALUE, "unknown tier")
        )
    return problems


def _recurrence_problems(challenge: Challenge) -> list[FieldProblem]:
    limit = challenge.max_completions
    if limit is None:
        return []
    if challenge.recurrence is Recurrence.ONCE:
        message = "applies to repeated challenges only"
    elif not 1 <= limit <= MAX_COMPLETIONS:
        message = f"must be 1 to {MAX_COMPLETIONS}"
    else:
        return []
    return [FieldProblem(("max_completions",), ErrorCode.INVALID_VALUE, message)]
