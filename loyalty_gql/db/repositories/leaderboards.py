"""Leaderboards: boards, score changes (two upserts in key order), and the reads of a
board: the top, a customer's rank from the score counts, the neighbours around them.

docs/ARCHITECTURE.md "Gamification (design)": a rank is 1 + the customers in the
level-2 buckets above the score's, the level-1 buckets above it inside its level-2
bucket and the level-0 buckets (exact scores) above it inside its level-1 bucket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    and_,
    delete,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from loyalty_gql.db.dialect import insert_for
from loyalty_gql.db.models import (
    CustomerRow,
    LeaderboardAwardRow,
    LeaderboardRow,
    LeaderboardScoreCountRow,
    LeaderboardScoreRow,
    SiteRow,
)
from loyalty_gql.db.paging import Window, windowed
from loyalty_gql.db.versions import scoped, touch

LEVEL_SHIFTS = (0, 8, 16)
"""The bucket of a score at level i is ``score >> LEVEL_SHIFTS[i]``."""

ScoreKey = tuple[int, str, int]  # (leaderboard_id, period_key, customer_id)
CountKey = tuple[int, str, int, int]  # (leaderboard_id, period_key, level, bucket)


@dataclass(frozen=True, slots=True)
class BoardLine:
    """A score row with the customer's shown name (None unless opted in)."""

    customer_id: int
    score: int
    display_name: str | None


# -- boards ----------------------------------------------------------------------------


async def live_boards(session: AsyncSession, site_id: int) -> list[LeaderboardRow]:
    """A site's live boards, oldest first."""
    rows = await session.scalars(
        select(LeaderboardRow)
        .where(LeaderboardRow.site_id == site_id, LeaderboardRow.status == "LIVE")
        .order_by(LeaderboardRow.id)
    )
    return list(rows)


