"""Referrals: recorded as an activity, rewarded once when the friend's first order completes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import CustomerRow, LedgerEntryRow, PointAccountRow, SiteRow
from loyalty_gql.domain.sites import ProgramChanges
from loyalty_gql.services import customers, sites
from loyalty_gql.services.core.idempotency import Idempotency
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.points import record_activity, reward_referral
from loyalty_gql.services.points.verify import verify_ledger
from tests.integration.ledger_helpers import ADMIN, SERVICE, shop
from tests.support.clock import Clock

REFERRAL_POINTS = 300


async def _refer(db: Database, clock: Clock, referrer_id: int, referred_id: int) -> None:
    await record_activity(
        db,
        customer_id=referrer_id,
        activity="REFERRAL",
        reference=None,
        referred_customer_id=referred_id,
        actor=SERVICE,
        clock=clock,
        retry=Idempotency("recordActivity"),
    )


async def _first_order_completes(
    db: Database, clock: Clock, referred_id: int
) -> tuple[int, int, str | None, str | None, str] | None:
    """What order recording does: reward the referrer; returns (customer, points, code,
    reference, actor) of the entry written, if any."""
    async with UnitOfWork(db) as uow:
        referred = await uow.session.get(CustomerRow, referred_id)
        assert referred is not None
        site = await uow.session.get(SiteRow, referred.site_id)
        assert site is not None
        entry = await reward_referral(uow, referred, site, clock(), "order-1")
        await uow.commit()
    if entry is None:
        return None
    return (entry.customer_id, entry.points, entry.activity_code, entry.source_ref, entry.actor)


async def _entries(db: Database) -> list[tuple[int, str, int]]:
    async with db.read_sessions() as session:
        rows = await session.scalars(select(LedgerEntryRow).order_by(LedgerEntryRow.id))
        return [(row.customer_id, row.kind, row.points) for row in rows]


async def _available(db: Database, customer_id: int) -> int:
    async with db.read_sessions() as session:
        account = await session.get(PointAccountRow, customer_id)
        return account.available if account else 0


async def test_the_referrer_earns_the_referral_points_once(db: Database, clock: Clock):
    # given: c-0 referred c-1
    the_shop = await shop(db, clock, customers_count=2, referral_points=REFERRAL_POINTS)
    referrer, referred = the_shop.customer_ids
    await _refer(db, clock, referrer, referred)
    assert await _entries(db) == []
    # when
    clock.now += timedelta(days=3)
    first = await _first_order_completes(db, clock, referred)
    second = await _first_order_completes(db, clock, referred)
    # then
    assert first == (referrer, REFERRAL_POINTS, "REFERRAL", "c-1", "system:referral")
    assert second is None
    assert await _entries(db) == [(referrer, "EARNED", REFERRAL_POINTS)]
    assert await _available(db, referrer) == REFERRAL_POINTS
    assert await _available(db, referred) == 0
    assert await verify_ledger(db) == []


async def test_an_order_of_a_customer_nobody_referred_rewards_no_one(db: Database, clock: Clock):
    the_shop = await shop(db, clock, customers_count=2, referral_points=REFERRAL_POINTS)
    assert await _first_order_completes(db, clock, the_shop.customer_ids[1]) is None
    assert await _entries(db) == []
    assert await verify_ledger(db) == []


async def test_each_referred_friend_rewards_the_referrer_once(db: Database, clock: Clock):
    # given: c-0 referred c-1 and c-2
    the_shop = await shop(db, clock, customers_count=3, referral_points=REFERRAL_POINTS)
    referrer, ann, bob = the_shop.customer_ids
    await _refer(db, clock, referrer, ann)
    await _refer(db, clock, referrer, bob)
    # when
    await _first_order_completes(db, clock, ann)
    await _first_order_completes(db, clock, bob)
    await _first_order_completes(db, clock, ann)
    # then
    assert await _available(db, referrer) == 2 * REFERRAL_POINTS
    assert await verify_ledger(db) == []


async def test_no_reward_while_the_program_is_switched_off(db: Database, clock: Clock):
    # given
    the_shop = await shop(db, clock, customers_count=2, referral_points=REFERRAL_POINTS)
    referrer, referred = the_shop.customer_ids
    await _refer(db, clock, referrer, referred)
    await sites.configure_program(
        db,
        site_id=the_shop.site_id,
        changes=ProgramChanges(enabled=False),
        actor=ADMIN,
        clock=clock,
    )
    # when
    rewarded = await _first_order_completes(db, clock, referred)
    # then
    assert rewarded is None
    assert await _entries(db) == []


async def test_no_reward_for_a_referrer_who_left_the_program(db: Database, clock: Clock):
    # given
    the_shop = await shop(db, clock, customers_count=2, referral_points=REFERRAL_POINTS)
    referrer, referred = the_shop.customer_ids
    await _refer(db, clock, referrer, referred)
    await customers.leave_program(db, customer_id=referrer, actor=SERVICE, clock=clock)
    # when
    rewarded = await _first_order_completes(db, clock, referred)
    # then
    assert rewarded is None
    assert await _entries(db) == []
    assert await verify_ledger(db) == []
