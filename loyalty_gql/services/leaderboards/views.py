"""What a customer sees of a site's live boards: each board's top, and their own place
with neighbours. A fixed number of statements whatever the boards and their sizes: the
live boards, the viewer's scores, the tops, the viewer's ranks, the neighbours, and the
score counts of the neighbours' window (one statement each, every board in it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import CustomerRow, LeaderboardRow, SiteRow
from loyalty_gql.db.repositories import leaderboards as repo
from loyalty_gql.db.repositories.customers import customer_by_id
from loyalty_gql.db.session import Session
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.gamification.leaderboards import (
    CUSTOM_KEY,
    PeriodBounds,
    PeriodKind,
    Place,
    Score,
    Standing,
    competition_ranks,
    display_name_problems,
    period_of,
    places,
    window_ranks,
)
from loyalty_gql.domain.sites import site_zone
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.leaderboards.scores import board_of


@dataclass(frozen=True, slots=True)
class BoardView:
    """One board as the viewer sees it now."""

    row: LeaderboardRow
    period: PeriodBounds
    top: list[Place]
    me: Standing | None


def _secret(site: SiteRow) -> bytes:
    return site.leaderboard_label_key.encode()


def current_period(row: LeaderboardRow, site: SiteRow, now: datetime) -> PeriodBounds:
    """The period a board shows now (a custom board: its own dates, also once over)."""
    board = board_of(row)
    if board.period is PeriodKind.CUSTOM:
        return PeriodBounds(CUSTOM_KEY, board.starts_at, board.ends_at)
    bounds = period_of(board, now, site_zone(site.timezone))
    assert bounds is not None  # noqa: S101 - week, month and all time always have one
    return bounds


@dataclass(frozen=True, slots=True)
class BoardSummary:
    """What the admins' list shows of a board: its period now, the customers scored in
    it, the prizes it gave (every period)."""

    row: LeaderboardRow
    period_key: str
    scored_customers: int
    prizes_given: int


async def board_summaries(
    session: Session, site: SiteRow, rows: list[LeaderboardRow], now: datetime
) -> list[BoardSummary]:
    """The admins' numbers of the boards, two statements whatever their number."""
    keys = [(row.id, current_period(row, site, now).key) for row in rows]
    scored = await repo.scored_customers(session, keys)
    given = await repo.awards_given(session, [row.id for row in rows])
    return [
        BoardSummary(row, key, scored.get(row.id, 0), given.get(row.id, 0))
        for row, (_, key) in zip(rows, keys, strict=True)
    ]


def _scores(lines: list[repo.BoardLine]) -> list[Score]:
    return [Score(line.customer_id, line.score, line.display_name) for line in lines]


async def viewer_boards(
    session: Session,
    site: SiteRow,
    customer: CustomerRow,
    now: datetime,
    *,
    with_top: bool = True,
    with_standing: bool = True,
) -> list[BoardView]:
    """The site's live boards with their tops and the viewer's place, oldest first
    (without the top or the place, and their statements, when not asked for)."""
    customer_id = customer.id
    own_name = customer.display_name if customer.leaderboard_opt_in else None
    rows = await repo.live_boards(session, site.id)
    if not rows:
        return []
    secret = _secret(site)
    periods = [current_period(row, site, now) for row in rows]
    keys = [(row.id, period.key) for row, period in zip(rows, periods, strict=True)]
    tops: list[list[repo.BoardLine]] = [[] for _ in rows]
    if with_top:
        sizes = [(b, p, row.size) for (b, p), row in zip(keys, rows, strict=True)]
        tops = await repo.tops(session, sizes)
    mine = await repo.scores_of(session, customer_id, keys) if with_standing else {}
    placed = [i for i, key in enumerate(keys) if mine.get(key, 0) > 0]
    ranks = await repo.ranks(session, [(*keys[i], mine[keys[i]]) for i in placed])
    arounds = await repo.arounds(
        session, [(*keys[i], customer_id, mine[keys[i]], rows[i].neighbours) for i in placed]
    )
    windows = []
    for i, (above, below) in zip(placed, arounds, strict=True):
        scores = [line.score for line in (*above, *below)] + [mine[keys[i]]]
        windows.append((*keys[i], min(scores), max(scores)))
    counts = await repo.windows_counts(session, windows)
    standings: dict[int, Standing] = {}
    for n, i in enumerate(placed):
        score = mine[keys[i]]
        above, below = arounds[n]
        first = above[0].score if above else score
        # rank of the window's first line: the viewer's, less those holding a score in
        # (the viewer's, the first's]
        first_rank = ranks[n] - sum(c for s, c in counts[n].items() if score < s <= first)
        me = repo.BoardLine(customer_id, score, own_name)
        window = [*above, me, *below]
        shown = places(
            _scores(window), window_ranks([w.score for w in window], first_rank, counts[n]), secret
        )
        here = len(above)
        standings[i] = Standing(shown[here], tuple(shown[:here]), tuple(shown[here + 1 :]))
    views = []
    for i, row in enumerate(rows):
        lines = _scores(tops[i])
        top = places(lines, competition_ranks([line.score for line in lines]), secret)
        views.append(BoardView(row, periods[i], top, standings.get(i)))
    return views


async def set_display_name(
    db: Database, *, customer_id: int, display_name: str | None, opt_in: bool
) -> CustomerRow:  # fmt: skip
    """The customer's name on boards and whether they appear by it (opting out keeps
    the name for later; opting in needs one). Again: the same answer."""
    if display_name is not None:
        problems = display_name_problems(display_name)
        if problems:
            raise DomainError(problems)
    async with UnitOfWork(db) as uow:
        customer = await customer_by_id(uow.session, customer_id)
        if customer is None:  # pragma: no cover - the token's customer
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such customer", "customer_id")
        if display_name is not None:
            customer.display_name = display_name.strip()
        if opt_in and not customer.display_name:
            raise DomainError.single(
                ErrorCode.REQUIRED, "opting in needs a display name", "display_name"
            )
        customer.leaderboard_opt_in = opt_in
        await uow.session.flush()
        await uow.commit()
        return customer