async def board_by_id(
    session: AsyncSession, board_id: int, *, lock: bool = False
) -> LeaderboardRow | None:
    """One board (locked FOR UPDATE when ``lock``, on PostgreSQL)."""
    statement = select(LeaderboardRow).where(LeaderboardRow.id == board_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def board_by_code(session: AsyncSession, site_id: int, code: str) -> LeaderboardRow | None:
    """A site's board by code."""
    statement = select(LeaderboardRow).where(
        LeaderboardRow.site_id == site_id, LeaderboardRow.code == code
    )
    return (await session.scalars(statement)).one_or_none()


async def board_page(session: AsyncSession, site_id: int, window: Window) -> list[LeaderboardRow]:
    """A site's boards in id order, one keyset page."""
    statement = select(LeaderboardRow).where(LeaderboardRow.site_id == site_id)
    query = windowed(statement, LeaderboardRow.id, window, descending=False)
    return list(await session.scalars(query))


async def bump_site(session: AsyncSession, site_id: int, live_change: int) -> None:
    """The site's boards changed: a new version, and ``live_change`` more live boards."""
    touch(session, sites=[site_id])
    await session.execute(
        scoped(update(SiteRow))
        .where(SiteRow.id == site_id)
        .values(
            leaderboards_version=SiteRow.leaderboards_version + 1,
            live_leaderboards=SiteRow.live_leaderboards + live_change,
        )
        .execution_options(synchronize_session=False)
    )


async def delete_board(session: AsyncSession, site_id: int, board_id: int) -> None:
    """Delete a board with its scores and counts (the caller checked it gave nothing)."""
    for table in (LeaderboardScoreRow, LeaderboardScoreCountRow):
        await session.execute(delete(table).where(table.leaderboard_id == board_id))
    touch(session, sites=[site_id])
    await session.execute(scoped(delete(LeaderboardRow).where(LeaderboardRow.id == board_id)))


async def has_awards(session: AsyncSession, board_id: int) -> bool:
    """Whether a board gave any prize."""
    found = await session.scalar(
        select(LeaderboardAwardRow.id)
        .where(LeaderboardAwardRow.leaderboard_id == board_id)
        .limit(1)
    )
    return found is not None


# -- score changes ---------------------------------------------------------------------


async def add_to_scores(session: AsyncSession, deltas: dict[ScoreKey, int]) -> dict[ScoreKey, int]:
    """Add each delta to its score row (created at the delta), in key order, in one
    statement; the new scores. The row locks serialise two changes of one score."""
    table = LeaderboardScoreRow.__table__
    insert = insert_for(session)(table)
    keys = sorted(deltas)
    statement = (
        insert.values(
            [
                {"leaderboard_id": b, "period_key": p, "customer_id": c, "score": deltas[b, p, c]}
                for b, p, c in keys
            ]
        )
        .on_conflict_do_update(
            index_elements=["leaderboard_id", "period_key", "customer_id"],
            set_={"score": table.c.score + insert.excluded.score},
        )
        .returning(table.c.leaderboard_id, table.c.period_key, table.c.customer_id, table.c.score)
    )
    rows = await session.execute(statement)
    return {(b, p, c): score for b, p, c, score in rows.all()}


async def drop_scores(session: AsyncSession, keys: Sequence[ScoreKey]) -> None:
    """Delete score rows that fell to 0 or below (a board holds positive scores)."""
    await session.execute(
        delete(LeaderboardScoreRow).where(
            tuple_(
                LeaderboardScoreRow.leaderboard_id,
                LeaderboardScoreRow.period_key,
                LeaderboardScoreRow.customer_id,
            ).in_(list(keys))
        )
    )


async def add_to_counts(session: AsyncSession, deltas: dict[CountKey, int]) -> None:
    """Add to the bucket counts, one multi-row upsert, rows sorted by key (two
    transactions lock shared buckets in the same order: no deadlock)."""
    table = LeaderboardScoreCountRow.__table__
    insert = insert_for(session)(table)
    rows = [
        {"leaderboard_id": b, "period_key": p, "level": lv, "bucket": k, "customers": n}
        for (b, p, lv, k), n in sorted(deltas.items())
        if n
    ]
    if not rows:
        return
    await session.execute(
        insert.values(rows).on_conflict_do_update(
            index_elements=["leaderboard_id", "period_key", "level", "bucket"],
            set_={"customers": table.c.customers + insert.excluded.customers},
        )
    )


def count_deltas(
    board_id: int, period_key: str, old: int, new: int, into: dict[CountKey, int]
) -> None:
    """The bucket changes of one score going from ``old`` to ``new`` (0: no score)."""
    for level, shift in enumerate(LEVEL_SHIFTS):
        if old > 0:
            key = (board_id, period_key, level, old >> shift)
            into[key] = into.get(key, 0) - 1
        if new > 0:
            key = (board_id, period_key, level, new >> shift)
            into[key] = into.get(key, 0) + 1


# -- reads -----------------------------------------------------------------------------


def _lines(rows: Any) -> list[BoardLine]:
    return [
        BoardLine(customer_id, score, name if opted else None)
        for customer_id, score, name, opted in rows
    ]


def _line_select() -> Any:
    return select(
        LeaderboardScoreRow.customer_id,
        LeaderboardScoreRow.score,
        CustomerRow.display_name,
        CustomerRow.leaderboard_opt_in,
    ).join(CustomerRow, CustomerRow.id == LeaderboardScoreRow.customer_id)


async def top(session: AsyncSession, board_id: int, period_key: str, limit: int) -> list[BoardLine]:
    """The board's first ``limit`` lines, best first (score, then newest customer)."""
    rows = await session.execute(
        _line_select()
        .where(
            LeaderboardScoreRow.leaderboard_id == board_id,
            LeaderboardScoreRow.period_key == period_key,
        )
        .order_by(LeaderboardScoreRow.score.desc(), LeaderboardScoreRow.customer_id.desc())
        .limit(limit)
    )
    return _lines(rows.all())


async def at_least(
    session: AsyncSession, board_id: int, period_key: str, score: int
) -> list[BoardLine]:
    """Every line with at least ``score``, best first (the prize job's ties)."""
    rows = await session.execute(
        _line_select()
        .where(
            LeaderboardScoreRow.leaderboard_id == board_id,
            LeaderboardScoreRow.period_key == period_key,
            LeaderboardScoreRow.score >= score,
        )
        .order_by(LeaderboardScoreRow.score.desc(), LeaderboardScoreRow.customer_id.desc())
    )
    return _lines(rows.all())


async def score_at(
    session: AsyncSession, board_id: int, period_key: str, position: int
) -> int | None:
    """The score at a 1-based position of the board (None: fewer lines)."""
    return await session.scalar(
        select(LeaderboardScoreRow.score)
        .where(
            LeaderboardScoreRow.leaderboard_id == board_id,
            LeaderboardScoreRow.period_key == period_key,
        )
        .order_by(LeaderboardScoreRow.score.desc(), LeaderboardScoreRow.customer_id.desc())
        .offset(position - 1)
        .limit(1)
    )


async def scores_of(
    session: AsyncSession, customer_id: int, keys: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], int]:
    """A customer's scores on several (board, period)s, one statement."""
    if not keys:
        return {}
    rows = await session.execute(
        select(
            LeaderboardScoreRow.leaderboard_id,
            LeaderboardScoreRow.period_key,
            LeaderboardScoreRow.score,
        ).where(
            LeaderboardScoreRow.customer_id == customer_id,
            tuple_(LeaderboardScoreRow.leaderboard_id, LeaderboardScoreRow.period_key).in_(
                list(keys)
            ),
        )
    )
    return {(b, p): s for b, p, s in rows.all()}


