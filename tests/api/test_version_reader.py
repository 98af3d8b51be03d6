"""The read versions behind every cached answer: on PostgreSQL the reads of requests in
flight together share one statement, and none is answered by a statement sent before
it was asked (so a commit that finished before a read always shows in it)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from loyalty_gql.db import versions
from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import CustomerRow
from tests.conftest import GraphQLClient
from tests.support.shop import Shop


async def _customer_ids(db: Database, gql: GraphQLClient, count: int) -> tuple[Shop, list[int]]:
    shop = await Shop.open(gql)
    for n in range(count):
        await shop.register(f"c{n}", enroll=True)
    async with db.read_sessions() as session:
        ids = list((await session.scalars(select(CustomerRow.id).order_by(CustomerRow.id))).all())
    return shop, ids


async def test_reads_asked_together_share_one_statement(db: Database, gql: GraphQLClient):
    # given
    shop, ids = await _customer_ids(db, gql, 16)
    await shop.grant("c3", 50)
    sent: list[str] = []
    versions.STATEMENT_LISTENERS.append(sent.append)
    try:
        # when: sixteen requests ask at once, one of them for a customer that is gone
        reader = versions.VersionReader(db.engine.url)
        try:
            answers = await asyncio.gather(*(reader.read(i) for i in [*ids, max(ids) + 99]))
        finally:
            await reader.close()
    finally:
        versions.STATEMENT_LISTENERS.remove(sent.append)
    # then: every customer's own versions; one statement on PostgreSQL, one each on SQLite
    assert answers[-1] is None
    found = [a for a in answers[:-1] if a is not None]
    assert len(found) == 16
    assert len({a.site_id for a in found}) == 1
    assert found[3].customer > found[2].customer  # c3 was written to after registering
    assert len(sent) == (17 if db.is_sqlite else 1), sent


class _HeldReader(versions.VersionReader):
    """Holds each batch's rows until told, after the statement ran (a slow network)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.gate = asyncio.Event()
        self.fetched = asyncio.Event()

    async def _fetch(self, ids: list[int]) -> list[Any]:
        rows = await super()._fetch(ids)
        self.fetched.set()
        if not self.gate.is_set():
            await self.gate.wait()
        return rows


async def test_a_read_asked_after_a_commit_is_never_answered_by_an_earlier_statement(
    db: Database, gql: GraphQLClient
):
    if db.is_sqlite:  # SQLite reads inline, one statement a read: nothing to share
        return
    # given: a read whose statement has run (before the write) but not come back yet
    shop, ids = await _customer_ids(db, gql, 1)
    reader = _HeldReader(db.engine.url)
    try:
        early = asyncio.create_task(reader.read(ids[0]))
        await asyncio.wait_for(reader.fetched.wait(), 10)
        # when: a write commits, then the same customer is read again
        await shop.grant("c0", 10)
        late = asyncio.create_task(reader.read(ids[0]))
        reader.gate.set()
        before, after = await asyncio.gather(early, late)
    finally:
        await reader.close()
    # then: the late read saw the commit, the early one did not
    assert before is not None
    assert after is not None
    assert after.customer > before.customer
