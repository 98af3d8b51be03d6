"""Ledger edge cases that could lose a point or spend one twice, each once a bug."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import LedgerEntryRow, PointAccountRow, VoucherRow
from loyalty_gql.domain.errors import DomainError
from loyalty_gql.domain.points import SourceType
from loyalty_gql.domain.sites import CustomActivity, ThresholdReward, ValidityPolicy
from loyalty_gql.services import points
from loyalty_gql.services.core.idempotency import Idempotency
from loyalty_gql.services.points.expiry import expire_points
from loyalty_gql.services.points.verify import verify_ledger
from tests.integration.ledger_helpers import ADMIN, SERVICE, shop
from tests.support.clock import Clock

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def _available(db: Database, customer_id: int) -> int:
    async with db.read_sessions() as session:
        account = await session.get(PointAccountRow, customer_id)
        return account.available if account else 0


async def _earn(db, clock, customer, n, *, pending=False, source=SourceType.ACTIVITY, key=None):
    return await points.earn_points(
        db, customer_id=customer, points=n, pending=pending, source=source, source_ref=None,
        actor=SERVICE, clock=clock, retry=Idempotency("earnPoints", key),
    )  # fmt: skip


async def _spend(db, clock, customer, n):
    return await points.spend_points(
        db,
        customer_id=customer,
        points=n,
        source_ref=None,
        actor=SERVICE,
        clock=clock,
        retry=Idempotency("spendPoints"),
    )


async def _reverse(db, clock, entry_id, n=None):
    return await points.reverse_entry(
        db,
        entry_id=entry_id,
        points=n,
        reason="refund",
        actor=SERVICE,
        clock=clock,
        retry=Idempotency("reverseEntry"),
    )


# -- 1. reversing a threshold-reward spend: points come back, the voucher stays ------------


async def test_reversing_a_threshold_reward_spend_does_not_leave_two_vouchers(db: Database):
    clock = Clock(T0)
    the_shop = await shop(db, clock, threshold_reward=ThresholdReward(enabled=True, points=500))
    customer = the_shop.customer_ids[0]
    await _earn(db, clock, customer, 500)  # converted at once into a voucher
    async with db.read_sessions() as session:
        reward = await session.scalar(
            select(LedgerEntryRow).where(LedgerEntryRow.source_type == "THRESHOLD_REWARD")
        )
    assert reward is not None
    # when: that REDEEMED entry is reversed (refund, support correction...)
    await _reverse(db, clock, reward.id)
    # then: 500 points bought at most one live voucher
    async with db.read_sessions() as session:
        active = await session.scalar(select(func.count()).where(VoucherRow.status == "ACTIVE"))
    # the voucher is cancelled with its points returned, and none is issued anew
    assert active == 0, f"{active} active vouchers for one 500-point threshold"
    assert await _available(db, customer) == 500
    assert await verify_ledger(db) == []


# -- 2. reversing an earning, then refunding the spend that used its lot ------------------


async def test_refunding_a_spend_after_reversing_the_earning_keeps_the_other_lots_expiry(
    db: Database,
):
    clock = Clock(T0)
    the_shop = await shop(db, clock, validity_policy=ValidityPolicy.FIXED_DAYS, validity_days=30)
    customer = the_shop.customer_ids[0]
    e1 = await _earn(db, clock.day(0), customer, 100)  # lot 1 expires day 30
    await _earn(db, clock.day(25), customer, 100)  # lot 2 expires day 55
    spend = await _spend(db, clock.day(26), customer, 100)  # takes lot 1 (soonest)
    # order 1 is refunded: its 100 were spent, so they come from lot 2
    await _reverse(db, clock.day(27), e1.id)
    assert await _available(db, customer) == 0
    # order 2 (paid with the points) is cancelled: the spend is refunded
    await _reverse(db, clock.day(28), spend.id)
    assert await _available(db, customer) == 100  # what is left is earning 2's 100
    # when: day 31 - earning 1 was void anyway; earning 2 is valid until day 55
    await expire_points(db, clock=clock.day(31))
    # then: the customer still has earning 2's 100 points
    assert await _available(db, customer) == 100
    assert await verify_ledger(db) == []


# -- 3. daily cap is checked before the account lock (PostgreSQL) -------------------------


@pytest.mark.concurrency
async def test_concurrent_capped_activities_respect_the_daily_cap(db: Database, backend):
    clock = Clock(T0)
    the_shop = await shop(
        db, clock,
        custom_activities=(CustomActivity(code="APP_LOGIN", name="Login", points=5, daily_cap=1),),
    )  # fmt: skip
    customer = the_shop.customer_ids[0]

    async def one() -> str:
        try:
            await points.record_activity(
                db, customer_id=customer, activity="APP_LOGIN", reference=None,
                referred_customer_id=None, actor=SERVICE, clock=clock,
                retry=Idempotency("recordActivity"),
            )  # fmt: skip
        except DomainError as error:
            return error.problems[0].code.value
        return "OK"

    outcomes = await asyncio.gather(*(one() for _ in range(10)))
    assert outcomes.count("OK") == 1, outcomes


# -- 4. long idempotency keys + threshold: derived keys overflow the 250-char columns ------


async def test_a_long_idempotency_key_on_an_activity_crossing_the_threshold(db: Database):
    clock = Clock(T0)
    code = "A" * 38
    the_shop = await shop(
        db, clock,
        threshold_reward=ThresholdReward(enabled=True, points=100),
        custom_activities=(CustomActivity(code=code, name="Long", points=100),),
    )  # fmt: skip
    customer = the_shop.customer_ids[0]
    entry = await points.record_activity(
        db, customer_id=customer, activity=code, reference=None, referred_customer_id=None,
        actor=SERVICE, clock=clock, retry=Idempotency("recordActivity", "k" * 200),
    )  # fmt: skip
    assert entry is not None
    async with db.read_sessions() as session:
        keys = list(await session.scalars(select(LedgerEntryRow.idempotency_key)))
    assert all(len(k) <= 250 for k in keys), [len(k) for k in keys]


# -- 5. pending points activated after a rolling expiry date ------------------------------


async def test_rolling_days_points_activated_late_are_not_expired_at_once(db: Database):
    clock = Clock(T0)
    the_shop = await shop(db, clock, validity_policy=ValidityPolicy.ROLLING_DAYS, validity_days=30)
    customer = the_shop.customer_ids[0]
    pending = await _earn(db, clock.day(0), customer, 100, pending=True, source=SourceType.ORDER)
    # the order completes late (day 35, e.g. a long return window)
    await points.activate_points(
        db,
        entry_id=pending.id,
        actor=SERVICE,
        clock=clock.day(35),
        retry=Idempotency("activatePoints"),
    )
    assert await _available(db, customer) == 100
    await expire_points(db, clock=clock.day(35.01))
    assert await _available(db, customer) == 100


# -- 6. verify misses a per-entry inconsistency (movements moved between entries) ----------


async def test_verify_notices_movements_that_do_not_match_their_entry(db: Database):
    from sqlalchemy import update

    from loyalty_gql.db.models import LotMovementRow

    clock = Clock(T0)
    the_shop = await shop(db, clock)
    customer = the_shop.customer_ids[0]
    await _earn(db, clock, customer, 200)
    s1 = await _spend(db, clock, customer, 100)
    s2 = await _spend(db, clock, customer, 50)
    # corrupt: S1's movement says -60, S2's says -90 (every per-lot and per-account sum holds)
    async with db.write_sessions() as session, session.begin():
        await session.execute(
            update(LotMovementRow).where(LotMovementRow.entry_id == s1.id).values(points=-60)
        )
        await session.execute(
            update(LotMovementRow).where(LotMovementRow.entry_id == s2.id).values(points=-90)
        )
    differences = await verify_ledger(db)
    # S1 can no longer be refunded in full ("the entry took only 60"), yet verify says all is well
    assert differences != [], "verify found nothing"


# -- sanity (expected to pass): concurrent reversals/activations of one entry ---------------


@pytest.mark.concurrency
async def test_concurrent_partial_reversals_never_sum_past_the_original(db: Database):
    clock = Clock(T0)
    the_shop = await shop(db, clock)
    customer = the_shop.customer_ids[0]
    await points.grant_points(
        db,
        customer_id=customer,
        points=1000,
        reason="x",
        actor=ADMIN,
        clock=clock,
        retry=Idempotency("grantPoints"),
    )
    e1 = await _earn(db, clock, customer, 100)

    async def one() -> str:
        try:
            await _reverse(db, clock, e1.id, 30)
        except DomainError as error:
            return error.problems[0].code.value
        return "OK"

    outcomes = await asyncio.gather(*(one() for _ in range(8)))
    assert outcomes.count("OK") == 3, outcomes
    assert await _available(db, customer) == 1010
    assert await verify_ledger(db) == []


@pytest.mark.concurrency
async def test_concurrent_activations_activate_once(db: Database):
    clock = Clock(T0)
    the_shop = await shop(db, clock)
    customer = the_shop.customer_ids[0]
    pending = await _earn(db, clock, customer, 100, pending=True)

    async def one(n: int) -> str:
        try:
            await points.activate_points(
                db,
                entry_id=pending.id,
                actor=SERVICE,
                clock=clock,
                retry=Idempotency("activatePoints", f"k{n}"),
            )
        except DomainError as error:
            return error.problems[0].code.value
        return "OK"

    outcomes = await asyncio.gather(*(one(n) for n in range(8)))
    assert outcomes.count("OK") == 1, outcomes
    assert await _available(db, customer) == 100
    assert await verify_ledger(db) == []


# -- 7. a reversal lowers the windowed tier measure on the reversal's day, not the earning's -


async def test_reversing_an_old_earning_does_not_lower_this_months_points(db: Database):
    from loyalty_gql.domain.tiers import TierMetric
    from loyalty_gql.services.tiers import TierTerms, create_tier, review_tiers

    clock = Clock(T0)
    the_shop = await shop(db, clock)
    customer = the_shop.customer_ids[0]
    gold = TierTerms(
        name="Gold",
        rank=1,
        metric=TierMetric.POINTS_EARNED,
        threshold=100,
        window_months=1,
        earn_multiplier=Decimal(1),
    )
    await create_tier(
        db, site_id=the_shop.site_id, terms=gold, actor=ADMIN, clock=clock,
        retry=Idempotency("createTier"),
    )  # fmt: skip
    old = await _earn(db, clock.day(0), customer, 100)  # earned 40 days before the review
    await _earn(db, clock.day(40), customer, 100)  # earned this month: Gold
    await _reverse(db, clock.day(41), old.id)  # the old order is refunded
    await review_tiers(db, clock=clock.day(42))
    async with db.read_sessions() as session:
        account = await session.get(PointAccountRow, customer)
    # this month the customer earned 100 that still stand: still Gold
    assert account is not None
    assert account.tier_id is not None


def test_ledger_keys_of_different_parts_never_collide():
    from loyalty_gql.services.points.ledger import ledger_key

    assert ledger_key("activity", "REVIEW", 1, "P1:threshold:0") != ledger_key(
        "threshold", ledger_key("activity", "REVIEW", 1, "P1"), 0
    )
    assert ledger_key("a", "b:c") != ledger_key("a:b", "c")
    assert len(ledger_key("activity", "X" * 40, 1, "k" * 200)) <= 200
