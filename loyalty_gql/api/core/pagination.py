"""Relay cursor connections over keyset queries (no offsets, a hard cap on ``first``)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import strawberry

from loyalty_gql.api.core.errors import BadRequestError
from loyalty_gql.api.core.permissions import PUBLIC, WITHIN_PARENT

NodeT = TypeVar("NodeT")
FIRST = "How many to return (at most the server's page cap, 100 by default)."
AFTER = "Cursor of the item to start after (the previous page's endCursor)."
RowT = TypeVar("RowT")
MAX_ID = 2**63 - 1


@strawberry.type(description="Where a page sits in the whole list.")
class PageInfo:
    """Relay page information."""

    has_next_page: bool = strawberry.field(
        description="Whether more items follow this page.", metadata=PUBLIC
    )
    has_previous_page: bool = strawberry.field(
        description="Whether items come before this page (true when `after` was given).",
        metadata=PUBLIC,
    )
    start_cursor: str | None = strawberry.field(
        description="Cursor of the first item of the page.", metadata=PUBLIC
    )
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last item; pass it as `after` for the next page.",
        metadata=PUBLIC,
    )


@strawberry.type(description="An item of a page and its cursor.")
class Edge(Generic[NodeT]):
    """One item in a connection."""

    cursor: str = strawberry.field(description="Opaque position of this item.", metadata=PUBLIC)
    node: NodeT = strawberry.field(description="The item.", metadata=WITHIN_PARENT)


@strawberry.type(description="A page of a list, with cursors to fetch the next one.")
class Connection(Generic[NodeT]):
    """A Relay connection."""

    edges: list[Edge[NodeT]] = strawberry.field(
        description="The items of this page, in order.", metadata=WITHIN_PARENT
    )
    page_info: PageInfo = strawberry.field(
        description="Cursors and whether there is more.", metadata=PUBLIC
    )

    @strawberry.field(description="The items of this page without cursors.", metadata=WITHIN_PARENT)
    def nodes(self) -> list[NodeT]:
        """The items without their edges."""
        return [edge.node for edge in self.edges]


def encode_cursor(key: Sequence[object]) -> str:
    """An opaque cursor for a sort key."""
    return base64.urlsafe_b64encode(json.dumps(list(key), separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str, arity: int = 1) -> list[object]:
    """The sort key in a cursor; a malformed cursor is a bad request."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeError, RecursionError):
        raise BadRequestError(f"{cursor!r} is not a valid cursor") from None
    if not isinstance(key, list) or len(key) != arity:
        raise BadRequestError(f"{cursor!r} is not a valid cursor")
    return key


def decode_id_cursor(cursor: str | None) -> int | None:
    """The id in a cursor over an id-ordered list."""
    if cursor is None:
        return None
    (value,) = decode_cursor(cursor)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ID:
        raise BadRequestError(f"{cursor!r} is not a valid cursor")
    return value


def page_size(first: int | None, *, default: int, maximum: int) -> int:
    """The number of items to return; more than ``maximum`` is refused."""
    if first is None:
        return default
    if first < 0:
        raise BadRequestError("`first` must not be negative")
    if first > maximum:
        raise BadRequestError(f"`first` may be at most {maximum}; page with `after`")
    return first


def build_connection(
    rows: Sequence[RowT],
    *,
    size: int,
    after: str | None,
    key: Callable[[RowT], Sequence[object]],
    node: Callable[[RowT], NodeT],
) -> Connection[NodeT]:
    """A connection from up to ``size + 1`` rows fetched after the cursor."""
    page = rows[:size]
    edges = [Edge(cursor=encode_cursor(key(row)), node=node(row)) for row in page]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > size,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
