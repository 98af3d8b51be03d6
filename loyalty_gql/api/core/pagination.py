"""Relay cursor connections over keyset queries (no offsets, a hard cap on a page).

A connection takes `first`/`after` and `last`/`before` and follows the Relay cursor
spec's algorithm: the cursors bound the list, `first` takes from the front of what is
left, `last` from its back; with both, `first` applies, then `last` (the spec's order).
A page read backwards is fetched along the same index in reverse and turned round, so
its edges are in the list's normal order. A cursor names its list (`["offers", 17]`):
one from another connection is refused, as is a malformed one.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

import strawberry

from loyalty_gql.api.core.errors import BadRequestError
from loyalty_gql.api.core.permissions import PUBLIC, WITHIN_PARENT
from loyalty_gql.db.paging import Window

NodeT = TypeVar("NodeT")
FIRST = "How many to return (at most the server's page cap, 100 by default)."
AFTER = "Cursor of the item to start after (the previous page's endCursor)."
LAST = (
    "How many to return from the end of the list (or of what comes before `before`), "
    "at most the page cap; the edges stay in the list's order."
)
BEFORE = "Cursor of the item to end before (the next page's startCursor)."
FIRST_ARG = Annotated[int | None, strawberry.argument(description=FIRST)]
AFTER_ARG = Annotated[str | None, strawberry.argument(description=AFTER)]
LAST_ARG = Annotated[int | None, strawberry.argument(description=LAST)]
BEFORE_ARG = Annotated[str | None, strawberry.argument(description=BEFORE)]
TOTAL_COUNT = (
    "How many items the whole list holds (with its filters, ignoring the page), "
    "counted only when asked for."
)
RowT = TypeVar("RowT")
MAX_ID = 2**63 - 1


@strawberry.type(description="Where a page sits in the whole list.")
class PageInfo:
    """Relay page information."""

    has_next_page: bool = strawberry.field(
        description="Whether more items follow this page (exact when paging with `first`; "
        "true when `before` was given and `first` was not, the item it names follows).",
        metadata=PUBLIC,
    )
    has_previous_page: bool = strawberry.field(
        description="Whether items come before this page (exact when paging with `last`; "
        "true when `after` was given and `last` was not, the item it names comes before).",
        metadata=PUBLIC,
    )
    start_cursor: str | None = strawberry.field(
        description="Cursor of the first item; pass it as `before` (with `last`) for the "
        "previous page.",
        metadata=PUBLIC,
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
    count: strawberry.Private[Callable[[], Awaitable[int]] | None] = None

    @strawberry.field(description="The items of this page without cursors.", metadata=WITHIN_PARENT)
    def nodes(self) -> list[NodeT]:
        """The items without their edges."""
        return [edge.node for edge in self.edges]


@strawberry.type(description="A page of a list that can also say how long the list is.")
class CountedConnection(Connection[NodeT], Generic[NodeT]):
    """A connection whose database answers its length with one indexed COUNT; the count
    runs only when `totalCount` is selected."""

    @strawberry.field(description=TOTAL_COUNT, metadata=WITHIN_PARENT)
    async def total_count(self) -> int:
        """The number of items, filters applied."""
        if self.count is None:  # pragma: no cover - every counted list gives its count
            raise LookupError("this list has no count")
        return await self.count()


def encode_cursor(key: Sequence[object]) -> str:
    """An opaque cursor for a sort key."""
    return base64.urlsafe_b64encode(json.dumps(list(key), separators=(",", ":")).encode()).decode()


# The forward-only helpers below (untagged cursors) predate `page_of` and `connect`; no
# list of this API uses them any more. Kept only so that a branch written against them
# still imports; convert such a list to `page_of`/`connect` and delete them.


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


ConnT = TypeVar("ConnT", bound=Connection[Any])
KeyCheck = Callable[[list[object]], bool]


def _is_id(value: object) -> bool:
    # ids are 64-bit: a larger one would reach the database and overflow its parameter
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def id_key(key: list[object]) -> bool:
    """Whether a cursor's key is one row id."""
    return len(key) == 1 and _is_id(key[0])


