"""How a root field refuses, and a DomainError turned into that refusal once for all.

A mutation refuses with its own payload: every result empty, the problems as
userErrors. A query has no payload and refuses with a top-level GraphQL error whose
extensions carry the code and the userErrors (`errors.query_error`).

`refuse_domain_errors` wraps the resolver of every root field so that a DomainError
raised by it (or by the services it calls) becomes the field's refusal, input paths
prefixed with ``input``, as Saleor's BaseMutation.mutate turns its errors into the
payload's in one place: a resolver raises, it never writes the try/except itself.
`arguments.guard_arguments` refuses through the same payload builder.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from inspect import isawaitable
from typing import Any, TypeVar

from graphql import (
    GraphQLBoolean,
    GraphQLField,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    default_field_resolver,
)

from loyalty_gql.api.core.errors import UserError, query_error, user_errors, wire_path
from loyalty_gql.domain.errors import DomainError, FieldProblem

T = TypeVar("T")

REFUSING = "loyalty-refusing"
DEFINITION = "strawberry-definition"

PayloadRefusal = Callable[[list[UserError]], Any]
"""Builds a mutation's payload with empty results and the given userErrors."""


def refuse_domain_errors(schema: GraphQLSchema) -> None:
    """Wrap every root field (once; calling again changes nothing): a DomainError from its
    resolver becomes the mutation's payload with userErrors, or the query's error."""
    for type_ in (schema.query_type, schema.mutation_type):
        if type_ is None:
            continue
        for field in type_.fields.values():
            if (field.extensions or {}).get(REFUSING):
                continue
            refuse = _domain_refusal(field, mutation=type_ is schema.mutation_type)
            field.resolve = _refusing(field.resolve or default_field_resolver, refuse)
            field.extensions = {**(field.extensions or {}), REFUSING: True}


def payload_refusal(field: GraphQLField) -> PayloadRefusal | None:
    """How the mutation ``field`` answers a refusal: its own payload, every result empty
    (null; for non-null lists, numbers, flags and strings [], 0, false and ""), with the
    userErrors given. None when its type is not a strawberry object type."""
    payload_type = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    definition = (getattr(payload_type, "extensions", None) or {}).get(DEFINITION)
    if not isinstance(payload_type, GraphQLObjectType) or definition is None:
        return None
    cls = definition.origin
    empty = {
        _python_name(name, payload_field): _empty(payload_field.type)
        for name, payload_field in payload_type.fields.items()
        if name != "userErrors"
    }

    def refuse(errors: list[UserError]) -> Any:
        payload = cls.__new__(cls)
        for name, value in empty.items():
            setattr(payload, name, value)
        payload.user_errors = errors
        return payload

    return refuse


async def problems_under(name: str, work: Awaitable[T], *, own: Collection[str]) -> T:
    """Await ``work``; the problems it reports on fields that are not the input's ``own``
    belong to the nested input ``name`` (an offer's terms sit under ``input.terms``)."""
    try:
        return await work
    except DomainError as error:
        raise DomainError(
            [
                p if not p.field or wire_path(p.field[:1])[0] in own
                else FieldProblem((name, *p.field), p.code, p.message)
                for p in error.problems
            ]
        ) from None  # fmt: skip


def _domain_refusal(field: GraphQLField, *, mutation: bool) -> Callable[[DomainError], Any]:
    payload = payload_refusal(field) if mutation else None
    if payload is not None:
        arguments = frozenset(name for name in field.args if name != "input")
        return lambda error: payload(user_errors(error, arguments))
    prefix = ("input",) if "input" in field.args else ()

    def refuse(error: DomainError) -> Any:
        raise query_error(error, *prefix) from None

    return refuse


def _refusing(
    resolve: Callable[..., Any], refuse: Callable[[DomainError], Any]
) -> Callable[..., Any]:
    async def resolve_or_refuse(source: Any, info: Any, **arguments: Any) -> Any:
        try:
            result = resolve(source, info, **arguments)
            return await result if isawaitable(result) else result
        except DomainError as error:
            return refuse(error)

    return resolve_or_refuse


def _python_name(name: str, field: GraphQLField) -> str:
    definition = (field.extensions or {}).get(DEFINITION)
    return str(getattr(definition, "python_name", None) or name)


def _empty(type_: Any) -> Any:
    if not isinstance(type_, GraphQLNonNull):
        return None
    inner = type_.of_type
    if isinstance(inner, GraphQLList):
        return []
    if inner is GraphQLInt:
        return 0
    if inner is GraphQLBoolean:
        return False
    if inner is GraphQLString:
        return ""
    return None
