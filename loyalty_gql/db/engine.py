"""The async engine and session factories for SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from loyalty_gql.db.changes import ChangeHub, RedisChannel, register_hub
from loyalty_gql.db.versions import READ_BUSY_TIMEOUT_SECONDS, VersionedSession, VersionReader

WRITE = "loyalty_write"


@dataclass(frozen=True, slots=True)
class Database:
    """One engine and two ways to open a session: for reading and for writing.

    On SQLite, reads run on an engine of their own (``read_engine``) whose connections
    answer in the event loop's thread (see :class:`InlineConnection`); writes and
    reports keep aiosqlite's thread. On PostgreSQL both are the one engine.
    """

    engine: AsyncEngine
    read_sessions: async_sessionmaker[AsyncSession]
    write_sessions: async_sessionmaker[AsyncSession]
    read_engine: AsyncEngine
    report_sessions: async_sessionmaker[AsyncSession]
    versions: VersionReader
    changes: ChangeHub
    """What commits changed, for subscriptions (db/changes.py)."""

    @property
    def is_sqlite(self) -> bool:
        """Whether this is the embedded SQLite database."""
        return self.engine.dialect.name == "sqlite"

    @property
    def engines(self) -> tuple[AsyncEngine, ...]:
        """Every engine statements go through (one on PostgreSQL, two on SQLite)."""
        if self.read_engine is self.engine:
            return (self.engine,)
        return (self.engine, self.read_engine)

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.versions.close()
        await self.changes.close()
        for engine in self.engines:
            await engine.dispose()


def create_database(
    url: str,
    *,
    pool_size: int = 10,
    echo: bool = False,
    redis_url: str | None = None,
    redis_prefix: str = "loyalty",
    change_feed: bool = True,
) -> Database:
    """Build the engine for ``url`` with the settings each backend needs. Commits tell
    subscriptions what changed unless ``change_feed`` is off; on SQLite with
    ``redis_url``, through Redis."""
    # Sessions always end their transaction themselves (commit, or rollback on
    # close), so the pool's extra rollback at check-in would be a wasted round trip.
    kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": False, "pool_reset_on_return": None}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    kwargs["pool_size"] = pool_size
    kwargs["max_overflow"] = pool_size
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    # Writers run at READ COMMITTED with explicit row locks on PostgreSQL; on SQLite
    # they take the write lock when the transaction begins (BEGIN IMMEDIATE), so
    # two writers never interleave and never deadlock on a lock upgrade.
    write_engine = engine.execution_options(**{WRITE: True})
    read_engine = engine
    if engine.dialect.name == "sqlite":
        read_engine = _inline_sqlite_engine(engine, pool_size)
    is_sqlite = engine.dialect.name == "sqlite"
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    redis = RedisChannel(redis_url, f"{redis_prefix}:changes") if redis_url else None
    changes = ChangeHub(None if is_sqlite else dsn, redis, enabled=change_feed)
    register_hub(engine.sync_engine.pool, changes)
    return Database(
        engine=engine,
        changes=changes,
        read_engine=read_engine,
        versions=VersionReader(engine.url),
        report_sessions=async_sessionmaker(engine, expire_on_commit=False, autoflush=False),
        read_sessions=async_sessionmaker(read_engine, expire_on_commit=False, autoflush=False),
        write_sessions=async_sessionmaker(
            write_engine,
            expire_on_commit=False,
            autoflush=False,
            sync_session_class=VersionedSession,
        ),
    )


class _RunAtOnce:
    """Stands in for aiosqlite's queue to its thread: runs each call as it is queued."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:
            if future is not None:
                future.set_exception(error)
        else:
            if future is not None:
                future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection that runs each call at once in the calling thread.

    aiosqlite hands every call to a thread of its own and waits for the answer: for
    the short reads of a request that hand-off (waking the thread, taking the GIL,
    waking the event loop) costs far more than the read, about half a millisecond
    under load against microseconds. Readers of a WAL database never wait for a lock,
    so running them in the event loop's thread blocks it no longer than the read
    itself. Writers keep aiosqlite's thread: they wait for the write lock (another
    writer, another worker process) and must not hold up the event loop meanwhile;
    so do reports, whose scans are long.
    """

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, 64)
        # SQLAlchemy's adapter queues some calls itself (setting the isolation level)
        self._tx = _RunAtOnce()  # type: ignore[assignment]

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()

    async def _connect(self) -> aiosqlite.Connection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            msg = "Connection closed"
            raise ValueError(msg)
        return fn(*args, **kwargs)

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()


def _inline_sqlite_engine(engine: AsyncEngine, pool_size: int) -> AsyncEngine:
    """An engine on the same SQLite file whose connections read in the caller's thread."""
    path = engine.url.database or ""
    timeout = READ_BUSY_TIMEOUT_SECONDS

    async def connect() -> aiosqlite.Connection:
        def connector() -> sqlite3.Connection:
            return sqlite3.connect(path, timeout=timeout, check_same_thread=False)

        return await InlineConnection(connector)

    reader = create_async_engine(
        engine.url,
        async_creator=connect,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        pool_reset_on_return=None,
    )
    _configure_sqlite(reader, busy_timeout_ms=int(timeout * 1000))
    return reader


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int = 30000) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front. Readers send no BEGIN: each of
        # their statements reads its own committed snapshot, one round trip less
        # through aiosqlite's thread.
        if conn.get_execution_options().get(WRITE, False):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
