"""The PostgreSQL run really runs on PostgreSQL (it must never fall back to SQLite)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from loyalty_gql.db.engine import Database


@pytest.mark.postgres
async def test_the_postgres_run_talks_to_a_postgresql_server(db: Database) -> None:
    # given: the suite's database, with LOYALTY_TEST_BACKEND=postgres
    # when
    async with db.read_sessions() as session:
        version = await session.scalar(text("SHOW server_version_num"))
    # then
    assert db.engine.dialect.name == "postgresql"
    assert int(version) >= 120000
