"""Expiry under FIXED_DAYS and ROLLING_DAYS, and the warnings before it, with a moving clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import func, select

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import LedgerEntryRow, OutboxEventRow, PointAccountRow
from loyalty_gql.domain.points import SourceType
from loyalty_gql.domain.sites import ValidityPolicy
from loyalty_gql.services.core.common import system_clock
from loyalty_gql.services.core.idempotency import Idempotency
from loyalty_gql.services.points import earn_points, spend_points
from loyalty_gql.services.points.expiry import expire_points, warn_expiring
from loyalty_gql.services.points.verify import verify_ledger
from tests.integration.ledger_helpers import SERVICE, shop

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(days: float):
    return time_machine.travel(T0 + timedelta(days=days), tick=False)


async def _available(db: Database, customer_id: int) -> int:
    async with db.read_sessions() as session:
        account = await session.get(PointAccountRow, customer_id)
        return account.available if account else 0


async def _earn(db: Database, customer_id: int, points: int, source=SourceType.ACTIVITY) -> None:
    await earn_points(
        db,
        customer_id=customer_id,
        points=points,
        pending=False,
        source=source,
        source_ref=None,
        actor=SERVICE,
        clock=system_clock,
        retry=Idempotency("earnPoints"),
    )


async def _expired_entries(db: Database) -> int:
    async with db.read_sessions() as session:
        return int(
            await session.scalar(select(func.count()).where(LedgerEntryRow.kind == "EXPIRED")) or 0
        )


async def test_fixed_days_expires_each_lot_on_its_date_once(db: Database):
    # given: 100 points on day 0 and 50 on day 10, valid 30 days each
    with at(0):
        the_shop = await shop(
            db, system_clock, validity_policy=ValidityPolicy.FIXED_DAYS, validity_days=30
        )
        customer = the_shop.customer_ids[0]
        await _earn(db, customer, 100)
    with at(10):
        await _earn(db, customer, 50)
    # when / then: day 29 nothing is due
    with at(29):
        assert await expire_points(db, clock=system_clock) == 0
    # day 31: the first lot expires, once
    with at(31):
        assert await expire_points(db, clock=system_clock) == 1
        assert await expire_points(db, clock=system_clock) == 0
        assert await _available(db, customer) == 50
    with at(41):
        assert await expire_points(db, clock=system_clock) == 1
        assert await _available(db, customer) == 0
    assert await _expired_entries(db) == 2
    assert await verify_ledger(db) == []


async def test_spends_use_the_lots_that_expire_soonest(db: Database):
    with at(0):
        the_shop = await shop(
            db, system_clock, validity_policy=ValidityPolicy.FIXED_DAYS, validity_days=30
        )
        customer = the_shop.customer_ids[0]
        await _earn(db, customer, 100)
    with at(10):
        await _earn(db, customer, 100)
    with at(11):
        await spend_points(
            db,
            customer_id=customer,
            points=150,
            source_ref=None,
            actor=SERVICE,
            clock=system_clock,
            retry=Idempotency("spendPoints"),
        )
    with at(31):  # the first lot was spent in full: nothing to expire
        assert await expire_points(db, clock=system_clock) == 0
        assert await _available(db, customer) == 50
    with at(41):
        assert await expire_points(db, clock=system_clock) == 1
        assert await _available(db, customer) == 0
    assert await verify_ledger(db) == []


async def test_rolling_days_expire_everything_n_days_after_the_last_order(db: Database):
    # given: an order on day 0, an activity on day 20, another order on day 25
    with at(0):
        the_shop = await shop(
            db, system_clock, validity_policy=ValidityPolicy.ROLLING_DAYS, validity_days=30
        )
        customer = the_shop.customer_ids[0]
        await _earn(db, customer, 100, SourceType.ORDER)
    with at(20):
        await _earn(db, customer, 50)
    with at(25):
        await _earn(db, customer, 10, SourceType.ORDER)
    # when / then: day 40 is past the first order's 30 days, but the clock was reset
    with at(40):
        assert await expire_points(db, clock=system_clock) == 0
        assert await _available(db, customer) == 160
    with at(56):
        assert await expire_points(db, clock=system_clock) == 1
        assert await expire_points(db, clock=system_clock) == 0
        assert await _available(db, customer) == 0
    assert await verify_ledger(db) == []


async def _warnings(db: Database) -> list[tuple[int, str]]:
    async with db.read_sessions() as session:
        rows = await session.scalars(
            select(OutboxEventRow)
            .where(OutboxEventRow.kind == "POINTS_EXPIRING")
            .order_by(OutboxEventRow.id)
        )
        return [(row.payload["days_before"], row.payload["expires_on"]) for row in rows]


async def test_warnings_are_written_once_per_step(db: Database):
    # given: 100 points valid 60 days, warnings 30, 14 and 7 days before
    with at(0):
        the_shop = await shop(
            db,
            system_clock,
            validity_policy=ValidityPolicy.FIXED_DAYS,
            validity_days=60,
            expiry_warning_days=(30, 14, 7),
        )
        await _earn(db, the_shop.customer_ids[0], 100)
    # when: the job runs daily (twice on some days)
    for day in range(61):
        with at(day):
            await warn_expiring(db, clock=system_clock)
            if day % 10 == 0:
                await warn_expiring(db, clock=system_clock)
    # then
    assert await _warnings(db) == [(30, "2026-04-30"), (14, "2026-04-30"), (7, "2026-04-30")]


async def test_a_late_job_sends_only_the_nearest_warning(db: Database):
    with at(0):
        the_shop = await shop(
            db,
            system_clock,
            validity_policy=ValidityPolicy.FIXED_DAYS,
            validity_days=60,
            expiry_warning_days=(60, 30, 14, 7),
        )
        await _earn(db, the_shop.customer_ids[0], 100)
    with at(55):
        assert await warn_expiring(db, clock=system_clock) == 1
    assert await _warnings(db) == [(7, "2026-04-30")]


async def test_rolling_warnings_follow_the_last_order(db: Database):
    with at(0):
        the_shop = await shop(
            db,
            system_clock,
            validity_policy=ValidityPolicy.ROLLING_DAYS,
            validity_days=30,
            expiry_warning_days=(7,),
        )
        await _earn(db, the_shop.customer_ids[0], 100, SourceType.ORDER)
    with at(24):
        assert await warn_expiring(db, clock=system_clock) == 1
        assert await warn_expiring(db, clock=system_clock) == 0
    assert await _warnings(db) == [(7, "2026-03-31")]


async def test_a_daily_job_before_the_hour_points_were_earned_warns_on_the_due_day(db: Database):
    # given: 100 points earned at 09:00 UTC on 1 March, valid 60 days (through 30 April),
    # warned 7 days before: on 23 April
    with at(0):
        the_shop = await shop(
            db,
            system_clock,
            validity_policy=ValidityPolicy.FIXED_DAYS,
            validity_days=60,
            expiry_warning_days=(7,),
        )
        await _earn(db, the_shop.customer_ids[0], 100)
    # when: the job runs daily at 06:00, before the hour the points were earned
    written = {}
    for day in range(61):
        with at(day - 0.125):
            if count := await warn_expiring(db, clock=system_clock):
                written[(T0 + timedelta(days=day - 0.125)).date().isoformat()] = count
    # then: the warning is written on 23 April, not a day late
    assert written == {"2026-04-23": 1}
    assert await _warnings(db) == [(7, "2026-04-30")]
