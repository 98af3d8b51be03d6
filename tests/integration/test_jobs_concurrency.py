"""Jobs running in several workers at once share the work without doubling it."""

from __future__ import annotations

import asyncio
import sys
from asyncio.subprocess import PIPE
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import LedgerEntryRow, PointLotRow
from loyalty_gql.domain.points import SourceType
from loyalty_gql.domain.sites import ValidityPolicy
from loyalty_gql.services.core.idempotency import Idempotency
from loyalty_gql.services.points import earn_points
from loyalty_gql.services.points.expiry import expire_points
from loyalty_gql.services.points.verify import verify_ledger
from tests.conftest import DatabaseBackend
from tests.integration.ledger_helpers import SERVICE, shop
from tests.support.clock import Clock

CUSTOMERS = 60
WORKER = Path(__file__).with_name("expire_worker.py")


async def _expire_in_processes(
    url: str, now: datetime, *, workers: int, batch_size: int
) -> list[int]:
    """Run the expiry job in ``workers`` OS processes started at the same moment; what
    each wrote."""
    command = [sys.executable, str(WORKER), url, now.isoformat(), str(batch_size)]
    procs = [
        await asyncio.create_subprocess_exec(
            *command, stdin=PIPE, stdout=PIPE, cwd=str(Path(__file__).parents[2])
        )
        for _ in range(workers)
    ]
    for proc in procs:  # every worker is connected before any starts
        assert proc.stdout is not None
        assert await proc.stdout.readline() == b"ready\n"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
    outputs = [await proc.communicate() for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * workers
    return [int(out) for out, _ in outputs]


@pytest.mark.concurrency(across_processes=True)
async def test_two_expiry_workers_expire_every_lot_exactly_once(
    db: Database, backend: DatabaseBackend
):
    # given: 60 customers with two lots each, all past their validity
    clock = Clock(datetime(2026, 1, 1, tzinfo=UTC))
    the_shop = await shop(
        db,
        clock,
        customers_count=CUSTOMERS,
        validity_policy=ValidityPolicy.FIXED_DAYS,
        validity_days=30,
    )
    for customer in the_shop.customer_ids:
        for points in (10, 20):
            await earn_points(
                db, customer_id=customer, points=points, pending=False,
                source=SourceType.ACTIVITY, source_ref=None, actor=SERVICE, clock=clock,
                retry=Idempotency("earnPoints"),
            )  # fmt: skip
    clock.now += timedelta(days=31)
    # when: two worker processes, each with its own engine, in small batches at once
    written = await _expire_in_processes(backend.url, clock.now, workers=2, batch_size=7)
    # then: one EXPIRED entry per customer between them, nothing left, ledger agrees
    assert sum(written) == CUSTOMERS
    async with db.read_sessions() as session:
        expired = await session.scalar(
            select(func.coalesce(func.sum(LedgerEntryRow.expired_points), 0))
        )
        left = await session.scalar(select(func.coalesce(func.sum(PointLotRow.remaining), 0)))
    assert (expired, left) == (CUSTOMERS * 30, 0)
    assert await expire_points(db, clock=clock) == 0
    assert await verify_ledger(db) == []