async def rank_of(session: AsyncSession, board_id: int, period_key: str, score: int) -> int:
    """1 + the customers with a higher score, from at most ~510 count rows."""
    c = LeaderboardScoreCountRow
    parts = []
    for level, shift in enumerate(LEVEL_SHIFTS):
        bucket = score >> shift
        condition = and_(c.leaderboard_id == board_id, c.period_key == period_key)
        condition = and_(condition, c.level == level, c.bucket > bucket)
        if level + 1 < len(LEVEL_SHIFTS):
            # inside the score's bucket of the next level up
            width = LEVEL_SHIFTS[level + 1] - shift
            condition = and_(condition, c.bucket <= ((bucket >> width) << width) + (1 << width) - 1)
        parts.append(
            select(func.coalesce(func.sum(c.customers), 0)).where(condition).scalar_subquery()
        )
    total = await session.scalar(select(literal(1) + parts[0] + parts[1] + parts[2]))
    return int(total or 1)


async def around(
    session: AsyncSession,
    board_id: int,
    period_key: str,
    *,
    customer_id: int,
    score: int,
    count: int,
) -> tuple[list[BoardLine], list[BoardLine]]:
    """Up to ``count`` lines above (best first) and below the customer's."""
    s = LeaderboardScoreRow
    mine = tuple_(s.score, s.customer_id)
    here = and_(s.leaderboard_id == board_id, s.period_key == period_key)
    above = await session.execute(
        _line_select()
        .where(here, mine > tuple_(literal(score), literal(customer_id)))
        .order_by(s.score, s.customer_id)
        .limit(count)
    )
    below = await session.execute(
        _line_select()
        .where(here, mine < tuple_(literal(score), literal(customer_id)))
        .order_by(s.score.desc(), s.customer_id.desc())
        .limit(count)
    )
    return list(reversed(_lines(above.all()))), _lines(below.all())


async def exact_counts(
    session: AsyncSession, board_id: int, period_key: str, low: int, high: int
) -> dict[int, int]:
    """How many customers hold each score in [low, high] (the level-0 buckets)."""
    c = LeaderboardScoreCountRow
    rows = await session.execute(
        select(c.bucket, c.customers).where(
            c.leaderboard_id == board_id,
            c.period_key == period_key,
            c.level == 0,
            c.bucket >= low,
            c.bucket <= high,
        )
    )
    return dict(rows.all())


# -- prizes ----------------------------------------------------------------------------


