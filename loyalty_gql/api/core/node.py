"""The Relay Node interface and the errors raised for other sites' objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLError

from loyalty_gql.api.core.permissions import PUBLIC


@strawberry.interface(description="An object with a global ID, fetchable with `node(id:)`.")
class Node:
    """Anything with a global ID."""

    id: strawberry.ID = strawberry.field(
        description="Global, opaque identifier of the object.", metadata=PUBLIC
    )


class ForbiddenError(GraphQLError):
    """The caller may not act on this site or object."""

    def __init__(self, message: str = "Not permitted.") -> None:
        super().__init__(message, extensions={"code": "FORBIDDEN"})


_BUILDERS: dict[str, Callable[..., Any]] = {}


def builds_node(type_name: str, build: Callable[..., Any]) -> None:
    """Record how the area that owns ``type_name`` builds it from its row (its
    ``from_row``). Each area records its own Node types when its types module loads."""
    _BUILDERS[type_name] = build


def build_node(type_name: str, *args: Any) -> Any:
    """Another area's Node built from its row: for a field whose type belongs to an area
    that imports this one (a redemption's customer; an offer in an insight report). The
    field names the type with ``strawberry.lazy`` and builds it here, so areas import
    each other one way only. The schema imports every area, so every builder is recorded
    before a request runs."""
    return _BUILDERS[type_name](*args)
