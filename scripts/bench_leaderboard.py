"""Leaderboard benchmark (issue #18): the top 100 and the viewer's own rank over HTTP, on
PostgreSQL with 1,000,000 customers with scores and on SQLite with 100,000.

Run through scripts/bench-leaderboard. For each backend, a fresh database (a SQLite file
in a temporary folder; a new PostgreSQL database on the server given, dropped at the
end): the migrations, a site and one live all-time board of points earned (top 100,
5 neighbours each side) through the services, then in bulk, not through the API: the
customers (one in ten opted in with a display name) and their scores with PostgreSQL's
COPY (``copy_records_to_table``) or one SQLite ``executemany``, and the score counts at
levels 0/8/16 with one ``INSERT ... SELECT ... GROUP BY`` per level, then ANALYZE
(VACUUM ANALYZE on PostgreSQL). Scores are log-normal like a month's points (most
customers low, a long tail, many ties), from a seeded generator: every run has the same
data.

Then the real server (``loyalty-gql serve``, one worker, 127.0.0.1, a free port,
stopped by its pid) answers ``viewer { leaderboards { top ... } }`` and
``viewer { leaderboards { viewer { place above below } } } }`` with customer tokens of
RUNS different customers (each token's first request, which also looks the customer up,
is a warm-up): median, p95, worst. The answers are checked first: the top has 100 lines
in order with competition ranks, and each viewer's rank equals 1 + a COUNT of the higher
scores. The field refuses the response cache, so every request reads the database.
Writes "## Leaderboards (scripts/bench-leaderboard)" in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import signal
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from bench_ledger import fresh_database, write_section
from bench_server import commit_and_cpu, load_average, server, stop_on_term
from sqlalchemy import text
from sqlalchemy.engine import make_url

from loyalty_gql.api.auth import Role, issue_token
from loyalty_gql.config import Settings
from loyalty_gql.db.engine import create_database
from loyalty_gql.db.migrate import upgrade
from loyalty_gql.domain.gamification.leaderboards import Metric, PeriodKind
from loyalty_gql.domain.sites import ProgramChanges
from loyalty_gql.services import leaderboards, sites
from loyalty_gql.services.core.common import Actor
from loyalty_gql.services.core.idempotency import Idempotency

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## Leaderboards (scripts/bench-leaderboard)"
SITE_CODE = "bench-lb"
ADMIN = Actor("admin", "bench")
AIM_MS = 20.0
NOW = datetime(2026, 12, 1, tzinfo=UTC)
SEED = 18
TOP = 100
NEIGHBOURS = 5
PLACE = "rank name anonymous score"
TOP_QUERY = f"query Top {{ viewer {{ leaderboards {{ top {{ {PLACE} }} }} }} }}"
RANK_QUERY = (
    "query MyRank { viewer { leaderboards { viewer { "
    f"place {{ {PLACE} }} above {{ {PLACE} }} below {{ {PLACE} }} }} }} }} }}"
)
COUNTS_SQL = """
INSERT INTO leaderboard_score_counts (leaderboard_id, period_key, level, bucket, customers)
SELECT leaderboard_id, period_key, {level}, score >> {shift}, count(*)
FROM leaderboard_scores GROUP BY leaderboard_id, period_key, score >> {shift}
"""


def clock() -> datetime:
    return NOW


@dataclass
class Data:
    """A loaded database: its URL, what it holds, how long it took."""

    backend: str
    url: str
    customers: int
    board_id: int
    distinct_scores: int
    top_score: int
    steps: dict[str, float]


@dataclass
class Timing:
    """One query's measured requests (ms)."""

    name: str
    runs: list[float]
    size: int

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.runs, n=20, method="inclusive")[-1]


def scores(customers: int) -> list[int]:
    """Log-normal scores: median ~150, a long tail; the same every run."""
    rng = random.Random(SEED)
    return [1 + int(math.exp(rng.gauss(5.0, 1.6))) for _ in range(customers)]


