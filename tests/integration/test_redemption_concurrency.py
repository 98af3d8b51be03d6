"""Usage limits hold whatever the concurrency: nobody pays for a voucher they don't get."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import OfferRow, PointAccountRow, VoucherRow
from loyalty_gql.domain.errors import DomainError
from loyalty_gql.domain.offers import OfferKind, OfferTerms, OfferValueType
from loyalty_gql.services.core.idempotency import Idempotency
from loyalty_gql.services.offers import catalog as offers
from loyalty_gql.services.offers.redemptions import redeem_offer
from loyalty_gql.services.points import grant_points
from loyalty_gql.services.points.verify import verify_ledger
from tests.integration.ledger_helpers import ADMIN, SERVICE, shop
from tests.support.clock import Clock

pytestmark = pytest.mark.concurrency


NOW = datetime(2026, 4, 1, 12, tzinfo=UTC)


async def _reward(
    db: Database,
    site_id: int,
    *,
    max_uses: int | None = None,
    max_uses_per_customer: int | None = None,
) -> int:
    clock = Clock(NOW)
    terms = OfferTerms(
        kind=OfferKind.REWARD, name="Tote bag", value_type=OfferValueType.FIXED_AMOUNT,
        value=Decimal(5), loyalty_price=100, max_uses=max_uses,
        max_uses_per_customer=max_uses_per_customer,
    )  # fmt: skip
    row = await offers.create_offer(db, site_id=site_id, terms=terms, actor=ADMIN, clock=clock)
    await offers.change_status(db, offer_id=row.id, action="publish", actor=ADMIN, clock=clock)
    return row.id


async def _redeem(db: Database, customer_id: int, offer_id: int) -> str:
    try:
        await redeem_offer(
            db, customer_id=customer_id, offer_id=offer_id, actor=SERVICE, clock=Clock(NOW),
            retry=Idempotency("redeemOffer"),
        )  # fmt: skip
    except DomainError as error:
        return error.problems[0].code.value
    return "OK"


async def _count(db: Database, query) -> int:
    async with db.read_sessions() as session:
        return int(await session.scalar(query) or 0)


async def test_an_offer_limited_to_10_uses_is_redeemed_exactly_10_times_by_50(db: Database):
    # given: 50 customers with 300 points each, and a reward limited to 10 uses
    the_shop = await shop(db, Clock(NOW), customers_count=50)
    for customer in the_shop.customer_ids:
        await grant_points(
            db,
            customer_id=customer,
            points=300,
            reason="test",
            actor=ADMIN,
            clock=Clock(NOW),
            retry=Idempotency("grantPoints"),
        )
    offer_id = await _reward(db, the_shop.site_id, max_uses=10)
    # when: all 50 buy at once
    outcomes = await asyncio.gather(*(_redeem(db, c, offer_id) for c in the_shop.customer_ids))
    # then: 10 vouchers, 10 spends, the counter at its limit
    assert outcomes.count("OK") == 10
    assert outcomes.count("USAGE_LIMIT_REACHED") == 40
    assert await _count(db, select(func.count()).select_from(VoucherRow)) == 10
    assert await _count(db, select(OfferRow.uses).where(OfferRow.id == offer_id)) == 10
    balances = await _count(db, select(func.sum(PointAccountRow.available)))
    assert balances == 50 * 300 - 10 * 100
    assert await verify_ledger(db) == []


async def test_the_per_customer_limit_holds_under_concurrency(db: Database):
    # given: one customer with points for 10, and an offer of at most 2 per customer
    the_shop = await shop(db, Clock(NOW))
    customer = the_shop.customer_ids[0]
    await grant_points(
        db,
        customer_id=customer,
        points=1000,
        reason="t",
        actor=ADMIN,
        clock=Clock(NOW),
        retry=Idempotency("grantPoints"),
    )
    offer_id = await _reward(db, the_shop.site_id, max_uses_per_customer=2)
    # when
    outcomes = await asyncio.gather(*(_redeem(db, customer, offer_id) for _ in range(10)))
    # then
    assert outcomes.count("OK") == 2
    assert outcomes.count("CUSTOMER_LIMIT_REACHED") == 8
    assert (
        await _count(
            db, select(PointAccountRow.available).where(PointAccountRow.customer_id == customer)
        )
        == 1000 - 2 * 100
    )
    assert await verify_ledger(db) == []
