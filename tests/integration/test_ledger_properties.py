"""Random sequences of ledger operations never break the ledger's invariants."""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from loyalty_gql.db.engine import Database, create_database
from loyalty_gql.db.models import LedgerEntryRow, PointAccountRow, PointLotRow
from loyalty_gql.domain.errors import DomainError
from loyalty_gql.domain.points import SourceType
from loyalty_gql.domain.sites import ThresholdReward, ValidityPolicy
from loyalty_gql.services import points
from loyalty_gql.services.core.idempotency import Idempotency
from loyalty_gql.services.points.expiry import expire_points
from loyalty_gql.services.points.verify import verify_ledger
from tests.conftest import wipe
from tests.integration.ledger_helpers import ADMIN, SERVICE, shop
from tests.support.clock import Clock

amounts = st.integers(min_value=1, max_value=400)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), amounts, st.booleans()),
        st.tuples(st.just("activate"), st.integers(0, 20)),
        st.tuples(st.just("spend"), amounts),
        st.tuples(st.just("expire"), st.integers(1, 40)),
        st.tuples(st.just("reverse"), st.integers(0, 30), st.none() | amounts),
        st.tuples(st.just("adjust"), st.integers(-400, 400).filter(bool)),
        st.tuples(st.just("order"), amounts),
    ),
    min_size=1,
    max_size=25,
)


async def _invariants(db: Database, customer_id: int) -> None:
    async with db.read_sessions() as session:
        account = await session.get(PointAccountRow, customer_id)
        lots = await session.scalar(
            select(func.coalesce(func.sum(PointLotRow.remaining), 0)).where(
                PointLotRow.customer_id == customer_id
            )
        )
        negative_lots = await session.scalar(select(func.count()).where(PointLotRow.remaining < 0))
    assert account is not None
    assert account.available >= 0
    assert account.pending >= 0
    assert account.available == lots
    assert negative_lots == 0
    assert await verify_ledger(db) == []


async def _run(
    url: str, ops: list[tuple[Any, ...]], policy: ValidityPolicy, threshold: bool
) -> None:
    db = create_database(url, pool_size=2)
    try:
        await wipe(db)
        clock = Clock(datetime(2026, 1, 1, tzinfo=UTC))
        extra: dict[str, Any] = (
            {"threshold_reward": ThresholdReward(enabled=True, points=500)} if threshold else {}
        )
        the_shop = await shop(
            db, clock, validity_policy=policy,
            validity_days=None if policy is ValidityPolicy.NONE else 30, **extra,
        )  # fmt: skip
        customer = the_shop.customer_ids[0]
        for op in ops:
            clock.now += timedelta(hours=1)
            # refusals (not enough points, already reversed...) change nothing
            with contextlib.suppress(DomainError):
                await _apply(db, clock, customer, op)
            await _invariants(db, customer)
    finally:
        await db.dispose()


async def _entries(db: Database, customer_id: int) -> list[LedgerEntryRow]:
    async with db.read_sessions() as session:
        rows = await session.scalars(
            select(LedgerEntryRow)
            .where(LedgerEntryRow.customer_id == customer_id)
            .order_by(LedgerEntryRow.id)
        )
        return list(rows)


async def _apply(db: Database, clock: Clock, customer: int, op: tuple[Any, ...]) -> None:
    name = op[0]
    if name in ("earn", "order"):
        await points.earn_points(
            db, customer_id=customer, points=op[1], pending=name == "earn" and op[2],
            source=SourceType.ORDER if name == "order" else SourceType.ACTIVITY,
            source_ref=None, actor=SERVICE, clock=clock, retry=Idempotency("earnPoints"),
        )  # fmt: skip
    elif name == "spend":
        await points.spend_points(
            db,
            customer_id=customer,
            points=op[1],
            source_ref=None,
            actor=SERVICE,
            clock=clock,
            retry=Idempotency("spendPoints"),
        )
    elif name == "adjust":
        await points.grant_points(
            db,
            customer_id=customer,
            points=op[1],
            reason="test",
            actor=ADMIN,
            clock=clock,
            retry=Idempotency("grantPoints"),
        )
    elif name == "expire":
        clock.now += timedelta(days=op[1])
        await expire_points(db, clock=clock)
    elif name == "activate":
        pending = [e for e in await _entries(db, customer) if e.kind == "PENDING"]
        if pending:
            entry = pending[op[1] % len(pending)]
            await points.activate_points(
                db,
                entry_id=entry.id,
                actor=SERVICE,
                clock=clock,
                retry=Idempotency("activatePoints"),
            )
    elif name == "reverse":
        entries = await _entries(db, customer)
        if not entries:
            return
        entry = entries[op[1] % len(entries)]
        await points.reverse_entry(
            db,
            entry_id=entry.id,
            points=op[2],
            reason="refund",
            actor=SERVICE,
            clock=clock,
            retry=Idempotency("reverseEntry"),
        )


@settings(
    max_examples=int(os.environ.get("LEDGER_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ops=operations,
    policy=st.sampled_from(list(ValidityPolicy)),
    threshold=st.booleans(),
)
def test_random_ledger_sequences_keep_every_invariant(migrated, ops, policy, threshold):
    asyncio.run(_run(migrated, ops, policy, threshold))
