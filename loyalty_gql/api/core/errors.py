"""userErrors: expected failures of mutations, with a code clients can switch on."""

from __future__ import annotations

from collections.abc import Collection, Iterable

import strawberry
from graphql import GraphQLError

from loyalty_gql.api.core.permissions import PUBLIC
from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem
from loyalty_gql.domain.spelling import camel

strawberry.enum(ErrorCode, description="Why a mutation did not do what was asked.")


@strawberry.type(description="An expected failure of a mutation, for the person using the app.")
class UserError:
    """One problem with a mutation's input or with the state it would change."""

    field: list[str] = strawberry.field(
        description="Path to the input field at fault; empty when the input as a whole is.",
        metadata=PUBLIC,
    )
    code: ErrorCode = strawberry.field(description="Machine-readable reason.", metadata=PUBLIC)
    message: str = strawberry.field(description="Human-readable explanation.", metadata=PUBLIC)


def wire_path(path: Iterable[str]) -> list[str]:
    """A field path as clients spell it: the domain names fields in snake_case
    (``minimum_order_value``), the schema in camelCase (``minimumOrderValue``); list
    indices stay as they are. Names already in camelCase pass unchanged."""
    return [camel(part) for part in path]


def user_errors(error: DomainError, arguments: Collection[str] = ()) -> list[UserError]:
    """The userErrors for a domain error; input paths are prefixed with ``input``, except
    those naming one of the mutation's other ``arguments`` (updateChallenge's
    ``challengeId``), which stand as they are."""
    return [
        UserError(
            field=_argument_path(wire_path(p.field), arguments), code=p.code, message=p.message
        )
        for p in error.problems
    ]


def _argument_path(path: list[str], arguments: Collection[str]) -> list[str]:
    if not path:
        return []
    return path if path[0] in arguments else ["input", *path]


def query_error(error: DomainError, *prefix: str) -> GraphQLError:
    """A query's expected failure (a query has no payload for userErrors): a top-level
    error whose extensions carry the first code and every problem as a userError,
    input paths prefixed with ``prefix`` (("input",) when the query takes one)."""
    return refusal_error(str(error), error.problems[0].code.value, error.problems, prefix)


def refusal_error(
    message: str, code: str, problems: Iterable[FieldProblem], prefix: Iterable[str] = ()
) -> GraphQLError:
    """The one shape of a refused query field: ``code`` and every problem as a userError
    in the extensions, paths spelled for the wire under ``prefix``."""
    return GraphQLError(
        message,
        extensions={
            "code": code,
            "userErrors": [
                {
                    "field": [*prefix, *wire_path(p.field)],
                    "code": p.code.value,
                    "message": p.message,
                }
                for p in problems
            ],
        },
    )


class BadRequestError(GraphQLError):
    """A malformed request (bad argument, too large a page): a top-level error."""

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": "BAD_USER_INPUT"})