@dataclass(frozen=True, slots=True)
class Page:
    """A page a connection's arguments ask for, checked: the cursors' keys (of this list),
    and how many from the front (``first``) and from the back (``last``)."""

    first: int | None
    last: int | None
    after: tuple[object, ...] | None
    before: tuple[object, ...] | None

    @property
    def from_end(self) -> bool:
        """Whether the page is read from the back of the list (``last`` without ``first``)."""
        return self.first is None

    @property
    def limit(self) -> int:
        """How many rows to fetch: one more than the page, to see whether more follow
        (with both, enough for the spec's hasNextPage and hasPreviousPage at once)."""
        return max(self.first or 0, self.last or 0) + 1

    def window(self) -> Window:
        """The keyset window of a list ordered by row id."""
        return Window(
            limit=self.limit,
            after=_only_id(self.after),
            before=_only_id(self.before),
            from_end=self.from_end,
        )


def _only_id(key: tuple[object, ...] | None) -> int | None:
    if key is None:
        return None
    value = key[0]
    assert isinstance(value, int)  # noqa: S101 - checked by id_key when decoded
    return value


def page_of(
    list_name: str,
    *,
    first: int | None,
    last: int | None,
    after: str | None,
    before: str | None,
    default: int,
    maximum: int,
    valid: KeyCheck = id_key,
) -> Page:
    """The page the arguments ask for; a negative or too large size, or a cursor that is
    malformed or of another list than ``list_name``, is a bad request."""
    for name, size, cursor in (("first", first, "after"), ("last", last, "before")):
        if size is not None and size < 0:
            raise BadRequestError(f"`{name}` must not be negative")
        if size is not None and size > maximum:
            raise BadRequestError(f"`{name}` may be at most {maximum}; page with `{cursor}`")
    if first is None and last is None:
        first = default
    return Page(
        first=first,
        last=last,
        after=_list_key(list_name, after, valid),
        before=_list_key(list_name, before, valid),
    )


def _list_key(list_name: str, cursor: str | None, valid: KeyCheck) -> tuple[object, ...] | None:
    if cursor is None:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeError, RecursionError):
        raise BadRequestError(f"{cursor!r} is not a valid cursor") from None
    if not isinstance(decoded, list) or not decoded or not isinstance(decoded[0], str):
        raise BadRequestError(f"{cursor!r} is not a valid cursor")
    if decoded[0] != list_name:
        raise BadRequestError(
            f"{cursor!r} is a cursor of another list, not of `{list_name}`; "
            "pass the cursors this list returned"
        )
    if not valid(decoded[1:]):
        raise BadRequestError(f"{cursor!r} is not a valid cursor")
    return tuple(decoded[1:])


def list_cursor(list_name: str, key: Sequence[object]) -> str:
    """The opaque cursor of an item of ``list_name`` at sort key ``key``."""
    return encode_cursor([list_name, *key])


def connect(
    kind: type[ConnT],
    rows: Sequence[RowT],
    page: Page,
    list_name: str,
    *,
    key: Callable[[RowT], Sequence[object]],
    node: Callable[[RowT], object],
    count: Callable[[], Awaitable[int]] | None = None,
) -> ConnT:
    """The connection of ``page`` from the rows fetched for it (``page.limit`` at most,
    in reverse order when ``page.from_end``), as the Relay spec's algorithm cuts them."""
    if page.from_end:
        assert page.last is not None  # noqa: S101 - no first means last
        kept = list(reversed(rows[: page.last]))
        has_previous, has_next = len(rows) > page.last, page.before is not None
    else:
        assert page.first is not None  # noqa: S101 - from_end otherwise
        kept = list(rows[: page.first])
        has_next = len(rows) > page.first
        if page.last is None:
            has_previous = page.after is not None
        else:
            # the spec: first applies, then last; hasPreviousPage counts all rows in the
            # cursors' bounds against last (limit fetched max(first, last) + 1 of them)
            has_previous = len(rows) > page.last
            kept = kept[max(len(kept) - page.last, 0) :]
    edges = [Edge(cursor=list_cursor(list_name, key(row)), node=node(row)) for row in kept]
    return kind(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count=count,
    )
