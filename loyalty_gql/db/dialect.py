"""What differs between SQLite and PostgreSQL at statement level."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_for(session: AsyncSession) -> Any:
    """The dialect's INSERT, which has ON CONFLICT DO NOTHING / DO UPDATE on both."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
