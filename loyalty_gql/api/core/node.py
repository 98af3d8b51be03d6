"""The Relay Node interface and the errors raised for other sites' objects."""

from __future__ import annotations

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
