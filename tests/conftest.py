"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when configured), the app,
a GraphQL client with tokens, and a statement counter."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from loyalty_gql.api.app import create_app
from loyalty_gql.api.auth import Role, issue_token
from loyalty_gql.config import Settings
from loyalty_gql.db.engine import WRITE, Database, create_database
from loyalty_gql.db.migrate import upgrade
from loyalty_gql.db.models import Base
from loyalty_gql.db.versions import STATEMENT_LISTENERS, STRICT
from loyalty_gql.services.campaigns import forget_site_campaigns
from loyalty_gql.services.checkout import forget_site_offers
from tests.support.clock import Clock

# scripts/test runs the suite once per backend: LOYALTY_TEST_BACKEND=sqlite (the default)
# or postgres, which creates a fresh database on the server LOYALTY_TEST_POSTGRES_URL names.
BACKEND = os.environ.get("LOYALTY_TEST_BACKEND", "sqlite")
POSTGRES_URL = os.environ.get("LOYALTY_TEST_POSTGRES_URL")
if BACKEND not in ("sqlite", "postgres"):
    msg = f"LOYALTY_TEST_BACKEND must be sqlite or postgres, not {BACKEND!r}"
    raise RuntimeError(msg)
if BACKEND == "postgres" and not POSTGRES_URL:
    msg = "LOYALTY_TEST_BACKEND=postgres needs LOYALTY_TEST_POSTGRES_URL"
    raise RuntimeError(msg)

POSTGRES_ONLY = "PostgreSQL only (marked postgres): LOYALTY_TEST_BACKEND=postgres runs it"
# scripts/test sets this for its second (PostgreSQL) pass: a test that never asks for the
# database (no ``backend`` among its fixtures, so schema, parsing, rules, JWT, the SQLite demo
# service, the JavaScript and browser clients) already ran, unchanged, in the SQLite pass.
DATABASE_ONLY = os.environ.get("LOYALTY_TEST_DATABASE_ONLY") == "1"
NOT_DATABASE = (
    "does not touch the database, so it ran in the SQLite pass of scripts/test "
    "(LOYALTY_TEST_DATABASE_ONLY=1 runs only the tests that do)"
)
ON_SQLITE_ONLY_IN_PROCESS = (
    "SQLite runs one writer at a time, so racers in one process cannot lose this race here; "
    "it runs on PostgreSQL (LOYALTY_TEST_BACKEND=postgres)"
)


# a write that does not say whose cached reads it changes fails the test that makes it
STRICT[0] = True


def pytest_sessionstart(session: pytest.Session) -> None:
    """On PostgreSQL, stop the run at once when the server does not answer (never skip)."""
    if BACKEND != "postgres" or not POSTGRES_URL:
        return
    import asyncio

    dsn = make_url(POSTGRES_URL).set(drivername="postgresql")

    async def ping() -> None:
        conn = await asyncpg.connect(dsn.render_as_string(hide_password=False), timeout=10)
        await conn.close()

    try:
        asyncio.run(ping())
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        shown = dsn.render_as_string(hide_password=True)
        msg = f"LOYALTY_TEST_BACKEND=postgres, but PostgreSQL at {shown} is unreachable: {error!r}"
        raise pytest.UsageError(msg) from error


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip, saying why, what cannot run or cannot fail on SQLite (markers in pyproject)."""
    if DATABASE_ONLY:
        for item in items:
            if "backend" not in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.skip(reason=NOT_DATABASE))
    if BACKEND == "postgres":
        return
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.skip(reason=POSTGRES_ONLY))
        race = item.get_closest_marker("concurrency")
        if race and not race.kwargs.get("across_processes", False):
            item.add_marker(pytest.mark.skip(reason=ON_SQLITE_ONLY_IN_PROCESS))


@dataclass
class DatabaseBackend:
    """The database URL the suite runs against and how to remove it afterwards."""

    url: str
    admin_url: str | None = None
    name: str | None = None


@pytest.fixture(scope="session")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseBackend]:
    """A fresh, empty database for this run: a SQLite file, or a new PostgreSQL database."""
    if BACKEND != "postgres" or not POSTGRES_URL:
        path = Path(tmp_path_factory.mktemp("db")) / "loyalty.db"
        yield DatabaseBackend(f"sqlite+aiosqlite:///{path}")
        return
    base = make_url(POSTGRES_URL)
    name = f"loyalty_test_{uuid.uuid4().hex[:12]}"
    admin_dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    import asyncio

    async def create() -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(create())
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        yield DatabaseBackend(url, admin_dsn, name)
    finally:
        asyncio.run(drop())


@pytest.fixture(scope="session")
async def migrated(backend: DatabaseBackend) -> str:
    """The backend's URL after every migration ran."""
    await upgrade(backend.url)
    return backend.url


