"""Keyset windows: which rows of an id-ordered list one page reads (no offsets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

Query = TypeVar("Query", bound=Select[Any])


@dataclass(frozen=True, slots=True)
class Window:
    """Rows strictly past ``after`` and short of ``before`` (ids, in the list's own order),
    ``limit`` of them from the front, or from the back when ``from_end`` (then fetched in
    reverse order: the caller turns them round)."""

    limit: int
    after: int | None = None
    before: int | None = None
    from_end: bool = False


def windowed(
    query: Query, column: InstrumentedAttribute[int], window: Window, *, descending: bool
) -> Query:
    """``query`` narrowed to the window of a list ordered by ``column`` (newest first when
    ``descending``), ordered and limited to read it along an index in either direction."""
    if window.after is not None:
        query = query.where(column < window.after if descending else column > window.after)
    if window.before is not None:
        query = query.where(column > window.before if descending else column < window.before)
    backwards = descending != window.from_end
    return query.order_by(column.desc() if backwards else column.asc()).limit(window.limit)