async def load(backend: str, url: str, customers: int) -> Data:
    """The site, the live board, then the customers and scores in bulk."""
    steps: dict[str, float] = {}
    start = time.perf_counter()
    await upgrade(url)
    steps["migrations"] = time.perf_counter() - start
    db = create_database(url)
    try:
        site = await sites.create_site(
            db, code=SITE_CODE, name="Bench", currency="EUR", actor=ADMIN, clock=clock
        )
        await sites.configure_program(
            db, site_id=site.id, changes=ProgramChanges(enabled=True), actor=ADMIN, clock=clock
        )
        terms = leaderboards.BoardTerms(
            code="points", name="Points of all time", metric=Metric.POINTS_EARNED,
            period=PeriodKind.ALL_TIME, size=TOP, neighbours=NEIGHBOURS,
        )  # fmt: skip
        board = await leaderboards.create_board(
            db, site_id=site.id, terms=terms, actor=ADMIN, clock=clock,
            retry=Idempotency("createLeaderboard"),
        )  # fmt: skip
        await leaderboards.set_published(
            db, board_id=board.id, published=True, actor=ADMIN, clock=clock,
            retry=Idempotency("publishLeaderboard"),
        )  # fmt: skip
    finally:
        await db.dispose()
    made = time.perf_counter()
    values = scores(customers)
    steps["scores generated"] = time.perf_counter() - made
    people = [
        (n, site.id, f"c{n}", "[]", False, NOW, NOW, f"L{n:09d}",
         f"Player {n}" if n % 10 == 0 else None, n % 10 == 0, NOW)
        for n in range(1, customers + 1)
    ]  # fmt: skip
    lines = [(board.id, "ALL", n, values[n - 1]) for n in range(1, customers + 1)]
    customer_columns = [
        "id", "site_id", "external_id", "groups", "marketing_consent", "created_at",
        "updated_at", "referral_code", "display_name", "leaderboard_opt_in", "enrolled_at",
    ]  # fmt: skip
    score_columns = ["leaderboard_id", "period_key", "customer_id", "score"]
    if backend == "postgres":
        await _copy_postgres(url, people, lines, customer_columns, score_columns, steps)
    else:
        await _load_sqlite(url, people, lines, customer_columns, score_columns, steps)
    return Data(backend, url, customers, board.id, len(set(values)), max(values), steps)


def _timed(steps: dict[str, float], name: str, since: float) -> float:
    now = time.perf_counter()
    steps[name] = now - since
    return now


async def _copy_postgres(  # noqa: PLR0917 - the load's parts in order
    url: str, people: list[Any], lines: list[Any], customer_columns: list[str],
    score_columns: list[str], steps: dict[str, float],
) -> None:  # fmt: skip
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        at = time.perf_counter()
        await conn.copy_records_to_table("customers", records=people, columns=customer_columns)
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence('customers', 'id'), "
            "(SELECT max(id) FROM customers))"
        )
        at = _timed(steps, "customers (COPY)", at)
        await conn.copy_records_to_table("leaderboard_scores", records=lines, columns=score_columns)
        at = _timed(steps, "scores (COPY)", at)
        for level, shift in enumerate((0, 8, 16)):
            await conn.execute(COUNTS_SQL.format(level=level, shift=shift))
        at = _timed(steps, "score counts (INSERT ... SELECT)", at)
        await conn.execute("VACUUM ANALYZE")
        _timed(steps, "VACUUM ANALYZE", at)
    finally:
        await conn.close()


async def _load_sqlite(  # noqa: PLR0917 - the load's parts in order
    url: str, people: list[Any], lines: list[Any], customer_columns: list[str],
    score_columns: list[str], steps: dict[str, float],
) -> None:  # fmt: skip
    import sqlite3

    path = make_url(url).database
    conn = sqlite3.connect(str(path))
    try:
        at = time.perf_counter()
        stamp = NOW.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")  # as SQLAlchemy's
        people = [(*p[:5], stamp, stamp, *p[7:10], stamp) for p in people]
        marks = ", ".join("?" for _ in customer_columns)
        conn.executemany(
            f"INSERT INTO customers ({', '.join(customer_columns)}) VALUES ({marks})",
            people,
        )
        at = _timed(steps, "customers (executemany)", at)
        conn.executemany(
            f"INSERT INTO leaderboard_scores ({', '.join(score_columns)}) VALUES (?, ?, ?, ?)",
            lines,
        )
        at = _timed(steps, "scores (executemany)", at)
        for level, shift in enumerate((0, 8, 16)):
            conn.execute(COUNTS_SQL.format(level=level, shift=shift))
        conn.commit()
        at = _timed(steps, "score counts (INSERT ... SELECT)", at)
        conn.execute("ANALYZE")
        conn.commit()
        _timed(steps, "ANALYZE", at)
    finally:
        conn.close()


