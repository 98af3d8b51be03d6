"""The per-referrer monthly cap holds when friends register at the same moment."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import CustomerRow, ReferralRow
from loyalty_gql.domain.customers import CustomerProfile
from loyalty_gql.domain.errors import DomainError
from loyalty_gql.services import referrals
from loyalty_gql.services.core.idempotency import Idempotency
from tests.integration.ledger_helpers import SERVICE, shop
from tests.support.clock import Clock

pytestmark = pytest.mark.concurrency

FRIENDS = 12
CAP = 3


async def _register(db: Database, site_id: int, external_id: str, code: str) -> str:
    try:
        await referrals.register_customer(
            db, site_id=site_id, profile=CustomerProfile(external_id), enroll=True,
            referral_code=code, actor=SERVICE, clock=Clock(),
            retry=Idempotency("registerCustomer"),
        )  # fmt: skip
    except DomainError as error:
        return error.problems[0].code.value
    return "OK"


async def test_friends_registering_at_once_never_pass_the_referrers_cap(db: Database) -> None:
    # given: a referrer with a cap of 3 friends a month
    the_shop = await shop(db, Clock(), customers_count=1, referral_monthly_cap=CAP)
    async with db.read_sessions() as session:
        referrer = await session.get(CustomerRow, the_shop.customer_ids[0])
        assert referrer is not None
        code = referrer.referral_code
    # when: 12 friends register with the code at the same moment
    outcomes = await asyncio.gather(
        *(_register(db, the_shop.site_id, f"friend-{n}", code) for n in range(FRIENDS))
    )
    # then: exactly 3 linked and registered; the others refused and not written
    assert sorted(outcomes) == ["OK"] * CAP + ["REFERRAL_CAP_REACHED"] * (FRIENDS - CAP)
    async with db.read_sessions() as session:
        links = await session.scalar(select(func.count()).select_from(ReferralRow))
        customers = await session.scalar(select(func.count()).select_from(CustomerRow))
    assert links == CAP
    assert customers == 1 + CAP


async def test_without_a_cap_every_friend_registering_at_once_is_linked(db: Database) -> None:
    the_shop = await shop(db, Clock(), customers_count=1)
    async with db.read_sessions() as session:
        referrer = await session.get(CustomerRow, the_shop.customer_ids[0])
        assert referrer is not None
        code = referrer.referral_code
    outcomes = await asyncio.gather(
        *(_register(db, the_shop.site_id, f"friend-{n}", code) for n in range(FRIENDS))
    )
    assert outcomes == ["OK"] * FRIENDS
    async with db.read_sessions() as session:
        links = await session.scalar(select(func.count()).select_from(ReferralRow))
    assert links == FRIENDS


async def test_one_friend_registering_twice_at_once_with_two_codes_has_one_referrer(
    db: Database,
) -> None:
    # given: two referrers
    the_shop = await shop(db, Clock(), customers_count=2)
    async with db.read_sessions() as session:
        rows = [await session.get(CustomerRow, c) for c in the_shop.customer_ids]
        codes = [row.referral_code for row in rows if row is not None]
    # when: the same new customer is registered with each code at the same moment
    outcomes = await asyncio.gather(
        *(_register(db, the_shop.site_id, "bob", code) for code in codes)
    )
    # then: one registration links bob, the other finds him referred
    assert sorted(outcomes) == ["ALREADY_REFERRED", "OK"]
    async with db.read_sessions() as session:
        links = await session.scalar(select(func.count()).select_from(ReferralRow))
    assert links == 1
