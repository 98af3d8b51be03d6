"""Reversals give back exactly the lots a spend used, with their dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import PointLotRow
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.points import SourceType
from loyalty_gql.domain.sites import ValidityPolicy
from loyalty_gql.services.core.idempotency import Idempotency
from loyalty_gql.services.points import earn_points, reverse_entry, spend_points
from loyalty_gql.services.points.verify import verify_ledger
from tests.integration.ledger_helpers import SERVICE, shop
from tests.support.clock import Clock

START = datetime(2026, 2, 1, 10, tzinfo=UTC)


async def _lots(db: Database, customer_id: int) -> list[tuple[int, int, datetime | None]]:
    async with db.read_sessions() as session:
        rows = await session.scalars(
            select(PointLotRow)
            .where(PointLotRow.customer_id == customer_id)
            .order_by(PointLotRow.id)
        )
        return [(row.points, row.remaining, row.expires_at) for row in rows]


def _valid_through(earned: datetime, days: int) -> datetime:
    """When points earned at ``earned`` with ``days`` of validity expire on a UTC site: the
    end (midnight) of their last valid calendar day."""
    last_day = (earned + timedelta(days=days)).date()
    return datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


async def _earn(db: Database, clock: Clock, customer: int, points: int):
    return await earn_points(
        db, customer_id=customer, points=points, pending=False, source=SourceType.ORDER,
        source_ref=None, actor=SERVICE, clock=clock, retry=Idempotency("earnPoints"),
    )  # fmt: skip


async def test_a_reversed_spend_gives_back_the_same_lots_with_their_dates(db: Database):
    # given: two lots expiring 30 days apart, and a spend that used all of one and half of the other
    clock = Clock(START)
    the_shop = await shop(db, clock, validity_policy=ValidityPolicy.FIXED_DAYS, validity_days=30)
    customer = the_shop.customer_ids[0]
    await _earn(db, clock, customer, 100)
    first_expiry = _valid_through(clock.now, 30)
    clock.now += timedelta(days=10)
    await _earn(db, clock, customer, 100)
    second_expiry = _valid_through(clock.now, 30)
    clock.now += timedelta(days=1)
    spend = await spend_points(
        db,
        customer_id=customer,
        points=150,
        source_ref="order-1",
        actor=SERVICE,
        clock=clock,
        retry=Idempotency("spendPoints"),
    )
    assert await _lots(db, customer) == [(100, 0, first_expiry), (100, 50, second_expiry)]
    # when: 30 points come back, then the rest
    clock.now += timedelta(days=1)
    await reverse_entry(
        db,
        entry_id=spend.id,
        points=30,
        reason="partial refund",
        actor=SERVICE,
        clock=clock,
        retry=Idempotency("reverseEntry"),
    )
    partly = await _lots(db, customer)
    await reverse_entry(
        db,
        entry_id=spend.id,
        points=None,
        reason="cancelled",
        actor=SERVICE,
        clock=clock,
        retry=Idempotency("reverseEntry"),
    )
    # then: the lot used last is refilled first, and in the end both are whole again
    assert partly == [(100, 0, first_expiry), (100, 80, second_expiry)]
    assert await _lots(db, customer) == [(100, 100, first_expiry), (100, 100, second_expiry)]
    assert await verify_ledger(db) == []


async def test_nothing_can_be_reversed_twice(db: Database):
    clock = Clock(START)
    the_shop = await shop(db, clock)
    customer = the_shop.customer_ids[0]
    earned = await _earn(db, clock, customer, 100)
    await reverse_entry(
        db,
        entry_id=earned.id,
        points=60,
        reason=None,
        actor=SERVICE,
        clock=clock,
        retry=Idempotency("reverseEntry"),
    )
    refusals = []
    for points in (41, None, None):
        try:
            await reverse_entry(
                db,
                entry_id=earned.id,
                points=points,
                reason=None,
                actor=SERVICE,
                clock=clock,
                retry=Idempotency("reverseEntry"),
            )
        except DomainError as error:
            refusals.append(error.problems[0].code)
    assert refusals == [ErrorCode.INVALID_VALUE, ErrorCode.ALREADY_REVERSED]
    assert await _lots(db, customer) == [(100, 0, None)]
    assert await verify_ledger(db) == []
