"""Leaderboards: customers of a site ranked by points earned, amount spent or challenges
completed in a period (a week, a month, all time, or custom dates), with the top N, the
viewer's own rank among neighbours, and optional prizes for the top places at the end.

The rules, as documented for shop owners:

- **Periods** follow the site's timezone: a week runs Monday 00:00 to the next Monday,
  a month from its first day; :func:`period_of` gives the key and bounds holding an
  instant. A custom board has one period, its own dates [starts_at, ends_at).
- **Ties share a rank** (standard competition ranking, "1, 2, 2, 4"): a customer's rank
  is 1 + the number of customers with a strictly higher score, so the place after a
  tie skips as many ranks as were tied. Among tied customers the list order is stable
  (by customer, newest first, the order of the storage's score index) and says nothing.
- **Names**: a customer appears by their display name only when they opted in;
  otherwise by an anonymous label, stable for that customer on that site and not
  revealing who they are (a keyed hash of the customer under the site's secret).
- **Prizes** go by rank: a prize for ranks 1-3 goes to every customer whose rank is 1, 2
  or 3. A tie at the boundary is rewarded whole: when two customers share rank 3, both
  get the rank-3 prize, so more customers than places may be rewarded (a tie below the
  boundary, at rank 4, gets nothing). Customers below the board's minimum score get
  nothing. A job decides this once the period has ended, with :func:`prize_awards`, and
  records each award under (board, period, customer), so running it twice gives once.
"""

from __future__ import annotations

import hashlib
import itertools
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import Enum
from zoneinfo import ZoneInfo

from loyalty_gql.domain.campaigns import LimitPeriod, period_start
from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem
from loyalty_gql.domain.gamification._text import name_problems
from loyalty_gql.domain.gamification.rewards import Reward, reward_problems

MAX_SIZE = 100  # places shown on one page of the board
MAX_NEIGHBOURS = 10
MAX_PRIZE_RANK = 1000
MAX_PRIZES = 20
MAX_DISPLAY_NAME = 40
MAX_SCORE = 10**15
ALL_TIME_KEY = "ALL"
CUSTOM_KEY = "CUSTOM"


class Metric(Enum):
    """What a leaderboard ranks by."""

    POINTS_EARNED = "POINTS_EARNED"  # earned in the period (spending does not lower it)
    AMOUNT_SPENT = "AMOUNT_SPENT"  # minor units paid after discounts, refunds taken back
    CHALLENGES_COMPLETED = "CHALLENGES_COMPLETED"


class PeriodKind(Enum):
    """The periods a leaderboard is kept for."""

    WEEK = "WEEK"  # Monday to Sunday, in the site's timezone
    MONTH = "MONTH"
    ALL_TIME = "ALL_TIME"
    CUSTOM = "CUSTOM"  # the board's own dates


@dataclass(frozen=True, slots=True)
class Prize:
    """What the customers ranked ``from_rank`` to ``to_rank`` (inclusive) get."""

    from_rank: int
    to_rank: int
    rewards: tuple[Reward, ...]


@dataclass(frozen=True, slots=True)
class Leaderboard:
    """A leaderboard of a site."""

    id: int
    name: str
    metric: Metric
    period: PeriodKind
    starts_at: datetime | None = None  # CUSTOM only
    ends_at: datetime | None = None  # CUSTOM only
    size: int = 10  # places shown from the top
    neighbours: int = 2  # places shown above and below the viewer
    prizes: tuple[Prize, ...] = ()
    min_score: int = 1  # a prize needs at least this score

    def check(self) -> None:
        """Raise a DomainError listing what is wrong with the leaderboard."""
        problems = leaderboard_problems(self)
        if problems:
            raise DomainError(problems)


@dataclass(frozen=True, slots=True)
class PeriodBounds:
    """One period of a board: its key (``2026-W49``, ``2026-12``, ``ALL``, ``CUSTOM``)
    and [starts_at, ends_at) (None: open)."""

    key: str
    starts_at: datetime | None
    ends_at: datetime | None


@dataclass(frozen=True, slots=True)
class Score:
    """A customer's score in a period, best first; ``display_name`` only if opted in."""

    customer_id: int
    score: int
    display_name: str | None = None


@dataclass(frozen=True, slots=True)
class Place:
    """One line of a board as customers see it."""

    rank: int
    customer_id: int
    score: int
    name: str
    anonymous: bool


