"""The hot writes sent straight through the driver (db/direct.py) write what the session
would, in its transaction, fail as it would, and are still counted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import delete, event, select, update
from sqlalchemy.exc import IntegrityError

from loyalty_gql.db import direct
from loyalty_gql.db.engine import Database
from loyalty_gql.db.errors import is_retryable
from loyalty_gql.db.models import (
    CustomerDayRow,
    CustomerRow,
    OutboxEventRow,
    PointAccountRow,
    SiteRow,
)
from loyalty_gql.db.repositories.orders import site_and_customer
from loyalty_gql.db.repositories.points.ledger import add_event_once, add_to_customer_day
from loyalty_gql.db.rows import StaleRowError, flush
from loyalty_gql.db.versions import STATEMENT_LISTENERS, scoped
from loyalty_gql.services.core.uow import UnitOfWork
from tests.integration.ledger_helpers import shop
from tests.support.clock import Clock

MOMENT = datetime(2026, 5, 17, 22, 45, 12, 345678, tzinfo=UTC)
PAYLOAD: dict[str, Any] = {
    "order": "ord-ü-1",
    "lines": [{"sku": "a", "quantity": 3}],
    "big": 2**62,
    "empty": {},
    "flag": None,
}


@pytest.fixture(params=[True, False], ids=["driver", "session"])
def path(request: pytest.FixtureRequest) -> Iterator[bool]:
    """Statements through the driver (as served) or through the session (as traced)."""
    direct.ENABLED[0] = request.param
    yield request.param
    direct.ENABLED[0] = True


async def _write_event(db: Database, site_id: int, customer_id: int, key: str) -> bool:
    async with UnitOfWork(db) as uow:
        written = await add_event_once(
            uow.session, site_id=site_id, customer_id=customer_id, kind="ORDER_RECORDED",
            dedupe_key=key, payload=PAYLOAD, now=MOMENT,
        )  # fmt: skip
        await uow.commit()
    return written


async def test_the_rows_read_back_as_the_session_would_have_written_them(
    db: Database, clock: Clock, path: bool
):
    # given a customer
    site = await shop(db, clock)
    customer = site.customer_ids[0]
    # when an event and two changes of one day are written
    assert await _write_event(db, site.site_id, customer, "k-1") is True
    assert await _write_event(db, site.site_id, customer, "k-1") is False  # once per key
    for earned in (40, 2):
        async with UnitOfWork(db) as uow:
            await add_to_customer_day(
                uow.session, site_id=site.site_id, customer_id=customer,
                day=date(2026, 5, 17), points_earned=earned, orders=1,
            )  # fmt: skip
            await uow.commit()
    # then the ORM reads back exactly what was given, types and all
    async with db.read_sessions() as session:
        events = (await session.scalars(select(OutboxEventRow))).all()
        days = (await session.scalars(select(CustomerDayRow))).all()
    assert [(e.kind, e.dedupe_key, e.payload, e.created_at) for e in events] == [
        ("ORDER_RECORDED", "k-1", PAYLOAD, MOMENT)
    ]
    assert [(d.day, d.points_earned, d.orders, d.spent_minor) for d in days] == [
        (date(2026, 5, 17), 42, 2, 0)
    ]


async def test_a_direct_write_is_part_of_the_transaction(db: Database, clock: Clock, path: bool):
    # given a customer
    site = await shop(db, clock)
    customer = site.customer_ids[0]
    # when the event is the first statement of a transaction that then rolls back
    async with UnitOfWork(db) as uow:
        await add_event_once(
            uow.session, site_id=site.site_id, customer_id=customer, kind="ORDER_RECORDED",
            dedupe_key="gone", payload=PAYLOAD, now=MOMENT,
        )  # fmt: skip
        await uow.session.rollback()
    # then nothing of it is left, and the next transaction's event is there alone
    assert await _write_event(db, site.site_id, customer, "kept") is True
    async with db.read_sessions() as session:
        keys = (await session.scalars(select(OutboxEventRow.dedupe_key))).all()
    assert keys == ["kept"]


async def test_a_refused_direct_write_raises_what_the_session_would(
    db: Database, clock: Clock, path: bool
):
    # given a customer
    site = await shop(db, clock)
    # when an event names a site that does not exist
    async with UnitOfWork(db) as uow:
        with pytest.raises(IntegrityError) as refused:
            await add_event_once(
                uow.session, site_id=site.site_id + 999, customer_id=None, kind="X",
                dedupe_key="k", payload={}, now=MOMENT,
            )  # fmt: skip
        await uow.session.rollback()
    # then it is the error retries and refusals know (a race on a key is retried)
    assert is_retryable(refused.value)
    # and the database takes the next write as usual
    assert await _write_event(db, site.site_id, site.customer_ids[0], "after") is True


async def test_direct_statements_bypass_the_engine_and_are_still_counted(
    db: Database, clock: Clock
):
    # given a customer, and listeners on the engines and on the direct statements
    site = await shop(db, clock)
    through_engine: list[str] = []
    announced: list[str] = []

    def engine_statement(*args: Any) -> None:
        through_engine.append(args[2])

    for engine in db.engines:
        event.listen(engine.sync_engine, "before_cursor_execute", engine_statement)
    STATEMENT_LISTENERS.append(announced.append)
    try:
        # when an event is written, and a change of the customer's day (which bumps
        # the customer's read version at commit)
        await _write_event(db, site.site_id, site.customer_ids[0], "k")
        async with UnitOfWork(db) as uow:
            await add_to_customer_day(
                uow.session, site_id=site.site_id, customer_id=site.customer_ids[0],
                day=date(2026, 5, 17), orders=1,
            )  # fmt: skip
            await uow.commit()
    finally:
        STATEMENT_LISTENERS.remove(announced.append)
        for engine in db.engines:
            event.remove(engine.sync_engine, "before_cursor_execute", engine_statement)
    # then its INSERT and the commit's bump of the read versions went to the driver,
    # not through the engine, and were announced
    for table in ("outbox_events", "UPDATE customers"):
        assert [s for s in announced if table in s], announced
        assert not [s for s in through_engine if table in s], through_engine


async def test_a_write_that_does_not_say_whom_it_changes_is_refused(db: Database):
    # a direct UPDATE of customers without its owners would leave cached answers stale
    unscoped = update(CustomerRow).values(data_version=CustomerRow.data_version + 1)
    async with UnitOfWork(db) as uow:
        with pytest.raises(TypeError, match="scoped"):
            await direct.fetch(uow.session, unscoped, {})


async def test_changed_rows_are_written_by_the_direct_flush_and_left_unchanged(
    db: Database, clock: Clock, path: bool
):
    # given two customers' accounts loaded in one transaction
    site = await shop(db, clock, customers_count=2)
    first, second = site.customer_ids
    await _write_event(db, site.site_id, first, "accounts")  # (the accounts exist)
    async with UnitOfWork(db) as uow:
        for customer in (first, second):
            await uow.session.merge(
                PointAccountRow(customer_id=customer, site_id=site.site_id, updated_at=MOMENT)
            )
        await uow.commit()
    # when both change, one of them twice over (back to where it was), and they flush
    async with UnitOfWork(db) as uow:
        rows = (await uow.session.scalars(select(PointAccountRow))).all()
        by_customer = {row.customer_id: row for row in rows}
        by_customer[first].available = 120
        by_customer[first].last_order_at = MOMENT
        by_customer[second].pending = 5
        by_customer[second].pending = 0
        await flush(uow.session)
        # then nothing is left for SQLAlchemy's flush
        assert not uow.session.dirty
        await uow.commit()
    # and the database holds the new values, types and all
    async with db.read_sessions() as session:
        stored = {
            row.customer_id: (row.available, row.pending, row.last_order_at)
            for row in (await session.scalars(select(PointAccountRow))).all()
        }
    assert stored == {first: (120, 0, MOMENT), second: (0, 0, None)}


async def test_a_changed_row_deleted_meanwhile_is_noticed(db: Database, clock: Clock):
    # given an account loaded, then deleted behind the session's back
    site = await shop(db, clock)
    customer = site.customer_ids[0]
    async with UnitOfWork(db) as uow:
        await uow.session.merge(
            PointAccountRow(customer_id=customer, site_id=site.site_id, updated_at=MOMENT)
        )
        await uow.commit()
    async with UnitOfWork(db) as uow:
        account = await uow.session.get(PointAccountRow, customer)
        assert account is not None
        await uow.session.execute(
            scoped(delete(PointAccountRow))
            .where(PointAccountRow.customer_id == customer)
            .execution_options(synchronize_session=False)
        )
        account.available = 1
        # when it flushes, the UPDATE that matched nothing is an error, not a lost write
        with pytest.raises(StaleRowError):
            await flush(uow.session)


def _columns(row: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__mapper__.column_attrs}


async def test_rows_loaded_through_the_driver_are_the_rows_the_orm_loads(
    db: Database, clock: Clock
):
    # given a site with a customer, loaded by the ORM in a session of its own
    site = await shop(db, clock)
    customer = site.customer_ids[0]
    async with db.read_sessions() as session:
        orm_site = await session.get(SiteRow, site.site_id)
        orm_customer = await session.get(CustomerRow, customer)
        expected = (_columns(orm_site), _columns(orm_customer))
    async with UnitOfWork(db) as uow:
        # when the order's read loads them through the driver
        loaded_site, loaded_customer = await site_and_customer(uow.session, site.site_id, customer)
        # then every column has the ORM's value and type (JSON, times, flags, decimals)
        assert (_columns(loaded_site), _columns(loaded_customer)) == expected
        assert {k: type(v) for k, v in _columns(loaded_site).items()} == {
            k: type(v) for k, v in expected[0].items()
        }
        # and they are the session's rows: found by get, and not changed
        assert await uow.session.get(SiteRow, site.site_id) is loaded_site
        assert not uow.session.dirty
        # and a change to one is flushed like any other
        assert loaded_customer is not None
        loaded_customer.marketing_consent = not loaded_customer.marketing_consent
        await uow.commit()
    async with db.read_sessions() as session:
        stored = await session.get(CustomerRow, customer)
        assert stored is not None
        assert stored.marketing_consent is not expected[1]["marketing_consent"]


async def test_a_missing_row_of_an_outer_join_is_none_and_a_held_row_is_reused(
    db: Database, clock: Clock
):
    # given a site, and a customer id of no customer of it
    site = await shop(db, clock)
    async with UnitOfWork(db) as uow:
        held = await uow.session.get(SiteRow, site.site_id)
        # when the site and the unknown customer are read
        found = await site_and_customer(uow.session, site.site_id, site.customer_ids[0] + 999)
        # then the customer is None and the site is the row the session held
        assert found == (held, None)
        # and an unknown site is nothing at all
        assert await site_and_customer(uow.session, site.site_id + 999, None) == (None, None)
