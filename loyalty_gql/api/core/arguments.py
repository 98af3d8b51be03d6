"""Every argument checked at the edge, before any resolver or permission check runs.

`guard_arguments` wraps the resolver of each field that takes arguments. The
wrapper applies `domain.inputs.input_problems` to the coerced arguments (keyed by
their GraphQL names, so paths read as the client wrote them). A mutation whose
input breaks them answers its payload with userErrors (INVALID_VALUE, the path
from ``input``) and does nothing; any other field answers a GraphQL error with
code BAD_USER_INPUT and the same path. Fields without arguments are untouched.
The payload is built by `refusals.payload_refusal`, as for a DomainError; the
wrapper that maps those (`refusals.refuse_domain_errors`) is installed here too,
inside this one, so a schema needs this single call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    default_field_resolver,
)

from loyalty_gql.api.core.errors import UserError, refusal_error
from loyalty_gql.api.core.refusals import payload_refusal, refuse_domain_errors
from loyalty_gql.domain.errors import FieldProblem
from loyalty_gql.domain.inputs import input_problems

# What every mutation's arguments say of themselves
INPUT = "What to do."
IDEMPOTENCY_KEY = (
    "Send the same key when retrying: the first result is returned, nothing is done twice."
)

GUARDED = "loyalty-guarded"


def guard_arguments(schema: GraphQLSchema) -> None:
    """Wrap every field with arguments (once; calling again changes nothing), outside the
    wrapper of every root field that turns a DomainError into its refusal."""
    refuse_domain_errors(schema)
    mutation = schema.mutation_type
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for field in type_.fields.values():
            if not field.args or (field.extensions or {}).get(GUARDED):
                continue
            refuse = _payload_refusal(field) if type_ is mutation else refuse_query
            field.resolve = _guarded(field.resolve or default_field_resolver, refuse)
            if field.subscribe is not None:  # a subscription is refused before it starts
                field.subscribe = _guarded(field.subscribe, refuse_query)
            field.extensions = {**(field.extensions or {}), GUARDED: True}


Refusal = Callable[[list[FieldProblem]], Any]


def _guarded(resolve: Callable[..., Any], refuse: Refusal) -> Callable[..., Any]:
    def guarded(source: Any, info: Any, **arguments: Any) -> Any:
        problems = list(input_problems(arguments, ()))
        if problems:
            return refuse(problems)
        return resolve(source, info, **arguments)

    return guarded


def refuse_query(problems: list[FieldProblem]) -> Any:
    """Refuse a field that is not a mutation: a GraphQL error, code BAD_USER_INPUT, whose
    extensions carry every problem as a userError (paths as the client wrote them)."""
    first = problems[0]
    where = ".".join(first.field)
    raise refusal_error(f"`{where}` {first.message}", "BAD_USER_INPUT", problems)


def _payload_refusal(field: GraphQLField) -> Refusal:
    """How a mutation refuses: its own payload, every result empty, with userErrors."""
    payload = payload_refusal(field)
    if payload is None:
        return refuse_query

    def refuse(problems: list[FieldProblem]) -> Any:
        return payload(
            [UserError(field=list(p.field), code=p.code, message=p.message) for p in problems]
        )

    return refuse
