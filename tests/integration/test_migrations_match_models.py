"""The migrations build exactly the tables, columns, types and indexes the models declare."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import Base


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_the_migrated_database_has_no_difference_from_the_models(database: Database):
    # when: what `alembic revision --autogenerate` would write now
    async with database.engine.connect() as conn:
        differences = await conn.run_sync(_differences)
    # then
    assert differences == []