async def add_award_once(session: AsyncSession, values: dict[str, Any]) -> int | None:
    """Record an award; None when (board, period, customer) already has one."""
    table = LeaderboardAwardRow.__table__
    statement = (
        insert_for(session)(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["leaderboard_id", "period_key", "customer_id"])
        .returning(table.c.id)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def boards_with_prizes(session: AsyncSession, now: datetime) -> list[int]:
    """Boards that may have a period to award: prized, not all time."""
    rows = await session.scalars(
        select(LeaderboardRow.id)
        .where(
            LeaderboardRow.period != "ALL_TIME",
            or_(LeaderboardRow.status == "LIVE", LeaderboardRow.published_at.is_not(None)),
            LeaderboardRow.created_at < now,
        )
        .order_by(LeaderboardRow.id)
    )
    return list(rows)


# -- verify ----------------------------------------------------------------------------


async def count_mismatches(session: AsyncSession, limit: int = 20) -> list[CountKey]:
    """Buckets whose count differs from a recount of the score rows (none expected)."""
    s = LeaderboardScoreRow
    c = LeaderboardScoreCountRow
    found: list[CountKey] = []
    for level, shift in enumerate(LEVEL_SHIFTS):
        bucket = s.score.op(">>")(literal_column(str(shift))) if shift else s.score
        recount = (
            select(
                s.leaderboard_id.label("b"),
                s.period_key.label("p"),
                bucket.label("k"),
                func.count().label("n"),
            )
            .where(s.score > 0)
            .group_by(s.leaderboard_id, s.period_key, bucket)
            .subquery()
        )
        stored = select(c).where(c.level == level, c.customers != 0).subquery()
        joined_left = (
            select(recount.c.b, recount.c.p, recount.c.k)
            .outerjoin(
                stored,
                and_(
                    stored.c.leaderboard_id == recount.c.b,
                    stored.c.period_key == recount.c.p,
                    stored.c.bucket == recount.c.k,
                ),
            )
            .where(or_(stored.c.customers.is_(None), stored.c.customers != recount.c.n))
            .limit(limit)
        )
        joined_right = (
            select(stored.c.leaderboard_id, stored.c.period_key, stored.c.bucket)
            .outerjoin(
                recount,
                and_(
                    stored.c.leaderboard_id == recount.c.b,
                    stored.c.period_key == recount.c.p,
                    stored.c.bucket == recount.c.k,
                ),
            )
            .where(recount.c.n.is_(None))
            .limit(limit)
        )
        for statement in (joined_left, joined_right):
            for b, p, k in (await session.execute(statement)).all():
                found.append((b, p, level, int(k)))
    return found[:limit]


# -- reads of several boards at once (a fixed number of statements per response) -------


def _union(parts: list[Any]) -> Any:
    """One statement of the parts (each a subquery read whole, so each keeps its own
    ORDER BY and LIMIT on SQLite too)."""
    wrapped = [select(*part.c).select_from(part) for part in parts]
    return wrapped[0] if len(wrapped) == 1 else union_all(*wrapped)


async def tops(
    session: AsyncSession, asks: Sequence[tuple[int, str, int]]
) -> list[list[BoardLine]]:
    """The first ``limit`` lines of each (board, period, limit), best first, one
    statement."""
    if not asks:
        return []
    s = LeaderboardScoreRow
    parts = [
        _line_select()
        .add_columns(literal(i).label("ask"))
        .where(s.leaderboard_id == board_id, s.period_key == period_key)
        .order_by(s.score.desc(), s.customer_id.desc())
        .limit(limit)
        .subquery()
        for i, (board_id, period_key, limit) in enumerate(asks)
    ]
    found: list[list[BoardLine]] = [[] for _ in asks]
    rows = (await session.execute(_union(parts))).all()
    for customer_id, score, name, opted, ask in rows:
        found[ask].append(BoardLine(customer_id, score, name if opted else None))
    for lines in found:  # a UNION ALL keeps no order across its parts' rows
        lines.sort(key=lambda line: (line.score, line.customer_id), reverse=True)
    return found


def _rank_parts(board_id: int, period_key: str, score: int) -> Any:
    c = LeaderboardScoreCountRow
    parts = []
    for level, shift in enumerate(LEVEL_SHIFTS):
        bucket = score >> shift
        condition = and_(
            c.leaderboard_id == board_id,
            c.period_key == period_key,
            c.level == level,
            c.bucket > bucket,
        )
        if level + 1 < len(LEVEL_SHIFTS):
            # inside the score's bucket of the next level up
            width = LEVEL_SHIFTS[level + 1] - shift
            condition = and_(condition, c.bucket <= ((bucket >> width) << width) + (1 << width) - 1)
        parts.append(
            select(func.coalesce(func.sum(c.customers), 0)).where(condition).scalar_subquery()
        )
    return literal(1) + parts[0] + parts[1] + parts[2]


async def ranks(session: AsyncSession, asks: Sequence[tuple[int, str, int]]) -> list[int]:
    """The rank of each (board, period, score), one statement."""
    if not asks:
        return []
    parts = [
        select(literal(i).label("ask"), _rank_parts(b, p, score).label("rank")).subquery()
        for i, (b, p, score) in enumerate(asks)
    ]
    found = [1] * len(asks)
    for ask, rank in (await session.execute(_union(parts))).all():
        found[ask] = int(rank or 1)
    return found


async def arounds(
    session: AsyncSession, asks: Sequence[tuple[int, str, int, int, int]]
) -> list[tuple[list[BoardLine], list[BoardLine]]]:
    """For each (board, period, customer, score, count): up to ``count`` lines above
    (best first) and below the customer's, one statement."""
    s = LeaderboardScoreRow
    parts = []
    for i, (board_id, period_key, customer_id, score, count) in enumerate(asks):
        if count <= 0:
            continue
        mine = tuple_(s.score, s.customer_id)
        me = tuple_(literal(score), literal(customer_id))
        here = and_(s.leaderboard_id == board_id, s.period_key == period_key)
        parts.append(
            _line_select()
            .add_columns(literal(i).label("ask"), literal(1).label("side"))
            .where(here, mine > me)
            .order_by(s.score, s.customer_id)
            .limit(count)
            .subquery()
        )
        parts.append(
            _line_select()
            .add_columns(literal(i).label("ask"), literal(-1).label("side"))
            .where(here, mine < me)
            .order_by(s.score.desc(), s.customer_id.desc())
            .limit(count)
            .subquery()
        )
    found: list[tuple[list[BoardLine], list[BoardLine]]] = [([], []) for _ in asks]
    if not parts:
        return found
    for customer_id, score, name, opted, ask, side in (await session.execute(_union(parts))).all():
        line = BoardLine(customer_id, score, name if opted else None)
        found[ask][0 if side == 1 else 1].append(line)
    for above, below in found:
        for lines in (above, below):
            lines.sort(key=lambda line: (line.score, line.customer_id), reverse=True)
    return found


async def windows_counts(
    session: AsyncSession, asks: Sequence[tuple[int, str, int, int]]
) -> list[dict[int, int]]:
    """For each (board, period, low, high): how many customers hold each score in
    [low, high] (the level-0 buckets), one statement."""
    if not asks:
        return []
    c = LeaderboardScoreCountRow
    parts = [
        select(literal(i).label("ask"), c.bucket, c.customers)
        .where(
            c.leaderboard_id == board_id,
            c.period_key == period_key,
            c.level == 0,
            c.bucket >= low,
            c.bucket <= high,
        )
        .subquery()
        for i, (board_id, period_key, low, high) in enumerate(asks)
    ]
    found: list[dict[int, int]] = [{} for _ in asks]
    for ask, bucket, customers in (await session.execute(_union(parts))).all():
        found[ask][int(bucket)] = int(customers)
    return found


async def set_award_entry(session: AsyncSession, award_id: int, entry_id: int | None) -> None:
    """The ledger entry of an award's points."""
    if entry_id is None:
        return
    await session.execute(
        update(LeaderboardAwardRow)
        .where(LeaderboardAwardRow.id == award_id)
        .values(ledger_entry_id=entry_id)
    )


async def scored_customers(
    session: AsyncSession, keys: Sequence[tuple[int, str]]
) -> dict[int, int]:
    """How many customers hold a score on each (board, period), from the level-2 counts
    (at most a few rows a board), one statement."""
    if not keys:
        return {}
    c = LeaderboardScoreCountRow
    rows = await session.execute(
        select(c.leaderboard_id, func.sum(c.customers))
        .where(c.level == len(LEVEL_SHIFTS) - 1, tuple_(c.leaderboard_id, c.period_key).in_(keys))
        .group_by(c.leaderboard_id)
    )
    return {board: int(n or 0) for board, n in rows.all()}


async def awards_given(session: AsyncSession, board_ids: Sequence[int]) -> dict[int, int]:
    """How many prizes each board gave, all periods, one statement."""
    if not board_ids:
        return {}
    a = LeaderboardAwardRow
    rows = await session.execute(
        select(a.leaderboard_id, func.count())
        .where(a.leaderboard_id.in_(list(board_ids)))
        .group_by(a.leaderboard_id)
    )
    return {board: int(n) for board, n in rows.all()}
