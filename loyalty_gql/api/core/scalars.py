"""BigInt: whole numbers beyond GraphQL's 32-bit Int, for totals over many customers.

Serialised as a JSON number, as the BigInt of graphql-scalars (The Guild) is, so a
client reads it as it read the Int it replaces; unlike GitHub's BigInt and Shopify's
UnsignedInt64, which are strings. A JSON number is exact in JavaScript only up to 2^53-1
(Number.MAX_SAFE_INTEGER), so that is BigInt's range: a value beyond is an error, never
a number a client would silently round. Point totals stay far below it (it is nine
million customers at the balance cap).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NewType

import strawberry
from graphql import GraphQLError
from strawberry.types.scalar import ScalarDefinition

MAX_SAFE_INTEGER = 2**53 - 1

BIG_INT_DESCRIPTION = (
    "A whole number that may exceed the 32 bits of Int, serialized as a JSON number (as "
    "the BigInt of graphql-scalars; GitHub and Shopify use strings instead). Its range is "
    "-(2^53-1) to 2^53-1 = 9007199254740991, the integers a JavaScript number holds "
    "exactly. Used for totals over many customers or over time."
)


def big_int_value(value: object) -> int:
    """The value as a BigInt sends or takes it; GraphQLError outside its range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise GraphQLError(f"BigInt must be a whole number, not {value!r}")
    if abs(value) > MAX_SAFE_INTEGER:
        raise GraphQLError(f"{value} is beyond the range of BigInt (2^53-1)")
    return value


if TYPE_CHECKING:  # to mypy a BigInt field holds a plain int
    BigInt = int
else:
    BigInt = NewType("BigInt", int)

SCALARS: dict[object, ScalarDefinition] = {
    BigInt: strawberry.scalar(
        name="BigInt",
        description=BIG_INT_DESCRIPTION,
        serialize=big_int_value,
        parse_value=big_int_value,
    )
}
"""The schema's own scalars, for StrawberryConfig.scalar_map."""