async def expected_rank(url: str, board_id: int, customer: int) -> int:
    """1 + the customers with a higher score, counted (the check)."""
    db = create_database(url)
    try:
        async with db.read_sessions() as session:
            found = await session.scalar(
                text(
                    "SELECT 1 + count(*) FROM leaderboard_scores WHERE leaderboard_id = :b "
                    "AND period_key = 'ALL' AND score > (SELECT score FROM leaderboard_scores "
                    "WHERE leaderboard_id = :b AND period_key = 'ALL' AND customer_id = :c)"
                ),
                {"b": board_id, "c": customer},
            )
            return int(found or 0)
    finally:
        await db.dispose()


def check(condition: bool, problem: str) -> None:
    """Stop the run when an answer is wrong."""
    if not condition:
        raise RuntimeError(problem)


def post(client: httpx.Client, query: str, token: str) -> tuple[float, dict[str, Any], int]:
    start = time.perf_counter()
    response = client.post(
        "/graphql", json={"query": query}, headers={"authorization": f"Bearer {token}"}
    )
    elapsed = (time.perf_counter() - start) * 1000
    body = response.json()
    if response.status_code != 200 or "errors" in body:
        raise RuntimeError(f"request failed: {response.status_code} {body}")
    return elapsed, body, len(response.content)


def measure(base: str, data: Data, runs: int) -> tuple[list[Timing], list[str]]:
    """Each query once per viewer (a token's first request warms it up)."""
    settings = Settings(env="development", database_url=data.url)
    rng = random.Random(SEED + 1)
    viewers = rng.sample(range(1, data.customers + 1), runs)
    tokens = {
        v: issue_token(settings, role=Role.CUSTOMER, sites=[SITE_CODE], subject=f"c{v}")
        for v in viewers
    }
    checks: list[str] = []
    timings = {"top": Timing(f"top {TOP}", [], 0), "rank": Timing("the viewer's rank", [], 0)}
    with httpx.Client(base_url=base, timeout=30) as client:
        for viewer in viewers:
            post(client, TOP_QUERY, tokens[viewer])  # warm-up: the token's customer
        _, body, _ = post(client, TOP_QUERY, tokens[viewers[0]])
        top = body["data"]["viewer"]["leaderboards"][0]["top"]
        ranks = [p["rank"] for p in top]
        scored = [p["score"] for p in top]
        check(len(top) == TOP, f"the top has {len(top)} lines")
        check(scored == sorted(scored, reverse=True), f"the top is not in order: {scored}")
        competition = [
            1 if i == 0 else (ranks[i - 1] if scored[i] == scored[i - 1] else i + 1)
            for i in range(len(ranks))
        ]
        check(ranks == competition, f"ranks {ranks} are not {competition}")
        checks.append(f"top {TOP}: scores {scored[0]:,} to {scored[-1]:,}, ranks 1 to {ranks[-1]}")
        for viewer in viewers[:5]:
            _, body, _ = post(client, RANK_QUERY, tokens[viewer])
            me = body["data"]["viewer"]["leaderboards"][0]["viewer"]
            want = asyncio.run(expected_rank(data.url, data.board_id, viewer))
            check(me["place"]["rank"] == want, f"c{viewer}: {me['place']} is not rank {want}")
            checks.append(
                f"customer c{viewer}: score {me['place']['score']:,}, rank {want:,} "
                f"(= 1 + COUNT of higher scores), {len(me['above'])} above, "
                f"{len(me['below'])} below"
            )
        for viewer in viewers:
            for key, query in (("top", TOP_QUERY), ("rank", RANK_QUERY)):
                elapsed, _, size = post(client, query, tokens[viewer])
                timings[key].runs.append(elapsed)
                timings[key].size = size
    return list(timings.values()), checks


async def postgres_facts(url: str) -> str:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        server_version = await conn.fetchval("SHOW server_version")
        size = await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
        rows = await conn.fetchval("SELECT count(*) FROM leaderboard_score_counts")
    finally:
        await conn.close()
    return (
        f"PostgreSQL {server_version}, local server, default settings; database {size}; "
        f"{rows:,} score-count rows"
    )


