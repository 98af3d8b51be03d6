"""Migration 0016 gives every existing customer a referral code, unique per site."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from loyalty_gql.db.engine import Database
from loyalty_gql.db.migrate import downgrade, upgrade
from loyalty_gql.db.models import CustomerRow
from loyalty_gql.domain.referrals import is_referral_code
from tests.conftest import DatabaseBackend
from tests.integration.ledger_helpers import shop
from tests.support.clock import Clock


async def test_customers_registered_before_the_migration_get_codes(
    db: Database, backend: DatabaseBackend
) -> None:
    # given: customers of two sites, then the database taken back before 0016
    clock = Clock(datetime(2026, 6, 1, tzinfo=UTC))
    await shop(db, clock, code="shop-a", customers_count=3)
    await shop(db, clock, code="shop-b", customers_count=2)
    await db.engine.dispose()
    try:
        await downgrade(backend.url, "0016")  # later migrations first, then 0016 itself
        await downgrade(backend.url, "-1")
    finally:
        # when: migrated to the head again
        await upgrade(backend.url)
        await db.engine.dispose()
    # then
    async with db.read_sessions() as session:
        rows = list(await session.scalars(select(CustomerRow).order_by(CustomerRow.id)))
    assert len(rows) == 5
    assert all(is_referral_code(row.referral_code) for row in rows)
    assert len({(row.site_id, row.referral_code) for row in rows}) == 5
