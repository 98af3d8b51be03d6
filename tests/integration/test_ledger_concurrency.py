"""No path can overdraw: concurrent spends against one balance."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import PointAccountRow
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.services.core.idempotency import Idempotency
from loyalty_gql.services.points import grant_points, spend_points
from loyalty_gql.services.points.verify import verify_ledger
from tests.integration.ledger_helpers import ADMIN, SERVICE, shop

SPENDER = Path(__file__).with_name("spend_worker.py")


async def _balance(db: Database, customer_id: int) -> int:
    async with db.read_sessions() as session:
        return int(
            await session.scalar(
                select(PointAccountRow.available).where(PointAccountRow.customer_id == customer_id)
            )
            or 0
        )


async def _spend(db: Database, clock, customer_id: int) -> str:
    try:
        await spend_points(
            db,
            customer_id=customer_id,
            points=100,
            source_ref=None,
            actor=SERVICE,
            clock=clock,
            retry=Idempotency("spendPoints"),
        )
    except DomainError as error:
        return error.problems[0].code.value
    return "OK"


@pytest.mark.concurrency
async def test_50_concurrent_spends_of_100_against_2000_give_exactly_20(db: Database, clock):
    # given
    the_shop = await shop(db, clock)
    customer = the_shop.customer_ids[0]
    await grant_points(
        db,
        customer_id=customer,
        points=2000,
        reason="welcome",
        actor=ADMIN,
        clock=clock,
        retry=Idempotency("grantPoints"),
    )
    # when
    outcomes = await asyncio.gather(*(_spend(db, clock, customer) for _ in range(50)))
    # then
    assert outcomes.count("OK") == 20
    assert outcomes.count(ErrorCode.INSUFFICIENT_POINTS.value) == 30
    assert await _balance(db, customer) == 0
    assert await verify_ledger(db) == []


@pytest.mark.concurrency(across_processes=True)
async def test_spends_split_across_two_processes_never_overdraw(db: Database, clock, backend):
    # given
    the_shop = await shop(db, clock)
    customer = the_shop.customer_ids[0]
    await grant_points(
        db,
        customer_id=customer,
        points=2000,
        reason="welcome",
        actor=ADMIN,
        clock=clock,
        retry=Idempotency("grantPoints"),
    )
    # when: two OS processes, 25 concurrent spends each
    command = [sys.executable, str(SPENDER), backend.url, str(customer), "25"]
    procs = [
        await asyncio.create_subprocess_exec(
            *command, stdout=subprocess.PIPE, cwd=str(Path(__file__).parents[2])
        )
        for _ in range(2)
    ]
    outputs = [await p.communicate() for p in procs]
    # then
    assert [p.returncode for p in procs] == [0, 0]
    outcomes = [line for out, _ in outputs for line in out.decode().split()]
    assert len(outcomes) == 50
    assert outcomes.count("OK") == 20
    assert outcomes.count("INSUFFICIENT_POINTS") == 30
    assert await _balance(db, customer) == 0
    assert await verify_ledger(db) == []
