"""Run Alembic migrations programmatically (used by the CLI and the tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision``."""
    await _migrate(url, command.upgrade, revision)


async def downgrade(url: str, revision: str) -> None:
    """Migrate the database at ``url`` back to ``revision`` (tests of migrations)."""
    await _migrate(url, command.downgrade, revision)


async def _migrate(url: str, step: Callable[[Config, str], None], revision: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run_step, alembic_config(url), step, revision)
    finally:
        await engine.dispose()


def _run_step(
    connection: Connection, config: Config, step: Callable[[Config, str], None], revision: str
) -> None:
    config.attributes["connection"] = connection
    step(config, revision)


def upgrade_sync(url: str, revision: str = "head") -> None:
    """Blocking wrapper of :func:`upgrade` for the CLI."""
    asyncio.run(upgrade(url, revision))