@dataclass(frozen=True, slots=True)
class Standing:
    """The viewer's place with its neighbours, best first on each side."""

    place: Place
    above: tuple[Place, ...]
    below: tuple[Place, ...]


@dataclass(frozen=True, slots=True)
class PrizeAward:
    """A prize one customer gets at the end of a period."""

    customer_id: int
    rank: int
    prize: Prize


def period_of(board: Leaderboard, at: datetime, zone: ZoneInfo) -> PeriodBounds | None:
    """The period of the board holding ``at`` in the site's zone (None: a custom board
    outside its dates)."""
    if board.period is PeriodKind.ALL_TIME:
        return PeriodBounds(ALL_TIME_KEY, None, None)
    if board.period is PeriodKind.CUSTOM:
        if board.starts_at is not None and at < board.starts_at:
            return None
        if board.ends_at is not None and at >= board.ends_at:
            return None
        return PeriodBounds(CUSTOM_KEY, board.starts_at, board.ends_at)
    if board.period is PeriodKind.WEEK:
        start = period_start(LimitPeriod.WEEK, at, zone)
        assert start is not None  # noqa: S101 - a week has a start
        monday = start.date()
        year, week, _ = monday.isocalendar()
        end = date.fromordinal(monday.toordinal() + 7)
        return PeriodBounds(f"{year}-W{week:02d}", start, datetime.combine(end, time(), zone))
    start = period_start(LimitPeriod.MONTH, at, zone)
    assert start is not None  # noqa: S101 - a month has a start
    first = start.date()
    end = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return PeriodBounds(
        f"{first.year}-{first.month:02d}", start, datetime.combine(end, time(), zone)
    )


def competition_ranks(scores: Sequence[int]) -> list[int]:
    """The ranks of a board read from the top, best first ("1, 2, 2, 4")."""
    _check_sorted(scores)
    ranks: list[int] = []
    for position, score in enumerate(scores, 1):
        ranks.append(ranks[-1] if ranks and scores[position - 2] == score else position)
    return ranks


def window_ranks(
    scores: Sequence[int], first_rank: int, customers_per_score: Mapping[int, int]
) -> list[int]:
    """The ranks of a slice of a board that does not start at the top (the viewer's
    neighbours), best first.

    ``first_rank`` is the first entry's rank (1 + customers with a higher score) and
    ``customers_per_score`` how many customers hold each score of the slice on the whole
    board (the storage's score counts): the slice is contiguous, so every score between
    its first and last is one of its own, and rank(s) = first_rank + the customers
    holding a score in (s, first score].
    """
    _check_sorted(scores)
    ranks: list[int] = []
    rank = first_rank
    for i, score in enumerate(scores):
        if i and score != scores[i - 1]:
            rank += customers_per_score.get(scores[i - 1], 0)
        ranks.append(rank)
    return ranks


def rank_of(score: int, customers_per_score: Mapping[int, int]) -> int:
    """The rank of ``score``: 1 + the customers with a strictly higher score."""
    return 1 + sum(count for other, count in customers_per_score.items() if other > score)


def places(scores: Sequence[Score], ranks: Sequence[int], secret: bytes) -> list[Place]:
    """The board's lines: each score with its rank and the name customers see."""
    if len(scores) != len(ranks):
        msg = "one rank per score"
        raise ValueError(msg)
    out = []
    for entry, rank in zip(scores, ranks, strict=True):
        name, anonymous = shown_name(entry.customer_id, entry.display_name, secret)
        out.append(Place(rank, entry.customer_id, entry.score, name, anonymous))
    return out


def shown_name(customer_id: int, display_name: str | None, secret: bytes) -> tuple[str, bool]:
    """The name a customer appears by, and whether it is the anonymous label."""
    if display_name is not None and display_name.strip():
        return display_name.strip(), False
    return anonymous_label(customer_id, secret), True


def anonymous_label(customer_id: int, secret: bytes) -> str:
    """A stable label for a customer who did not opt in ("Member 7F3A2C"): a keyed hash,
    so it tells nothing about the customer without the site's secret."""
    digest = hashlib.blake2b(str(customer_id).encode(), key=secret[:64], digest_size=3)
    return f"Member {digest.hexdigest().upper()}"


