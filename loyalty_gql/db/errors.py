"""The database's failures as services need to know them, without speaking SQLAlchemy.

``DatabaseError`` is what a statement or a commit raises when the database refuses it;
``is_retryable`` tells whether running the whole transaction again may succeed.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, IntegrityError

DatabaseError = DBAPIError

RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock, serialization failure


def is_retryable(error: DatabaseError) -> bool:
    """Whether a transaction that failed with ``error`` may succeed when run again: a
    concurrent writer won a race on a unique key, or PostgreSQL aborted a deadlock or a
    serialization failure."""
    if isinstance(error, IntegrityError):
        return True
    return getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


__all__ = ["DatabaseError", "is_retryable"]
