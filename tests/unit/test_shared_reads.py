"""The read session a query's loaders share: opened by the first batch, ended with the
request; a batch after that gets a session of its own."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from loyalty_gql.api.loaders import SharedReads
from loyalty_gql.db.engine import Database


class _Session:
    def __init__(self, log: list[str], number: int) -> None:
        self.log, self.number = log, number
        log.append(f"open {number}")

    async def close(self) -> None:
        self.log.append(f"close {self.number}")

    async def __aenter__(self) -> _Session:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


class _Database:
    def __init__(self) -> None:
        self.log: list[str] = []

    def read_sessions(self) -> _Session:
        return _Session(self.log, sum(e.startswith("open") for e in self.log) + 1)


def _reads() -> tuple[SharedReads, list[str]]:
    db = _Database()
    return SharedReads(cast("Database", db)), db.log


async def test_a_request_that_reads_nothing_opens_and_ends_nothing():
    reads, log = _reads()
    await reads.close()
    await reads.close()
    assert log == []


async def test_batches_share_one_session_ended_with_the_request():
    reads, log = _reads()
    seen: list[Any] = []
    for _ in range(2):
        async with reads() as session:
            seen.append(session)
    assert seen[0] is seen[1]
    await reads.close()
    assert log == ["open 1", "close 1"]


async def test_a_batch_after_the_request_ended_reads_in_a_session_of_its_own():
    reads, log = _reads()
    await reads.close()
    async with reads():
        pass
    assert log == ["open 1", "close 1"]


async def test_the_end_waits_for_the_batch_reading():
    reads, log = _reads()
    reading, done = asyncio.Event(), asyncio.Event()

    async def batch() -> None:
        async with reads():
            reading.set()
            await done.wait()
            log.append("read")

    task = asyncio.create_task(batch())
    await reading.wait()
    closing = asyncio.create_task(reads.close())
    await asyncio.sleep(0)
    assert log == ["open 1"]  # not ended under the batch's feet
    done.set()
    await asyncio.gather(task, closing)
    assert log == ["open 1", "read", "close 1"]
