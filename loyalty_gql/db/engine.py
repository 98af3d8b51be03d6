"""The async engine and session factories for SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

WRITE = "loyalty_write"


@dataclass(frozen=True, slots=True)
class Database:
    """One engine and two ways to open a session: for reading and for writing."""

    engine: AsyncEngine
    read_sessions: async_sessionmaker[AsyncSession]
    write_sessions: async_sessionmaker[AsyncSession]

    @property
    def is_sqlite(self) -> bool:
        """Whether this is the embedded SQLite database."""
        return self.engine.dialect.name == "sqlite"

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def create_database(url: str, *, pool_size: int = 10, echo: bool = False) -> Database:
    """Build the engine for ``url`` with the settings each backend needs."""
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
    return Database(
        engine=engine,
        read_sessions=async_sessionmaker(engine, expire_on_commit=False, autoflush=False),
        write_sessions=async_sessionmaker(write_engine, expire_on_commit=False, autoflush=False),
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front. Readers send no BEGIN: each of
        # their statements reads its own committed snapshot, one round trip less
        # through aiosqlite's thread.
        if conn.get_execution_options().get(WRITE, False):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
