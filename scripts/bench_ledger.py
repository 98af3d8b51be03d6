"""Ledger benchmark: balance reads and spends with 1,000 and with 1,000,000 entries.

Run through scripts/bench-ledger. Builds each data set in a fresh database (bulk
inserts of consistent accounts, entries and lots), then measures, in process and
through the same service functions the API uses:
  - balance reads: the account loader's query for one random customer
  - spends: services.points.spend_points of 10 points for one random customer
and writes the medians, p99s and the large/small ratios to docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

from loyalty_gql.db.engine import Database, create_database
from loyalty_gql.db.migrate import upgrade
from loyalty_gql.db.models import CustomerRow, LedgerEntryRow, PointAccountRow, PointLotRow
from loyalty_gql.db.repositories.points.ledger import accounts_by_customer_ids
from loyalty_gql.domain.sites import ProgramChanges, ValidityPolicy
from loyalty_gql.services import sites
from loyalty_gql.services.core.common import Actor
from loyalty_gql.services.core.idempotency import Idempotency
from loyalty_gql.services.points import spend_points

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
ADMIN = Actor("admin", "bench")
# data set -> (customers, earnings per customer)
SIZES = {"1,000 entries": (10, 100), "1,000,000 entries": (1_000, 1_000)}  # customers x entries
BATCH = 20_000


def clock() -> datetime:
    return NOW


async def fresh_database(base_url: str | None, folder: Path, name: str) -> tuple[str, Any]:
    """A new empty database: a SQLite file, or a new PostgreSQL database on the server."""
    if not base_url:
        return f"sqlite+aiosqlite:///{folder / (name + '.db')}", None
    url = make_url(base_url)
    database = f"bench_ledger_{uuid.uuid4().hex[:10]}"
    admin_dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin_dsn)
    await conn.execute(f'CREATE DATABASE "{database}"')
    await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(admin_dsn)
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await conn.close()

    return url.set(database=database).render_as_string(hide_password=False), drop


async def build(db: Database, customers: int, per_customer: int) -> list[int]:
    """A site with enrolled customers, each with ``per_customer`` earnings of 10 points."""
    site = await sites.create_site(
        db, code="bench", name="Bench", currency="EUR", actor=ADMIN, clock=clock
    )
    await sites.configure_program(
        db,
        site_id=site.id,
        changes=ProgramChanges(enabled=True, validity_policy=ValidityPolicy.FIXED_DAYS,
                               validity_days=730),
        actor=ADMIN,
        clock=clock,
    )  # fmt: skip
    ids = list(range(1, customers + 1))
    entry_id = 0
    async with db.write_sessions() as session, session.begin():
        await session.execute(
            insert(CustomerRow),
            [
                {"id": cid, "site_id": site.id, "external_id": f"c-{cid}", "email": None,
                 "name": None, "groups": [], "marketing_consent": False, "enrolled_at": NOW,
                 "created_at": NOW, "updated_at": NOW}
                for cid in ids
            ],
        )  # fmt: skip
        await session.execute(
            insert(PointAccountRow),
            [
                {"customer_id": cid, "site_id": site.id, "available": 10 * per_customer,
                 "pending": 0, "lifetime_earned": 10 * per_customer, "lifetime_redeemed": 0,
                 "lifetime_expired": 0, "lifetime_spent_minor": 0,
                 "entry_count": per_customer, "updated_at": NOW}
                for cid in ids
            ],
        )  # fmt: skip
    entries: list[dict[str, Any]] = []
    lots: list[dict[str, Any]] = []

    async def flush() -> None:
        async with db.write_sessions() as session, session.begin():
            await session.execute(insert(LedgerEntryRow), entries)
            await session.execute(insert(PointLotRow), lots)
        entries.clear()
        lots.clear()

    for cid in ids:
        for n in range(per_customer):
            entry_id += 1
            at = NOW - timedelta(days=per_customer - n)
            entries.append(
                {"id": entry_id, "site_id": site.id, "customer_id": cid, "kind": "EARNED",
                 "points": 10, "pending_points": 0, "earned_points": 10, "redeemed_points": 0,
                 "expired_points": 0, "balance_after": 10 * (n + 1), "source_type": "ORDER",
                 "source_ref": f"o-{entry_id}", "activity_code": None, "reason": None,
                 "actor": "service:bench", "idempotency_key": f"bench:{entry_id}",
                 "reverses_entry_id": None, "created_at": at}
            )  # fmt: skip
            lots.append(
                {"id": entry_id, "site_id": site.id, "customer_id": cid, "entry_id": entry_id,
                 "points": 10, "remaining": 10, "expires_at": at + timedelta(days=730),
                 "created_at": at}
            )  # fmt: skip
            if len(entries) >= BATCH:
                await flush()
    if entries:
        await flush()
    if db.is_sqlite:
        # as a live database would be: the WAL checkpointed, statistics gathered
        async with db.engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            await conn.exec_driver_sql("ANALYZE")
    else:
        async with db.engine.connect() as conn:
            for table in ("customers", "point_accounts", "ledger_entries", "point_lots"):
                await conn.exec_driver_sql(f"ANALYZE {table}")
            for table, column in (
                ("customers", "id"),
                ("ledger_entries", "id"),
                ("point_lots", "id"),
            ):
                await conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                    f"(SELECT max({column}) FROM {table}))"
                )  # fmt: skip
            await conn.commit()
    return ids


async def measure(db: Database, ids: list[int], reads: int, spends: int) -> dict[str, Any]:
    """Latencies (ms) of balance reads and of spends, on random customers."""
    rng = random.Random(7)
    read_times = []
    for _ in range(reads):
        cid = rng.choice(ids)
        started = time.perf_counter()
        async with db.read_sessions() as session:
            accounts = await accounts_by_customer_ids(session, [cid])
        read_times.append((time.perf_counter() - started) * 1000)
        assert accounts[cid].available >= 0
    spend_times = []
    for _ in range(spends):
        cid = rng.choice(ids)
        started = time.perf_counter()
        await spend_points(db, customer_id=cid, points=10, source_ref=None, actor=ADMIN,
                           clock=clock, retry=Idempotency("spendPoints"))  # fmt: skip
        spend_times.append((time.perf_counter() - started) * 1000)
    return {"read": summary(read_times), "spend": summary(spend_times)}


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "median": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "per_second": len(ordered) / (sum(ordered) / 1000),
    }


async def count_entries(db: Database) -> int:
    async with db.read_sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(LedgerEntryRow)) or 0)


async def run(base_url: str | None, reads: int, spends: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        for label, (customers, per_customer) in SIZES.items():
            url, drop = await fresh_database(base_url, Path(folder), label.split()[0])
            try:
                await upgrade(url)
                db = create_database(url)
                started = time.perf_counter()
                ids = await build(db, customers, per_customer)
                built = time.perf_counter() - started
                entries = await count_entries(db)
                await measure(db, ids, 200, 50)  # warm-up
                results[label] = {"entries": entries, "build_s": built,
                                  **await measure(db, ids, reads, spends)}  # fmt: skip
                await db.dispose()
            finally:
                if drop:
                    await drop()
    return results


def report(results: dict[str, Any], backend: str, reads: int, spends: int) -> str:
    small, large = (results[label] for label in SIZES)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
        check=False,
    ).stdout.strip()  # fmt: skip
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor(),
    )  # fmt: skip
    lines = [
        "## Ledger (scripts/bench-ledger)",
        "",
        "Written by `scripts/bench-ledger`; run it again to replace this section.",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; commit {commit}",
        f"- Machine: {os.cpu_count()} CPUs, {cpu}; Python {platform.python_version()}",
        f"- Backend: {backend}",
        "- Data: 1,000 entries = 10 customers x 100 earnings; 1,000,000 entries = "
        "1,000 customers x 1,000 earnings (each earning an entry and an open lot)",
        f"- Measured in process, one operation at a time, on random customers: {reads} "
        f"balance reads (the account loader's query in a read session) and {spends} spends "
        f"of 10 points (services.points.spend_points: lock, lots soonest-expiry first, "
        f"entry, movements, commit)",
        "",
        "| data set | entries | build | read median | read p99 | spend median | spend p99 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, r in results.items():
        lines.append(
            f"| {label} | {r['entries']:,} | {r['build_s']:.1f} s | "
            f"{r['read']['median']:.3f} ms | {r['read']['p99']:.3f} ms | "
            f"{r['spend']['median']:.3f} ms | {r['spend']['p99']:.3f} ms |"
        )
    read_ratio = large["read"]["median"] / small["read"]["median"]
    spend_ratio = large["spend"]["median"] / small["spend"]["median"]
    verdict = "meets" if max(read_ratio, spend_ratio) <= 1.5 else "misses"
    lines += [
        "",
        f"Ratios large/small (medians): reads {read_ratio:.2f}x, spends {spend_ratio:.2f}x. "
        f"Aim: the large case within 1.5x of the small one: this run {verdict} it.",
        "",
    ]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    heading = section.splitlines()[0]
    if heading in text:
        start = text.index(heading)
        rest = text[start + len(heading) :]
        end = rest.find("\n## ")
        text = text[:start] + section + ("" if end < 0 else rest[end + 1 :])
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", help="PostgreSQL server URL (a fresh database is made)")
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--spends", type=int, default=500)
    parser.add_argument("--output", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    args = parser.parse_args()
    backend = "PostgreSQL (asyncpg), local server" if args.postgres else "SQLite (aiosqlite), WAL"
    results = asyncio.run(run(args.postgres, args.reads, args.spends))
    section = report(results, backend, args.reads, args.spends)
    print(section)
    if args.output != "-":
        if args.postgres:
            section = section.replace(
                "## Ledger (scripts/bench-ledger)", "## Ledger on PostgreSQL (scripts/bench-ledger)"
            )
        write_section(Path(args.output), section)


if __name__ == "__main__":
    main()
