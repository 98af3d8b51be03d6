"""What differs between SQLite and PostgreSQL at statement level."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_of(session: AsyncSession) -> str:
    """The session's dialect name: "sqlite" or "postgresql"."""
    return session.bind.dialect.name if session.bind else "sqlite"


def insert_for(session: AsyncSession | str) -> Any:
    """The dialect's INSERT (of a session or a dialect name), which has ON CONFLICT DO
    NOTHING / DO UPDATE on both."""
    dialect = session if isinstance(session, str) else dialect_of(session)
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
