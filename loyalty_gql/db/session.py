"""The names services use to hold a database session without speaking SQLAlchemy.

Services pass a ``Session`` to the repositories of db/ (which build every statement),
add and change mapped rows, and flush; they never build SQL themselves.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

Session = AsyncSession

__all__ = ["Session"]
