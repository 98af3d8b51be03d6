"""Migration 0020 marks every outbox event written before it as dispatched to e-mail
and push: switching e-mail on afterwards mails nobody about their past."""

from __future__ import annotations

from sqlalchemy import select

from loyalty_gql.db.engine import Database
from loyalty_gql.db.migrate import downgrade, upgrade
from loyalty_gql.db.models import ChannelDeliveryRow, OutboxEventRow
from loyalty_gql.services import channels
from loyalty_gql.services.core.idempotency import Idempotency
from loyalty_gql.services.core.uow import UnitOfWork
from tests.conftest import DatabaseBackend
from tests.integration.ledger_helpers import shop
from tests.support.clock import Clock


async def test_events_before_the_migration_are_not_mailed(
    db: Database, backend: DatabaseBackend, clock: Clock
) -> None:
    # given: events written, then the database taken back before 0020
    the_shop = await shop(db, clock, code="shop-m", customers_count=2)
    async with UnitOfWork(db) as uow:
        uow.session.add_all(
            OutboxEventRow(site_id=the_shop.site_id, customer_id=customer_id,
                           kind="REWARD_EARNED", dedupe_key=f"old:{customer_id}",
                           payload={"voucher_code": "OLD"}, created_at=clock.now)
            for customer_id in the_shop.customer_ids
        )  # fmt: skip
        await uow.commit()
    await db.engine.dispose()
    try:
        await downgrade(backend.url, "0019")
    finally:
        # when: migrated to the head again, and the shop switches e-mail on
        await upgrade(backend.url)
        await db.engine.dispose()
    await channels.update_channel_settings(
        db, site_id=the_shop.site_id, changes=channels.ChannelChanges(email_enabled=True),
        new_vapid_key=None, clock=clock, retry=Idempotency("updateChannelSettings"),
    )  # fmt: skip
    # then
    async with db.read_sessions() as session:
        events = list(await session.scalars(select(OutboxEventRow)))
    assert events
    assert all(event.channels_dispatched_at == event.created_at for event in events)
    assert await channels.dispatch(db, clock=clock, config=channels.ChannelConfig()) == 0
    async with db.read_sessions() as session:
        assert list(await session.scalars(select(ChannelDeliveryRow))) == []
