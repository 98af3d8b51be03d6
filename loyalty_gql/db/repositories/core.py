"""Idempotency records, the key lock that queues same-key callers, and the health check."""

from __future__ import annotations

from sqlalchemy import select, text

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import IdempotencyRecordRow
from loyalty_gql.db.session import Session


async def queue_behind_key(session: Session, lock_key: str) -> None:
    """Wait for (then hold, until the transaction ends) PostgreSQL's advisory lock on
    ``lock_key``, so same-key callers run one after the other. PostgreSQL only."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": lock_key}
    )


async def idempotency_record(session: Session, scope: str, key: str) -> IdempotencyRecordRow | None:
    """The stored outcome of the write made with ``key`` in ``scope``, if any."""
    record: IdempotencyRecordRow | None = await session.scalar(
        select(IdempotencyRecordRow).where(
            IdempotencyRecordRow.scope == scope, IdempotencyRecordRow.key == key
        )
    )
    return record


async def database_answers(db: Database) -> None:
    """Run a trivial statement on a fresh connection; raises when the database is down."""
    async with db.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