@pytest.fixture(scope="session")
async def database(migrated: str) -> AsyncIterator[Database]:
    """One engine for the whole run."""
    db = create_database(migrated, pool_size=20)
    yield db
    await db.dispose()


async def wipe(database: Database) -> None:
    """Delete every row of every table (ids restart)."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with database.engine.execution_options(**{WRITE: True}).begin() as conn:
        if database.is_sqlite:
            # ledger entries reference each other; check the keys at commit only
            await conn.execute(text("PRAGMA defer_foreign_keys = ON"))
            for table in tables:
                await conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608
        else:
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    forget_site_offers()  # site ids restart: this process's offer indexes are stale
    forget_site_campaigns()


@pytest.fixture
async def db(database: Database) -> Database:
    """The database, emptied before each test."""
    await wipe(database)
    return database


@pytest.fixture
def clock() -> Clock:
    """The server's clock, settable by the test."""
    return Clock()


@pytest.fixture
def settings() -> Settings:
    """Settings of the app under test."""
    return Settings(env="test")


@pytest.fixture
def app(settings: Settings, db: Database, clock: Clock) -> Any:
    """The ASGI app on the test database."""
    return create_app(settings, db, clock)


@pytest.fixture
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


class GraphQLClient:
    """Posts operations with a token and returns the decoded response."""

    def __init__(self, http: httpx.AsyncClient, settings: Settings) -> None:
        self.http = http
        self.settings = settings

    def token(self, role: str, *sites: str, subject: str = "tester") -> str:
        """A signed token for ``role`` on ``sites`` (for customers, subject = external id)."""
        return issue_token(self.settings, role=Role(role), sites=list(sites), subject=subject)

    async def execute(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        expect_errors: bool = False,
    ) -> dict[str, Any]:
        """Run an operation; unless ``expect_errors``, fail on any GraphQL error."""
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        body: dict[str, Any] = response.json()
        if not expect_errors:
            assert response.status_code == 200, body
            assert "errors" not in body, body["errors"]
        return body


@pytest.fixture
def gql(http: httpx.AsyncClient, settings: Settings) -> GraphQLClient:
    """The GraphQL client."""
    return GraphQLClient(http, settings)


class StatementCounter:
    """Counts SQL statements sent to the database while active."""

    def __init__(self) -> None:
        self.count = 0
        self.statements: list[str] = []
        self.active = False

    def __call__(self, *args: Any) -> None:
        if self.active:
            self.count += 1
            self.statements.append(args[2])

    def __enter__(self) -> StatementCounter:
        self.count = 0
        self.statements = []
        self.active = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.active = False


@pytest.fixture
def statements(db: Database) -> Iterator[StatementCounter]:
    """A statement counter attached to every engine and to the version reads."""
    counter = StatementCounter()

    def version_read(statement: str) -> None:
        counter(None, None, statement)

    for engine in db.engines:
        event.listen(engine.sync_engine, "before_cursor_execute", counter)
    STATEMENT_LISTENERS.append(version_read)
    yield counter
    STATEMENT_LISTENERS.remove(version_read)
    for engine in db.engines:
        event.remove(engine.sync_engine, "before_cursor_execute", counter)
