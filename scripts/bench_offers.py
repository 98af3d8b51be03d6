"""assignOffer to 10,000 customers in one call: the time of the call and of its retry.

Run through scripts/bench-offers. A fresh database (SQLite, or PostgreSQL with
--postgres) with one site and 10,000 enrolled customers; the GraphQL mutation
goes through the whole app in process (no network). Writes its section of
docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from bench_ledger import fresh_database, write_section
from sqlalchemy import insert, select

from loyalty_gql.api.app import create_app
from loyalty_gql.api.auth import Role, issue_token
from loyalty_gql.api.core.ids import to_global_id
from loyalty_gql.config import Settings
from loyalty_gql.db.engine import create_database
from loyalty_gql.db.migrate import upgrade
from loyalty_gql.db.models import CustomerRow
from loyalty_gql.domain.offers import OfferKind, OfferScope, OfferTerms, OfferValueType
from loyalty_gql.domain.sites import ProgramChanges
from loyalty_gql.services import sites
from loyalty_gql.services.core.common import Actor, system_clock
from loyalty_gql.services.offers import catalog as offers

ROOT = Path(__file__).resolve().parents[1]
CUSTOMERS = 10_000
ASSIGN = """
mutation($input: AssignOfferInput!) {
  assignOffer(input: $input) { assignedCount alreadyAssignedCount userErrors { code } }
}
"""


async def run(base_url: str | None, rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        url, drop = await fresh_database(base_url, Path(folder), "offers")
        try:
            await upgrade(url)
            db = create_database(url)
            admin = Actor("admin", "bench")
            site = await sites.create_site(
                db, code="bench", name="Bench", currency="EUR", actor=admin, clock=system_clock
            )
            await sites.configure_program(
                db,
                site_id=site.id,
                changes=ProgramChanges(enabled=True),
                actor=admin,
                clock=system_clock,
            )
            now = datetime.now(UTC)
            async with db.write_sessions() as session, session.begin():
                await session.execute(
                    insert(CustomerRow),
                    [{"site_id": site.id, "external_id": f"c-{n}", "groups": [],
                      "marketing_consent": False, "enrolled_at": now, "created_at": now,
                      "updated_at": now} for n in range(CUSTOMERS)],
                )  # fmt: skip
                ids = list(await session.scalars(select(CustomerRow.id).order_by(CustomerRow.id)))
            settings = Settings(env="test", database_url=url, max_body_bytes=5_000_000)
            token = issue_token(settings, role=Role.ADMIN, sites=["bench"], subject="bench")
            customer_ids = [to_global_id("Customer", pk) for pk in ids]
            results: dict[str, list[float]] = {"first": [], "retry": []}
            transport = httpx.ASGITransport(app=create_app(settings, db))
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for n in range(rounds):
                    terms = OfferTerms(
                        kind=OfferKind.PUNCHCARD, name=f"card {n}",
                        value_type=OfferValueType.FREE_ITEM, scope=OfferScope.PRODUCT,
                        targets=("espresso",), punches_required=10,
                    )  # fmt: skip
                    offer = await offers.create_offer(
                        db, site_id=site.id, terms=terms, actor=admin, clock=system_clock
                    )
                    variables = {"input": {"offerId": to_global_id("Offer", offer.id),
                                           "customerIds": customer_ids,
                                           "idempotencyKey": f"bench-{n}"}}  # fmt: skip
                    for label in ("first", "retry"):
                        started = time.perf_counter()
                        response = await client.post(
                            "/graphql",
                            json={"query": ASSIGN, "variables": variables},
                            headers={"authorization": f"Bearer {token}"},
                            timeout=120,
                        )
                        results[label].append(time.perf_counter() - started)
                        payload = response.json()["data"]["assignOffer"]
                        assert payload["assignedCount"] == CUSTOMERS, payload
            await db.dispose()
        finally:
            if drop:
                await drop()
    return {label: min(times) for label, times in results.items()}


def report(sqlite: dict[str, float], postgres: dict[str, float] | None, rounds: int) -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
        check=False,
    ).stdout.strip()  # fmt: skip
    lines = [
        "## Offers (scripts/bench-offers)",
        "",
        "Written by `scripts/bench-offers`; run it again to replace this section.",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; commit {commit}",
        f"- Machine: {os.cpu_count()} CPUs; Python {platform.python_version()}",
        f"- assignOffer of a punchcard to {CUSTOMERS:,} listed customers in one GraphQL call, "
        f"through the whole app in process; then the same call again with its idempotency "
        f"key (replayed). Best of {rounds} rounds, each on a new offer.",
        "",
        "| backend | first call | retry with the same key |",
        "| --- | ---: | ---: |",
        f"| SQLite (aiosqlite, WAL) | {sqlite['first']:.2f} s | {sqlite['retry'] * 1000:.0f} ms |",
    ]
    if postgres:
        lines.append(
            f"| PostgreSQL (asyncpg) | {postgres['first']:.2f} s | "
            f"{postgres['retry'] * 1000:.0f} ms |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", help="PostgreSQL server URL (a fresh database is made)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    args = parser.parse_args()
    sqlite = asyncio.run(run(None, args.rounds))
    postgres = asyncio.run(run(args.postgres, args.rounds)) if args.postgres else None
    section = report(sqlite, postgres, args.rounds)
    print(section)
    if args.output != "-":
        write_section(Path(args.output), section)


if __name__ == "__main__":
    main()
