"""Runs GraphQL documents: parse and validate once per document text, then execute.

Parsing and validation (with every protective rule: tokens, depth, aliases,
cost, and introspection in production) are cached per document text, so a
repeated query costs only its execution. Execution goes straight to
graphql-core with the schema strawberry built; strawberry's resolvers and
permission checks run as they always do. Errors not meant for the client are
logged and masked.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry import Schema
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from loyalty_gql.api.limits import cost_limit_rule
from loyalty_gql.config import Settings

log = logging.getLogger(__name__)
MASKED = "Internal error."
CACHE_SIZE = 2048


@dataclass(frozen=True, slots=True)
class Prepared:
    """A parsed and validated document, or the errors that stop it."""

    document: DocumentNode | None
    errors: list[GraphQLError]

    def operation(self, name: str | None) -> OperationDefinitionNode | None:
        """The operation to run, as chosen by ``operationName``."""
        return get_operation_ast(self.document, name) if self.document else None


class Executor:
    """Parses, validates (cached) and executes documents against one schema."""

    def __init__(self, schema: Schema, settings: Settings) -> None:
        self.schema = schema._schema
        self.max_tokens = settings.max_tokens
        rules = [
            *specified_rules,
            MaybeNullValidationRule,
            OneOfInputValidationRule,
            *QueryDepthLimiter(max_depth=settings.max_depth).validation_rules,
            *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
            cost_limit_rule(
                settings.max_complexity,
                default_page=settings.default_page_size,
                max_page=settings.max_page_size,
            ),
        ]
        if settings.is_production:
            rules.append(NoSchemaIntrospectionCustomRule)
        self.rules = tuple(rules)
        self._prepared: OrderedDict[str, Prepared] = OrderedDict()

    def prepare(self, query: str) -> Prepared:
        """Parse and validate ``query``, from the cache when it was seen before."""
        prepared = self._prepared.get(query)
        if prepared is not None:
            self._prepared.move_to_end(query)
            return prepared
        try:
            document = parse(query, max_tokens=self.max_tokens)
        except GraphQLError as error:
            prepared = Prepared(None, [error])
        else:
            errors = validate(self.schema, document, self.rules)
            prepared = Prepared(None if errors else document, list(errors))
        self._prepared[query] = prepared
        if len(self._prepared) > CACHE_SIZE:
            self._prepared.popitem(last=False)
        return prepared

    async def run(
        self,
        prepared: Prepared,
        *,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Any,
    ) -> ExecutionResult:
        """Execute a valid document; unexpected errors come back masked."""
        if prepared.document is None:
            return ExecutionResult(None, prepared.errors)
        result = execute(
            self.schema,
            prepared.document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
        )
        if isinstance(result, Awaitable):
            result = await result
        if result.errors:
            result.errors = [_masked(error) for error in result.errors]
        return result


def is_mutation(operation: OperationDefinitionNode | None) -> bool:
    """Whether the chosen operation changes data (refused over GET)."""
    return operation is not None and operation.operation is not OperationType.QUERY


def _masked(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return error
    log.error("unexpected error at %s", error.path, exc_info=original)
    return GraphQLError(MASKED, error.nodes, error.source, error.positions, error.path)
