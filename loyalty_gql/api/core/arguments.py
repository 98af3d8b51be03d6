"""Every argument checked at the edge, before any resolver or permission check runs.

`guard_arguments` wraps the resolver of each field that takes arguments. The
wrapper applies `domain.inputs.input_problems` to the coerced arguments (keyed by
their GraphQL names, so paths read as the client wrote them). A mutation whose
input breaks them answers its payload with userErrors (INVALID_VALUE, the path
from ``input``) and does nothing; any other field answers a GraphQL error with
code BAD_USER_INPUT and the same path. Fields without arguments are untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLError,
    GraphQLField,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    default_field_resolver,
)

from loyalty_gql.api.core.errors import UserError
from loyalty_gql.domain.errors import FieldProblem
from loyalty_gql.domain.inputs import input_problems

GUARDED = "loyalty-guarded"
DEFINITION = "strawberry-definition"


def guard_arguments(schema: GraphQLSchema) -> None:
    """Wrap every field with arguments (once; calling again changes nothing)."""
    mutation = schema.mutation_type
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for field in type_.fields.values():
            if not field.args or (field.extensions or {}).get(GUARDED):
                continue
            refuse = _payload_refusal(field) if type_ is mutation else _query_refusal
            field.resolve = _guarded(field.resolve or default_field_resolver, refuse)
            field.extensions = {**(field.extensions or {}), GUARDED: True}


Refusal = Callable[[list[FieldProblem]], Any]


def _guarded(resolve: Callable[..., Any], refuse: Refusal) -> Callable[..., Any]:
    def guarded(source: Any, info: Any, **arguments: Any) -> Any:
        problems = list(input_problems(arguments, ()))
        if problems:
            return refuse(problems)
        return resolve(source, info, **arguments)

    return guarded


def _query_refusal(problems: list[FieldProblem]) -> Any:
    first = problems[0]
    where = ".".join(first.field)
    raise GraphQLError(
        f"`{where}` {first.message}",
        extensions={
            "code": "BAD_USER_INPUT",
            "userErrors": [
                {"field": list(p.field), "code": p.code.value, "message": p.message}
                for p in problems
            ],
        },
    )


def _payload_refusal(field: GraphQLField) -> Refusal:
    """How a mutation refuses: its own payload, every result empty, with userErrors."""
    payload_type = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    definition = (getattr(payload_type, "extensions", None) or {}).get(DEFINITION)
    if not isinstance(payload_type, GraphQLObjectType) or definition is None:
        return _query_refusal
    cls = definition.origin
    empty = {
        _python_name(name, payload_field): _empty(payload_field.type)
        for name, payload_field in payload_type.fields.items()
        if name != "userErrors"
    }

    def refuse(problems: list[FieldProblem]) -> Any:
        payload = cls.__new__(cls)
        for name, value in empty.items():
            setattr(payload, name, value)
        payload.user_errors = [
            UserError(field=list(p.field), code=p.code, message=p.message) for p in problems
        ]
        return payload

    return refuse


def _python_name(name: str, field: GraphQLField) -> str:
    definition = (field.extensions or {}).get(DEFINITION)
    return str(getattr(definition, "python_name", None) or name)


def _empty(type_: Any) -> Any:
    """The empty value of an output type: null, or for non-null lists, numbers and flags
    the empty list, 0 and false (a payload's counts when nothing was done)."""
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
