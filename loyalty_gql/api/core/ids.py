"""Global object IDs: base64 of "Type:primary key", opaque to clients."""

from __future__ import annotations

import base64
import binascii

import strawberry
from graphql import GraphQLError

MAX_ID = 2**63 - 1


class InvalidIdError(GraphQLError):
    """A malformed ID, or one of another type than the argument expects."""

    def __init__(self, value: str, expected: str | None = None) -> None:
        wanted = f" of a {expected}" if expected else ""
        super().__init__(
            f"{value!r} is not a valid ID{wanted}", extensions={"code": "BAD_USER_INPUT"}
        )


def to_global_id(type_name: str, pk: int) -> strawberry.ID:
    """The global ID of row ``pk`` of ``type_name``."""
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode())


def from_global_id(value: str) -> tuple[str, int]:
    """Split a global ID into its type name and primary key."""
    try:
        decoded = base64.urlsafe_b64decode(value.encode()).decode()
        type_name, _, raw_pk = decoded.partition(":")
        pk = int(raw_pk)
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidIdError(value) from None
    if not type_name or pk < 1 or pk > MAX_ID or to_global_id(type_name, pk) != value:
        raise InvalidIdError(value)  # only the one canonical spelling of an ID is accepted
    return type_name, pk


def parse_id(value: str, expected: str) -> int:
    """The primary key in a global ID that must be of type ``expected``."""
    type_name, pk = from_global_id(value)
    if type_name != expected:
        raise InvalidIdError(value, expected)
    return pk
