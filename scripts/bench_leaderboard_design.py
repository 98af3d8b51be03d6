"""Leaderboard storage, a design prototype (issue #18): how fast the top 100 and one
viewer's rank are with 1,000,000 scores on PostgreSQL and 100,000 on SQLite.

Not wired into the app: it builds its own tables in a scratch database (PostgreSQL: a
fresh ``gam_scratch_<random>`` database, dropped at the end; SQLite: a temporary file)
and times the candidate queries in process, one connection, no HTTP:

- ``count``: the viewer's rank as ``1 + COUNT(*)`` of higher scores over the covering
  btree (an index-only scan on PostgreSQL after VACUUM): linear in the higher scores;
- ``fine``: an exact score histogram (one row per distinct score with its number of
  customers): ``1 + SUM`` over the distinct scores above: linear in those;
- ``levels a,b,..``: the fine histogram plus coarser ones (scores >> b, ...): ``1 + SUM``
  of the top level's buckets above the viewer's and, at each lower level, of the buckets
  above the viewer's inside the viewer's parent bucket, so at most 2^(b - a) rows a
  level plus the top level's non-empty buckets above, whatever the number of customers;
- ``window``: the viewer's rank and 5 neighbours each side with their ranks (the score,
  the rank, two keyset reads on the score index, the fine rows of the window's range);
- ``top 100``: the first 100 by the score index (ranks come from the page itself).

It also times one score change (the score upsert and one upsert of the changed histogram
rows, in one transaction) and, on PostgreSQL, runs concurrent score changes on a few
hot customers and checks that the histogram still equals ``GROUP BY`` of the scores.

Usage: .venv/bin/python scripts/bench_leaderboard_design.py
       [--postgres postgresql://postgres@127.0.0.1:5432/postgres] [--no-postgres]
       [--pg-rows N] [--sqlite-rows N] [--samples N] [--scale K] [--levels 0,10]
``--scale 20`` spreads the scores like amounts in minor units instead of points.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import secrets
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import asyncpg

BOARD, PERIOD = 1, 202612  # one leaderboard, one period key
NEIGHBOURS = 5
NAMES = ("board", "period", "customer", "score", "low", "high", "delta")

SCHEMA = [
    """CREATE TABLE leaderboard_scores (
        leaderboard_id INTEGER NOT NULL, period_key INTEGER NOT NULL,
        customer_id BIGINT NOT NULL, score BIGINT NOT NULL,
        PRIMARY KEY (leaderboard_id, period_key, customer_id))""",
    """CREATE TABLE leaderboard_score_counts (
        leaderboard_id INTEGER NOT NULL, period_key INTEGER NOT NULL,
        level SMALLINT NOT NULL, bucket BIGINT NOT NULL, customers INTEGER NOT NULL,
        PRIMARY KEY (leaderboard_id, period_key, level, bucket))""",
    """CREATE INDEX ix_leaderboard_scores_rank
        ON leaderboard_scores (leaderboard_id, period_key, score, customer_id)""",
]
B = "leaderboard_id = :board AND period_key = :period"
# named parameters (SQLite's spelling); PostgreSQL gets them as $1, $2, ... (pg()).
# The viewer's score is a scalar subquery, evaluated once: as a join, SQLite 3.40 built a
# Bloom filter over every fine row of the period (2 ms at 100,000 customers).
ME = f"(SELECT score FROM leaderboard_scores WHERE {B} AND customer_id = :customer)"
Q_SCORE = ME[1:-1]
Q_COUNT = f"SELECT 1 + count(*) FROM leaderboard_scores WHERE {B} AND score > {ME}"
Q_FINE = f"""SELECT 1 + coalesce(sum(customers), 0) FROM leaderboard_score_counts
    WHERE {B} AND level = 0 AND bucket > {ME}"""
Q_TOP = f"""SELECT customer_id, score FROM leaderboard_scores WHERE {B}
    ORDER BY score DESC, customer_id DESC LIMIT 100"""
# the display order is (score DESC, customer_id DESC): both keyset reads use the index
Q_ABOVE = f"""SELECT customer_id, score FROM leaderboard_scores
    WHERE {B} AND (score, customer_id) > (:score, :customer)
    ORDER BY score, customer_id LIMIT {NEIGHBOURS}"""
Q_BELOW = f"""SELECT customer_id, score FROM leaderboard_scores
    WHERE {B} AND (score, customer_id) < (:score, :customer)
    ORDER BY score DESC, customer_id DESC LIMIT {NEIGHBOURS}"""
Q_WINDOW_COUNTS = f"""SELECT bucket, customers FROM leaderboard_score_counts
    WHERE {B} AND level = 0 AND bucket >= :low AND bucket <= :high ORDER BY bucket DESC"""
# a score change: one upsert of the score (the new score back; the old is new - delta, 0
# meaning no row before), then one upsert of the changed histogram rows in key order
Q_ADD = """INSERT INTO leaderboard_scores VALUES (:board, :period, :customer, :delta)
    ON CONFLICT (leaderboard_id, period_key, customer_id)
    DO UPDATE SET score = leaderboard_scores.score + excluded.score RETURNING score"""
COUNTS_UPSERT = """INSERT INTO leaderboard_score_counts VALUES {rows}
    ON CONFLICT (leaderboard_id, period_key, level, bucket)
    DO UPDATE SET customers = leaderboard_score_counts.customers + excluded.customers"""


class Levels:
    """The histogram's levels: bucket = score >> shift, the first shift 0 (exact)."""

    def __init__(self, shifts: Sequence[int]) -> None:
        assert shifts[0] == 0, "the first level is the exact score"
        self.shifts = tuple(shifts)
        self.label = "levels " + ",".join(map(str, shifts))

    def build(self) -> str:
        """The statement that fills the histogram from the scores."""
        parts = [
            f"SELECT leaderboard_id, period_key, {level}, score >> {shift}, count(*)"
            f" FROM leaderboard_scores GROUP BY leaderboard_id, period_key, score >> {shift}"
            for level, shift in enumerate(self.shifts)
        ]
        return "INSERT INTO leaderboard_score_counts " + " UNION ALL ".join(parts)

    def truth(self) -> str:
        """The histogram as it should be, from the scores (for the check)."""
        parts = [
            f"SELECT {level}, score >> {shift}, count(*)::int FROM leaderboard_scores"
            f" GROUP BY score >> {shift}"
            for level, shift in enumerate(self.shifts)
        ]
        return "(" + " UNION ALL ".join(parts) + ")"

    def rank_query(self) -> str:
        """1 + the customers above the viewer, top level first, then inside the parent."""
        top = len(self.shifts) - 1
        sums = [
            f"""coalesce((SELECT sum(customers) FROM leaderboard_score_counts
                WHERE {B} AND level = {top} AND bucket > ({ME} >> {self.shifts[top]})), 0)"""
        ]
        for level in range(top):
            shift, parent = self.shifts[level], self.shifts[level + 1]
            sums.append(
                f"""coalesce((SELECT sum(customers) FROM leaderboard_score_counts
                WHERE {B} AND level = {level} AND bucket > ({ME} >> {shift})
                  AND bucket < ((({ME} >> {parent}) + 1) << {parent - shift})), 0)"""
            )
        return "SELECT 1 + " + " + ".join(sums)

    def changes(self, old: int | None, new: int) -> list[tuple[int, int, int]]:
        """(level, bucket, delta) of a score change, in key order (the lock order)."""
        deltas: dict[tuple[int, int], int] = {}
        for level, shift in enumerate(self.shifts):
            if old is not None:
                deltas[(level, old >> shift)] = deltas.get((level, old >> shift), 0) - 1
            deltas[(level, new >> shift)] = deltas.get((level, new >> shift), 0) + 1
        return [(level, bucket, d) for (level, bucket), d in sorted(deltas.items()) if d]


