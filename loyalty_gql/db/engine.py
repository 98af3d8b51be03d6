"""The async engine and session factories for SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import aiosqlite
import orjson
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from loyalty_gql.db.changes import ChangeHub, RedisChannel, register_hub
from loyalty_gql.db.versions import (
    READ_BUSY_TIMEOUT_SECONDS,
    STATEMENT_LISTENERS,
    VersionedSession,
    VersionReader,
)

WRITE = "loyalty_write"
BEGIN_IMMEDIATE = "BEGIN IMMEDIATE"
# How long a writer waits for another process's SQLite write lock before failing (the
# driver's busy timeout did this before writers ran in the event loop's thread).
WRITE_LOCK_WAIT_SECONDS = 30.0
# Once a writer holds the lock, how long one of its statements may wait for SQLite.
WRITER_BUSY_TIMEOUT_MS = 1000


def json_text(value: Any) -> str:
    """A JSON column's text: orjson's, which writes a quote document in a fraction of
    the standard library's time; what orjson refuses (an integer beyond 64 bits) the
    standard library writes. Read back with the standard library, which keeps every
    integer exact (orjson reads big ones as floats)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


@dataclass(frozen=True, slots=True)
class Database:
    """One engine and two ways to open a session: for reading and for writing.

    On SQLite, reads and writes run on engines of their own (``read_engine``,
    ``write_engine``) whose connections answer in the event loop's thread (see
    :class:`InlineConnection`); reports keep aiosqlite's thread. On PostgreSQL all
    are the one engine.
    """

    engine: AsyncEngine
    read_sessions: async_sessionmaker[AsyncSession]
    write_sessions: async_sessionmaker[AsyncSession]
    read_engine: AsyncEngine
    write_engine: AsyncEngine
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
        """Every engine statements go through (one on PostgreSQL, three on SQLite)."""
        if self.read_engine is self.engine:
            return (self.engine,)
        return (self.engine, self.read_engine, self.write_engine)

    async def begin_write(self, session: AsyncSession) -> AsyncSession:
        """Begin ``session``'s write transaction; on SQLite, wait for the write lock.

        SQLite's writers run in the event loop's thread, so they must not wait in
        SQLite's busy handler, which would stop the loop: BEGIN IMMEDIATE fails at
        once while another process holds the lock, and the wait happens here, on the
        loop, in short sleeps, for as long as a driver's busy timeout would have
        waited. Writers of this process queue before this (services.core.uow). On
        PostgreSQL the transaction begins with its first statement, as before.
        """
        if not self.is_sqlite:
            return session
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WRITE_LOCK_WAIT_SECONDS
        pause = 0.001
        while True:
            try:
                await session.connection()
            except OperationalError as error:
                if not _is_locked(error) or loop.time() + pause > deadline:
                    raise
                await session.rollback()
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.02)
            else:
                return session

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
    kwargs: dict[str, Any] = {
        "echo": echo, "pool_pre_ping": False, "pool_reset_on_return": None,
        "json_serializer": json_text,
    }  # fmt: skip
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
    write_base = read_engine = engine
    if engine.dialect.name == "sqlite":
        read_engine = _inline_sqlite_engine(engine, pool_size, READ_BUSY_TIMEOUT_SECONDS)
        # the write lock is waited for by Database.begin_write, never in the driver
        write_base = _inline_sqlite_engine(engine, pool_size, 0.0)
    write_engine = write_base.execution_options(**{WRITE: True})
    is_sqlite = engine.dialect.name == "sqlite"
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    redis = RedisChannel(redis_url, f"{redis_prefix}:changes") if redis_url else None
    changes = ChangeHub(None if is_sqlite else dsn, redis, enabled=change_feed)
    # commits publish to the hub of the pool they went through (SQLite's writers have one
    # of their own)
    register_hub(engine.sync_engine.pool, changes)
    if write_base is not engine:
        register_hub(write_base.sync_engine.pool, changes)
    return Database(
        engine=engine,
        changes=changes,
        read_engine=read_engine,
        write_engine=write_base,
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
    itself. Writers run here too, one at a time (services.core.uow queues them), but
    only once they hold the write lock: they wait for it on the loop, not in SQLite
    (``Database.begin_write``), so another process's writer never stops this one's
    loop. Reports keep aiosqlite's thread: their scans are long.
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


def _inline_sqlite_engine(engine: AsyncEngine, pool_size: int, timeout: float) -> AsyncEngine:
    """An engine on the same SQLite file whose connections run in the caller's thread."""
    path = engine.url.database or ""

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
        json_serializer=json_text,
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
            if busy_timeout_ms != 0:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            # an inline writer: straight to sqlite3 (as db/direct.py sends the order's
            # statements), announced to the statement listeners, failing as SQLAlchemy
            # would (a lock held by another process is an OperationalError)
            raw = _raw(conn)
            for listener in STATEMENT_LISTENERS:
                listener(BEGIN_IMMEDIATE)
            try:
                raw.execute(BEGIN_IMMEDIATE)
            except sqlite3.Error as error:
                raise DBAPIError.instance(BEGIN_IMMEDIATE, (), error, sqlite3.Error) from error
            # The lock is ours: a statement that still meets a busy database (a
            # WAL recovery by another process) may wait a little, not fail.
            raw.execute(f"PRAGMA busy_timeout={WRITER_BUSY_TIMEOUT_MS}")

    @event.listens_for(engine.sync_engine, "commit")
    @event.listens_for(engine.sync_engine, "rollback")
    def _on_end(conn: Connection) -> None:
        if busy_timeout_ms == 0 and conn.get_execution_options().get(WRITE, False):
            _raw(conn).execute("PRAGMA busy_timeout=0")


def _raw(conn: Connection) -> sqlite3.Connection:
    """The sqlite3 connection under an inline connection (PRAGMAs sent without a count)."""
    driver = conn.connection.driver_connection
    raw = driver._connection if isinstance(driver, InlineConnection) else None
    if not isinstance(raw, sqlite3.Connection):
        msg = "a writer without the lock wait runs on an inline SQLite connection only"
        raise TypeError(msg)
    return raw


def _is_locked(error: OperationalError) -> bool:
    """Whether SQLite refused for another connection's write lock."""
    return isinstance(error.orig, sqlite3.OperationalError) and "locked" in str(error.orig)