def standing(board: Sequence[Place], viewer_id: int, neighbours: int) -> Standing | None:
    """The viewer's place and up to ``neighbours`` places each side, from a slice of the
    board around them (None: the viewer has no score in the period)."""
    for i, place in enumerate(board):
        if place.customer_id == viewer_id:
            above = tuple(board[max(i - neighbours, 0) : i])
            return Standing(place, above, tuple(board[i + 1 : i + 1 + neighbours]))
    return None


def prize_awards(board: Leaderboard, top: Sequence[Place]) -> list[PrizeAward]:
    """Who gets which prize at the period's end, best first.

    ``top`` is the board from its first place down to at least every customer whose rank
    is the last prized rank or better (ties at the boundary included: read every score
    at least the one at that position). A customer below the minimum score gets nothing.
    """
    _check_sorted([place.score for place in top])
    awards = []
    for place in top:
        if place.score < board.min_score:
            break
        prize = next((p for p in board.prizes if p.from_rank <= place.rank <= p.to_rank), None)
        if prize is not None:
            awards.append(PrizeAward(place.customer_id, place.rank, prize))
    return awards


def last_prized_rank(board: Leaderboard) -> int:
    """The worst rank a prize goes to (0: the board has no prizes)."""
    return max((prize.to_rank for prize in board.prizes), default=0)


def _check_sorted(scores: Sequence[int]) -> None:
    if any(a < b for a, b in itertools.pairwise(scores)):
        msg = "scores must be sorted best first"
        raise ValueError(msg)


# -- validation ------------------------------------------------------------------------


def leaderboard_problems(board: Leaderboard) -> list[FieldProblem]:
    """What is wrong with a leaderboard's admin input."""
    problems = name_problems(board.name)

    def bad(path: tuple[str, ...], message: str, code: ErrorCode = ErrorCode.INVALID_VALUE) -> None:
        problems.append(FieldProblem(path, code, message))

    if board.period is PeriodKind.CUSTOM:
        if board.starts_at is None:
            bad(("starts_at",), "a custom period has dates", ErrorCode.REQUIRED)
        if board.ends_at is None:
            bad(("ends_at",), "a custom period has dates", ErrorCode.REQUIRED)
        if board.starts_at and board.ends_at and board.ends_at <= board.starts_at:
            bad(("ends_at",), "must be after starts_at")
    elif board.starts_at is not None or board.ends_at is not None:
        bad(("starts_at",), "dates apply to a custom period only")
    if not 1 <= board.size <= MAX_SIZE:
        bad(("size",), f"must be 1 to {MAX_SIZE}")
    if not 0 <= board.neighbours <= MAX_NEIGHBOURS:
        bad(("neighbours",), f"must be 0 to {MAX_NEIGHBOURS}")
    if not 1 <= board.min_score <= MAX_SCORE:
        bad(("min_score",), "must be 1 or more")
    if len(board.prizes) > MAX_PRIZES:
        bad(("prizes",), f"at most {MAX_PRIZES}")
    taken: list[tuple[int, int]] = []
    for index, prize in enumerate(board.prizes):
        path = ("prizes", str(index))
        if not 1 <= prize.from_rank <= prize.to_rank <= MAX_PRIZE_RANK:
            bad((*path, "to_rank"), f"ranks are 1 to {MAX_PRIZE_RANK}, from_rank <= to_rank")
        elif any(low <= prize.to_rank and prize.from_rank <= high for low, high in taken):
            bad((*path, "from_rank"), "overlaps another prize's ranks")
        taken.append((prize.from_rank, prize.to_rank))
        problems.extend(reward_problems(prize.rewards, (*path, "rewards")))
    return problems


def display_name_problems(name: str) -> list[FieldProblem]:
    """A customer's display name on boards: 1 to MAX_DISPLAY_NAME characters, no control
    characters."""
    path = ("display_name",)
    if not name.strip():
        return [FieldProblem(path, ErrorCode.REQUIRED, "must not be empty")]
    if len(name) > MAX_DISPLAY_NAME:
        return [
            FieldProblem(path, ErrorCode.INVALID_VALUE, f"at most {MAX_DISPLAY_NAME} characters")
        ]
    if any(unicodedata.category(char).startswith("C") for char in name):
        return [FieldProblem(path, ErrorCode.INVALID_VALUE, "must not contain control characters")]
    return []
