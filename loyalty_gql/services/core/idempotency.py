"""Safe retries: a write with an idempotency key runs once; retries get its result."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from loyalty_gql.db.engine import Database
from loyalty_gql.db.errors import DatabaseError, is_retryable
from loyalty_gql.db.models import IdempotencyRecordRow
from loyalty_gql.db.repositories.core import idempotency_record, queue_behind_key
from loyalty_gql.db.session import Session
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.services.core.uow import UnitOfWork

T = TypeVar("T")
MAX_KEY_LENGTH = 200
ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Idempotency:
    """Which write is asked for, as its caller names it (the API names it after the
    mutation), and the caller's idempotency key, if it gave one. The service owns what
    the request *is* (its fingerprint) and its scope; the caller owns these two."""

    operation: str
    key: str | None = None


def request_fingerprint(operation: str, request: Mapping[str, Any]) -> str:
    """A stable hash of what was asked, so a reused key with other input is caught."""
    canonical = json.dumps([operation, request], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def run_once(
    db: Database,
    *,
    scope: str,
    retry: Idempotency | None,
    request: Mapping[str, Any],
    now: datetime,
    work: Callable[[UnitOfWork], Awaitable[T]],
    dump: Callable[[T], dict[str, Any]],
    load: Callable[[Session, dict[str, Any]], Awaitable[T]],
) -> T:
    """Run ``work`` in one transaction, once per (scope, key) when ``retry`` has a key.

    ``work`` must not commit. Its result is stored (via ``dump``) in the same
    transaction; a retry with the same key and the same request gets it back
    (via ``load``); the same key with another request is IDEMPOTENCY_KEY_REUSED.
    Failures (DomainError) are not stored, so a corrected retry may succeed. Without a
    key (``retry`` None, or its key None) nothing is stored and nothing replayed.
    """
    key = retry.key if retry is not None else None
    operation = retry.operation if retry is not None else ""
    if key is not None and not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise DomainError.single(
            ErrorCode.INVALID_VALUE,
            f"idempotency keys are 1-{MAX_KEY_LENGTH} characters",
            "idempotency_key",
        )
    fingerprint = request_fingerprint(operation, request)
    for attempt in range(ATTEMPTS):
        async with UnitOfWork(db) as uow:
            if key is not None and uow.is_postgres:
                # Callers with the same key queue here, so only the first does the work
                # and the others replay it (SQLite's write lock already serialises them).
                await queue_behind_key(uow.session, f"{scope}|{key}")
            if key is not None:
                stored = await _stored_outcome(uow.session, scope, key, operation, fingerprint)
                if stored is not None:
                    return await load(uow.session, stored)
            try:
                result = await work(uow)
                if key is not None:
                    uow.session.add(
                        IdempotencyRecordRow(
                            scope=scope,
                            key=key,
                            operation=operation,
                            request_hash=fingerprint,
                            outcome=dump(result),
                            created_at=now,
                        )
                    )
                await uow.commit()
            except DatabaseError as error:
                # A concurrent request won a race on the same key or natural key
                # (an external id, an order id), or PostgreSQL broke a deadlock by
                # aborting this transaction. Run again: this time the work sees the
                # winner's rows and the key lookup sees its outcome.
                if not is_retryable(error):
                    raise
                if attempt < ATTEMPTS - 1:
                    continue
                raise DomainError.single(
                    ErrorCode.CONCURRENT_UPDATE,
                    "a concurrent request changed the same data; retry",
                ) from None
            return result
    msg = "unreachable"  # pragma: no cover
    raise AssertionError(msg)  # pragma: no cover


async def _stored_outcome(
    session: Session, scope: str, key: str, operation: str, fingerprint: str
) -> dict[str, Any] | None:
    record = await idempotency_record(session, scope, key)
    if record is None:
        return None
    if record.operation != operation or record.request_hash != fingerprint:
        raise DomainError.single(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            "this idempotency key was already used with a different request",
            "idempotency_key",
        )
    return record.outcome
