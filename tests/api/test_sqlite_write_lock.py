"""SQLite: this process's writers run in the event loop's thread, so the wait for another
process's write lock must happen on the loop, not in SQLite's busy handler: while a
foreign writer holds the lock, reads keep being answered and the write waits, then lands
once the lock is free; a lock held past the wait fails the write cleanly."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator

import pytest

from loyalty_gql.db import engine as engine_module
from loyalty_gql.db.engine import Database
from tests.conftest import BACKEND, GraphQLClient
from tests.support.operations import GRANT_POINTS
from tests.support.shop import Shop

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's write lock")

HELD = 2.0  # seconds the foreign writer holds the lock


@pytest.fixture
def foreign_writer(db: Database) -> Iterator[sqlite3.Connection]:
    """Another connection to the file, as another process's writer would hold it."""
    connection = sqlite3.connect(db.engine.url.database or "", isolation_level=None)
    try:
        yield connection
    finally:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        connection.close()


async def test_reads_go_on_while_a_write_waits_for_another_writers_lock(
    db: Database, gql: GraphQLClient, foreign_writer: sqlite3.Connection
) -> None:
    shop = await Shop.open(gql)
    await shop.register("c1", enroll=True)
    await shop.grant("c1", 50)
    loop = asyncio.get_running_loop()
    gaps: list[float] = []

    async def heartbeat() -> None:
        # how long the loop goes without running anything else
        last = loop.time()
        while True:
            await asyncio.sleep(0.005)
            now = loop.time()
            gaps.append(now - last)
            last = now

    beat = asyncio.create_task(heartbeat())
    foreign_writer.execute("BEGIN IMMEDIATE")
    grant = asyncio.create_task(shop.grant("c1", 100))
    await asyncio.sleep(HELD / 2)
    # the loop is free: reads are answered while the write waits for the lock
    for _ in range(3):
        assert (await shop.balance("c1"))["available"] == 50
    assert not grant.done()
    await asyncio.sleep(HELD / 2)
    assert not grant.done()

    foreign_writer.execute("COMMIT")
    await asyncio.wait_for(grant, timeout=10)
    beat.cancel()
    assert (await shop.balance("c1"))["available"] == 150
    # a writer waiting in SQLite's busy handler on the loop's thread would have stopped
    # the loop until the lock was free (or its busy timeout ran out): a gap of the
    # whole time the lock was held, or more
    assert len(gaps) > 10
    assert max(gaps) < HELD, f"the loop stood still for {max(gaps):.2f} s"


async def test_a_lock_held_past_the_wait_fails_the_write_and_writes_nothing(
    db: Database,
    gql: GraphQLClient,
    foreign_writer: sqlite3.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shop = await Shop.open(gql)
    await shop.register("c1", enroll=True)
    await shop.grant("c1", 50)
    monkeypatch.setattr(engine_module, "WRITE_LOCK_WAIT_SECONDS", 0.3)

    foreign_writer.execute("BEGIN IMMEDIATE")
    body = await gql.execute(
        GRANT_POINTS,
        {"input": {"customerId": shop.customers["c1"], "points": 100, "reason": "test"}},
        token=shop.admin,
        expect_errors=True,
    )
    foreign_writer.execute("ROLLBACK")

    assert body.get("data") in (None, {"grantPoints": None}), body
    assert body["errors"], body
    # nothing half-written, and the next write gets the lock as usual
    assert (await shop.balance("c1"))["available"] == 50
    await shop.grant("c1", 100)
    assert (await shop.balance("c1"))["available"] == 150