def run_backend(
    backend: str, base_url: str | None, folder: Path, customers: int, runs: int
) -> tuple[Data, list[Timing], list[str], str]:
    url, drop = asyncio.run(fresh_database(base_url, folder, f"lb_{backend}"))
    try:
        started = time.perf_counter()
        data = asyncio.run(load(backend, url, customers))
        data.steps["total"] = time.perf_counter() - started
        print(f"bench-leaderboard: {backend}: {customers:,} customers loaded in "
              f"{data.steps['total']:.1f} s", flush=True)  # fmt: skip
        facts = (
            asyncio.run(postgres_facts(url))
            if backend == "postgres"
            else f"SQLite {__import__('sqlite3').sqlite_version}, WAL; file "
            f"{Path(make_url(url).database or '').stat().st_size / 2**20:.0f} MiB"
        )
        with server(url, folder / f"server-{backend}.log", "bench-leaderboard") as base:
            timings, checks = measure(base, data, runs)
        return data, timings, checks, facts
    finally:
        if drop is not None:
            asyncio.run(drop())


def report(
    results: list[tuple[Data, list[Timing], list[str], str]],
    *,
    commit: str,
    cpu: str,
    loads: tuple[str, str],
    runs: int,
) -> str:
    versions = ", ".join(
        f"{n} {version(n)}"
        for n in ("uvicorn", "starlette", "strawberry-graphql", "graphql-core", "sqlalchemy",
                  "asyncpg", "aiosqlite", "httpx")
    )  # fmt: skip
    lines = [
        HEADING,
        "",
        "Written by `scripts/bench-leaderboard`; run it again to replace this section.",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; commit {commit}",
        f"- Machine: {os.cpu_count()} CPUs ({cpu}), shared; load average (1/5/15 min) "
        f"{loads[0]} (before) / {loads[1]} (after)",
        "- Data: one site, one live all-time board of points earned (top 100, 5 neighbours "
        "each side); every customer has a score, log-normal (seeded, the same every run), one "
        "in ten opted in with a display name; loaded in bulk (PostgreSQL COPY, SQLite "
        "executemany; the score counts by INSERT ... SELECT), not through the API",
        f"- Measured over HTTP: `loyalty-gql serve`, 1 worker, customer tokens of {runs} "
        "different customers (each token's first request a warm-up), httpx on 127.0.0.1 "
        "sharing the CPUs with the server and the database, one request at a time; "
        "viewer.leaderboards refuses the response cache, so every request reads the database",
        f"- Software: {versions}",
        "",
        "| backend | customers | distinct scores | top score | query | median | p95 | worst "
        "| response |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    notes = []
    met = True
    for data, timings, _, facts in results:
        for t in timings:
            met = met and t.median < AIM_MS
            lines.append(
                f"| {data.backend} | {data.customers:,} | {data.distinct_scores:,} | "
                f"{data.top_score:,} | {t.name} | {t.median:.1f} ms | {t.p95:.1f} ms | "
                f"{max(t.runs):.1f} ms | {t.size / 1024:.1f} KiB |"
            )
        steps = "; ".join(f"{k}: {v:.1f} s" for k, v in data.steps.items())
        notes.append(f"- {data.backend}: {facts}. Loading: {steps}")
    lines += [
        "",
        f"Aim: the median of each under {AIM_MS:.0f} ms (PostgreSQL with 1,000,000 customers, "
        f"SQLite with 100,000): this run {'meets' if met else 'does NOT meet'} it.",
        "",
        *notes,
        "",
        "What they answered (checked before the runs):",
        "",
    ]
    for data, _, checks, _ in results:
        lines += [f"- {data.backend}: {c}" for c in checks]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL server URL (a fresh database is made and dropped)",
    )  # fmt: skip
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--pg-customers", type=int, default=1_000_000)
    parser.add_argument("--sqlite-customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--output", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, stop_on_term)
    for name in [k for k in os.environ if k.startswith("LOYALTY_JWT_")]:
        del os.environ[name]  # the server gets the development key; so does our token
    commit, cpu = commit_and_cpu()
    before = load_average()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-leaderboard.") as folder:
        if not args.no_sqlite:
            results.append(
                run_backend("sqlite", None, Path(folder), args.sqlite_customers, args.runs)
            )
        if not args.no_postgres:
            results.append(
                run_backend("postgres", args.postgres, Path(folder), args.pg_customers, args.runs)
            )
    section = report(results, commit=commit, cpu=cpu, loads=(before, load_average()),
                     runs=args.runs)  # fmt: skip
    print(section)
    if args.output != "-":
        write_section(Path(args.output), section)
        print(f"bench-leaderboard: wrote {args.output}")


if __name__ == "__main__":
    main()
