"""The `loyalty-gql` command run as a process: verify, jobs expire, token."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from loyalty_gql.db.engine import Database
from loyalty_gql.db.versions import scoped
from loyalty_gql.domain.points import SourceType
from loyalty_gql.domain.sites import ValidityPolicy
from loyalty_gql.services.core.idempotency import Idempotency
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.points import earn_points, grant_points, spend_points
from tests.conftest import DatabaseBackend
from tests.integration.ledger_helpers import ADMIN, SERVICE, shop
from tests.support.clock import Clock

CLI = str(Path(sys.executable).with_name("loyalty-gql"))


@dataclass
class Run:
    """What a finished command returned and printed."""

    status: int
    out: str
    err: str


async def _cli(backend: DatabaseBackend, *args: str) -> Run:
    process = await asyncio.create_subprocess_exec(
        CLI,
        *args,
        env={**os.environ, "LOYALTY_DATABASE_URL": backend.url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


async def _some_activity(db: Database, clock: Clock) -> list[int]:
    """Two customers who earned, spent and were corrected by an admin."""
    the_shop = await shop(db, clock, customers_count=2)
    ann, bob = the_shop.customer_ids
    for customer, points in ((ann, 120), (bob, 40)):
        await earn_points(
            db, customer_id=customer, points=points, pending=False, source=SourceType.ACTIVITY,
            source_ref=None, actor=SERVICE, clock=clock, retry=Idempotency("earnPoints"),
        )  # fmt: skip
    await spend_points(
        db,
        customer_id=ann,
        points=50,
        source_ref=None,
        actor=SERVICE,
        clock=clock,
        retry=Idempotency("spendPoints"),
    )
    await grant_points(
        db,
        customer_id=bob,
        points=-10,
        reason="fix",
        actor=ADMIN,
        clock=clock,
        retry=Idempotency("grantPoints"),
    )
    return the_shop.customer_ids


async def test_verify_passes_on_a_consistent_ledger_and_reports_a_tampered_account(
    db: Database, backend: DatabaseBackend, clock: Clock
):
    # given
    ann, _ = await _some_activity(db, clock)
    consistent = await _cli(backend, "verify")
    async with UnitOfWork(db) as uow:
        await uow.session.execute(
            scoped(
                text("UPDATE point_accounts SET available = available + 1 WHERE customer_id = :id")
            ),
            {"id": ann},
        )
        await uow.commit()
    # when
    tampered = await _cli(backend, "verify")
    # then
    assert (consistent.status, consistent.out) == (
        0,
        "every account agrees with its ledger and its lots\n",
    )
    assert tampered.status == 1
    assert tampered.out.splitlines() == [
        f"customer {ann}: available is 71, the ledger says 70",
        f"customer {ann}: available vs points_change by day is 71, the ledger says 70",
        f"customer {ann}: available vs lots is 71, the ledger says 70",
    ]
    assert tampered.err == "3 differences\n"


async def test_jobs_expire_prints_how_many_entries_it_wrote(
    db: Database, backend: DatabaseBackend, clock: Clock
):
    # given: points earned in 2020 that lasted 30 days, and points earned today
    clock.now = datetime(2020, 1, 1, tzinfo=UTC)
    the_shop = await shop(
        db, clock, customers_count=2, validity_policy=ValidityPolicy.FIXED_DAYS, validity_days=30
    )
    for customer in the_shop.customer_ids:
        await earn_points(
            db, customer_id=customer, points=25, pending=False, source=SourceType.ACTIVITY,
            source_ref=None, actor=SERVICE, clock=clock, retry=Idempotency("earnPoints"),
        )  # fmt: skip
    # when
    first = await _cli(backend, "jobs", "expire")
    second = await _cli(backend, "jobs", "expire")
    # then
    assert (first.status, first.out) == (0, "2 expiry entries written\n")
    assert (second.status, second.out) == (0, "0 expiry entries written\n")
    assert (await _cli(backend, "verify")).status == 0


async def test_a_customer_token_needs_the_customer(backend: DatabaseBackend):
    run = await _cli(backend, "token", "--role", "customer", "--site", "demo")
    assert (run.status, run.out) == (2, "")
    assert run.err == "--customer is required for a customer token\n"