def pg(sql: str, values: dict[str, object]) -> tuple[str, list[object]]:
    """The statement with its named parameters as PostgreSQL's $1, $2, ..., and their values."""
    used = [name for name in NAMES if f":{name}" in sql]
    for number, name in enumerate(used, 1):
        sql = sql.replace(f":{name}", f"${number}")
    return sql, [values[name] for name in used]


def scores(rows: int, scale: int, seed: int = 18) -> list[int]:
    """Skewed like points earned in a month: most customers low, a long tail, many ties."""
    rng = random.Random(seed)
    return [max(1, int(scale * math.exp(rng.gauss(7.0, 1.6)))) for _ in range(rows)]


def summary(times: Iterable[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"median {statistics.median(ms):.3f} ms, p95 {p95:.3f} ms"


Fetch = Callable[[str, dict[str, object]], Awaitable[list[Any]]]


async def measure(fetch: Fetch, viewers: list[int], levels: Levels) -> dict[str, str]:
    """Median and p95 of each candidate read, over the same viewers on both backends."""
    out: dict[str, str] = {}
    ranks: dict[str, list[int]] = {}
    for label, sql in (("count", Q_COUNT), ("fine", Q_FINE), (levels.label, levels.rank_query())):
        times, ranks[label] = [], []
        for viewer in viewers:
            t = time.perf_counter()
            rows = await fetch(sql, {"board": BOARD, "period": PERIOD, "customer": viewer})
            times.append(time.perf_counter() - t)
            ranks[label].append(rows[0][0])
        out[f"rank, {label}"] = summary(times)
    assert ranks["count"] == ranks["fine"] == ranks[levels.label], "the approaches disagree"
    times = []
    for _ in viewers:
        t = time.perf_counter()
        await fetch(Q_TOP, {"board": BOARD, "period": PERIOD})
        times.append(time.perf_counter() - t)
    out["top 100"] = summary(times)
    times = []
    for viewer in viewers:
        t = time.perf_counter()
        await window(fetch, viewer, levels)
        times.append(time.perf_counter() - t)
    out[f"rank + {NEIGHBOURS} neighbours each side (5 statements)"] = summary(times)
    for viewer in viewers[:20]:  # every neighbour's rank is 1 + the count of higher scores
        for rank, customer, _ in await window(fetch, viewer, levels):
            values: dict[str, object] = {"board": BOARD, "period": PERIOD, "customer": customer}
            assert rank == (await fetch(Q_COUNT, values))[0][0], "a neighbour's rank is wrong"
    return out


async def window(fetch: Fetch, viewer: int, levels: Levels) -> list[tuple[int, int, int]]:
    """(rank, customer, score) of the viewer and its neighbours, best first."""
    values: dict[str, object] = {"board": BOARD, "period": PERIOD, "customer": viewer}
    ((score,),) = await fetch(Q_SCORE, values)
    ((rank,),) = await fetch(levels.rank_query(), values)
    values["score"] = score
    above = list(reversed(await fetch(Q_ABOVE, values)))
    below = await fetch(Q_BELOW, values)
    rows = [*above, (viewer, score), *below]
    values["low"], values["high"] = rows[-1][1], rows[0][1]
    counts = dict(await fetch(Q_WINDOW_COUNTS, values))
    out = []
    for customer, s in rows:  # rank(s) = rank(viewer) -/+ the customers between
        if s > score:
            r = rank - sum(n for b, n in counts.items() if score < b <= s)
        else:
            r = rank + sum(n for b, n in counts.items() if s < b <= score)
        out.append((r, customer, s))
    return out


def counts_upsert(changes: list[tuple[int, int, int]]) -> tuple[str, list[object]]:
    """One multi-row upsert of the changed histogram rows ($n placeholders)."""
    rows: list[str] = []
    args: list[object] = []
    for level, bucket, delta in changes:
        n = len(args)
        rows.append(f"(${n + 1}, ${n + 2}, ${n + 3}, ${n + 4}, ${n + 5})")
        args += [BOARD, PERIOD, level, bucket, delta]
    return COUNTS_UPSERT.format(rows=", ".join(rows)), args


# -- PostgreSQL -------------------------------------------------------------------------


async def postgres(url: str, rows: int, samples: int, scale: int, levels: Levels) -> dict[str, str]:
    name = f"gam_scratch_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(url)
    await admin.execute(f"CREATE DATABASE {name}")
    try:
        base, _, _ = url.rpartition("/")
        return await _postgres_in(f"{base}/{name}", rows, samples, scale, levels)
    finally:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()


async def _postgres_in(
    url: str, rows: int, samples: int, scale: int, levels: Levels
) -> dict[str, str]:
    conn = await asyncpg.connect(url)
    for statement in SCHEMA:
        await conn.execute(statement)
    started = time.perf_counter()
    await conn.copy_records_to_table(
        "leaderboard_scores",
        records=[(BOARD, PERIOD, i + 1, v) for i, v in enumerate(scores(rows, scale))],
    )
    await conn.execute(levels.build())
    await conn.execute("VACUUM ANALYZE leaderboard_scores")
    await conn.execute("VACUUM ANALYZE leaderboard_score_counts")
    out = await _describe(conn.fetchval, rows, time.perf_counter() - started)
    viewers = random.Random(5).sample(range(1, rows + 1), samples)

    async def fetch(sql: str, values: dict[str, object]) -> list[Any]:
        statement, args = pg(sql, values)
        return list(await conn.fetch(statement, *args))

    out.update(await measure(fetch, viewers, levels))
    times = []
    rng = random.Random(9)
    for _ in range(500):
        t = time.perf_counter()
        await _change(conn, levels, rng.randint(1, rows), rng.randint(1, 500))
        times.append(time.perf_counter() - t)
    out["score change (1 tx, 2 statements)"] = summary(times)
    out["concurrent changes"] = await _concurrent(url, rows, levels)
    await conn.close()
    return out


async def _describe(
    fetchval: Callable[[str], Awaitable[Any]], rows: int, load: float
) -> dict[str, str]:
    distinct = await fetchval("SELECT count(*) FROM leaderboard_score_counts WHERE level = 0")
    top = await fetchval("SELECT max(level) FROM leaderboard_score_counts")
    coarse = await fetchval(f"SELECT count(*) FROM leaderboard_score_counts WHERE level = {top}")
    high = await fetchval("SELECT max(score) FROM leaderboard_scores")
    return {
        "rows": f"{rows:,}",
        "distinct scores": f"{distinct:,} (top level: {coarse:,} buckets), highest {high:,}",
        "load": f"{load:.1f} s",
    }


async def _change(conn: asyncpg.Connection, levels: Levels, customer: int, delta: int) -> None:
    values: dict[str, object] = {
        "board": BOARD,
        "period": PERIOD,
        "customer": customer,
        "delta": delta,
    }
    async with conn.transaction():
        statement, args = pg(Q_ADD, values)
        new = await conn.fetchval(statement, *args)
        old = new - delta
        statement, args = counts_upsert(levels.changes(old or None, new))
        await conn.execute(statement, *args)


async def _concurrent(
    url: str, rows: int, levels: Levels, workers: int = 8, each: int = 200
) -> str:
    """Writers race on a few hot customers (so on the same histogram rows); afterwards
    the histogram must equal the scores' own GROUP BY."""
    pool = await asyncpg.create_pool(url, min_size=workers, max_size=workers)
    hot = list(range(1, 41))

    async def writer(seed: int) -> None:
        rng = random.Random(seed)
        async with pool.acquire() as conn:
            for _ in range(each):
                customer = rng.choice([*hot, rng.randint(1, rows)])
                await _change(conn, levels, customer, rng.randint(1, 50))

    started = time.perf_counter()
    await asyncio.gather(*(writer(seed) for seed in range(workers)))
    elapsed = time.perf_counter() - started
    async with pool.acquire() as conn:
        histogram = (
            "SELECT level, bucket, customers FROM leaderboard_score_counts WHERE customers <> 0"
        )
        truth = levels.truth()
        wrong = await conn.fetchval(
            f"SELECT (SELECT count(*) FROM ({histogram} EXCEPT {truth}) a)"
            f" + (SELECT count(*) FROM ({truth} EXCEPT {histogram}) b)"
        )
    await pool.close()
    total = workers * each
    verdict = "histogram exact" if wrong == 0 else f"{wrong} histogram rows WRONG"
    return f"{total} changes by {workers} connections in {elapsed:.2f} s, {verdict}, no deadlock"


# -- SQLite -----------------------------------------------------------------------------


def sqlite(rows: int, samples: int, scale: int, levels: Levels) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as folder:
        conn = sqlite3.connect(Path(folder) / "board.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        for statement in SCHEMA:
            conn.execute(statement)
        started = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO leaderboard_scores VALUES (?, ?, ?, ?)",
            [(BOARD, PERIOD, i + 1, v) for i, v in enumerate(scores(rows, scale))],
        )
        conn.execute(levels.build())
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        load = time.perf_counter() - started

        async def fetchval(sql: str) -> Any:
            return conn.execute(sql).fetchone()[0]

        out = asyncio.run(_describe(fetchval, rows, load))
        viewers = random.Random(5).sample(range(1, rows + 1), samples)

        async def fetch(sql: str, values: dict[str, object]) -> list[Any]:
            return conn.execute(sql, values).fetchall()

        out.update(asyncio.run(measure(fetch, viewers, levels)))
        times = []
        rng = random.Random(9)
        for _ in range(500):
            customer, delta = rng.randint(1, rows), rng.randint(1, 500)
            t = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            values = {"board": BOARD, "period": PERIOD, "customer": customer, "delta": delta}
            (new,) = conn.execute(Q_ADD, values).fetchone()
            statement, args = counts_upsert(levels.changes((new - delta) or None, new))
            conn.execute(statement.replace("$", "?"), args)
            conn.execute("COMMIT")
            times.append(time.perf_counter() - t)
        out["score change (1 tx, 2 statements, WAL commit)"] = summary(times)
        conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--pg-rows", type=int, default=1_000_000)
    parser.add_argument("--sqlite-rows", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--levels", default="0,10")
    args = parser.parse_args()
    levels = Levels([int(shift) for shift in args.levels.split(",")])
    print(f"scores x{args.scale}, histogram {levels.label}")
    if not args.no_postgres:
        print("PostgreSQL")
        result = asyncio.run(
            postgres(args.postgres, args.pg_rows, args.samples, args.scale, levels)
        )
        for key, value in result.items():
            print(f"  {key}: {value}")
    print("SQLite")
    for key, value in sqlite(args.sqlite_rows, args.samples, args.scale, levels).items():
        print(f"  {key}: {value}")


if __name__ == "__main__":
    main()
