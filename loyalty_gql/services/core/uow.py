"""The unit of work: one write transaction that rolls back unless committed."""

from __future__ import annotations

import asyncio
import weakref
from types import TracebackType

from loyalty_gql.db.engine import Database
from loyalty_gql.db.rows import flush
from loyalty_gql.db.session import Session

# SQLite has one write lock per database file. Writers of this process queue for it
# here, on the event loop, rather than in SQLite's busy handler: that one sleeps and
# polls (1, 2, 5 ... 100 ms) from each waiting connection's thread, so the lock sits
# idle between a commit and the moment a sleeper wakes up, and the waiters' threads
# hold connections. Other processes' writers are waited for on the loop too
# (Database.begin_write), since this process's writers run in the loop's thread.
_sqlite_writers: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, weakref.WeakKeyDictionary[object, asyncio.Lock]
] = weakref.WeakKeyDictionary()


def _writer_lock(db: Database) -> asyncio.Lock:
    """The process's queue for ``db``'s SQLite write lock (one per event loop)."""
    per_loop = _sqlite_writers.setdefault(asyncio.get_running_loop(), weakref.WeakKeyDictionary())
    lock = per_loop.get(db.engine.sync_engine)
    if lock is None:
        lock = per_loop[db.engine.sync_engine] = asyncio.Lock()
    return lock


class UnitOfWork:
    """A write session; leaving the block without ``commit()`` rolls everything back."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._session: Session | None = None
        self._queue: asyncio.Lock | None = None

    @property
    def session(self) -> Session:
        """The session of the open transaction."""
        if self._session is None:
            msg = "the unit of work is not open"
            raise RuntimeError(msg)
        return self._session

    @property
    def is_postgres(self) -> bool:
        """Whether row locks (SELECT ... FOR UPDATE) are available and needed."""
        return not self._db.is_sqlite

    async def __aenter__(self) -> UnitOfWork:
        if self._db.is_sqlite:
            self._queue = _writer_lock(self._db)
            await self._queue.acquire()
        try:
            self._session = await self._db.begin_write(self._db.write_sessions())
        except BaseException:
            if self._queue is not None:
                self._queue.release()
                self._queue = None
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed and, unlike rollback(),
        # leaves the loaded rows readable for building the response.
        session = self.session
        self._session = None
        try:
            await session.close()
        finally:
            if self._queue is not None:
                self._queue.release()
                self._queue = None

    async def commit(self) -> None:
        """Make the transaction's changes permanent (changed rows first, through the
        driver when that is all that is pending: db/rows.flush)."""
        await flush(self.session)
        await self.session.commit()
