"""Runs GraphQL documents: parse and validate once per document text, then execute.

Parsing and validation (with every protective rule: tokens, depth, aliases,
cost, and introspection in production) are cached per document text, so a
repeated query costs only its execution. Execution goes straight to
graphql-core with the schema strawberry built; strawberry's resolvers and
permission checks run as they always do. Errors not meant for the client are
logged and masked. An operation that reads only the root's ``__typename`` (clients'
and load balancers' ping, ``{ __typename }``) is answered from what validation saw,
without graphql-core's execution (most of such a request's cost).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    specified_rules,
    subscribe,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry import Schema
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from loyalty_gql.api.limits import DocumentLimits
from loyalty_gql.config import Settings

log = logging.getLogger(__name__)
MASKED = "Internal error."
CACHE_SIZE = 2048
NESTED_TOO_DEEP = "The document is nested too deeply."
TOO_COMPLEX = {"code": "QUERY_TOO_COMPLEX"}


@dataclass(frozen=True, slots=True)
class Prepared:
    """A parsed and validated document, or the errors that stop it."""

    document: DocumentNode | None
    errors: list[GraphQLError]
    costs: dict[str | None, int] = field(default_factory=dict)
    constants: dict[str | None, dict[str, str]] = field(default_factory=dict)
    """The data of operations that read nothing but the root's ``__typename`` (a client's
    ping), by the ``operationName`` that chooses them: known without executing them."""

    def cost(self, name: str | None) -> int:
        """The estimated cost of the operation ``operationName`` chooses (0 when none)."""
        if name is None and len(self.costs) == 1:
            return next(iter(self.costs.values()))
        return self.costs.get(name, 0)

    def operation(self, name: str | None) -> OperationDefinitionNode | None:
        """The operation to run, as chosen by ``operationName``."""
        return get_operation_ast(self.document, name) if self.document else None


class Executor:
    """Parses, validates (cached) and executes documents against one schema."""

    def __init__(self, schema: Schema, settings: Settings) -> None:
        self.schema = schema._schema
        self.max_tokens = settings.max_tokens
        self.limits = DocumentLimits(
            max_depth=settings.max_depth,
            max_aliases=settings.max_aliases,
            max_cost=settings.max_complexity,
            max_fields=settings.max_fields,
            default_page=settings.default_page_size,
            max_page=settings.max_page_size,
        )
        rules = [*specified_rules, MaybeNullValidationRule, OneOfInputValidationRule]
        if settings.is_production:
            rules.append(NoSchemaIntrospectionCustomRule)
        self.rules = tuple(rules)
        self.roots = {
            OperationType.QUERY: self.schema.query_type.name if self.schema.query_type else None,
            OperationType.MUTATION: (
                self.schema.mutation_type.name if self.schema.mutation_type else None
            ),
        }
        self._prepared: OrderedDict[str, Prepared] = OrderedDict()

    def prepare(self, query: str) -> Prepared:
        """Parse and validate ``query``, from the cache when it was seen before."""
        prepared = self._prepared.get(query)
        if prepared is not None:
            self._prepared.move_to_end(query)
            return prepared
        prepared = self._prepare(query)
        self._prepared[query] = prepared
        if len(self._prepared) > CACHE_SIZE:
            self._prepared.popitem(last=False)
        return prepared

    def _prepare(self, query: str) -> Prepared:
        # The limits weigh the document first, in time linear in its size: a document
        # they refuse never reaches the specified rules.
        try:
            document = parse(query, max_tokens=self.max_tokens)
            costs, errors = self.limits.check(self.schema, document)
            if not errors:
                errors = validate(self.schema, document, self.rules)
        except GraphQLError as error:
            return Prepared(None, [_coded(error, "GRAPHQL_PARSE_FAILED")])
        except RecursionError:
            return Prepared(None, [GraphQLError(NESTED_TOO_DEEP, extensions=TOO_COMPLEX)])
        if errors:
            return Prepared(None, [_coded(e, "GRAPHQL_VALIDATION_FAILED") for e in errors])
        return Prepared(document, [], costs, self._constants(document))

    def _constants(self, document: DocumentNode) -> dict[str | None, dict[str, str]]:
        """The data of each operation whose answer does not depend on anything: one that
        selects only ``__typename`` on its root (aliased or not), with no directives and no
        variables (whose coercion can fail), as graphql-core would answer it."""
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        constants: dict[str | None, dict[str, str]] = {}
        for operation in operations:
            root = self.roots.get(operation.operation)
            if root is None or operation.variable_definitions or operation.directives:
                continue
            data: dict[str, str] = {}
            for selection in operation.selection_set.selections:
                if (
                    not isinstance(selection, FieldNode)
                    or selection.name.value != "__typename"
                    or selection.directives
                    or selection.arguments
                ):
                    break
                data[(selection.alias or selection.name).value] = root
            else:
                if operation.name is not None:
                    constants[operation.name.value] = data
                if len(operations) == 1:
                    constants[None] = data
        return constants

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
        constant = prepared.constants.get(operation_name)
        if constant is not None:
            return ExecutionResult(dict(constant), None)
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

    async def subscribe(
        self,
        prepared: Prepared,
        *,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Any,
    ) -> AsyncIterator[ExecutionResult] | ExecutionResult:
        """Start a valid subscription: its results as they come, each with unexpected
        errors masked; or the one result that refuses it."""
        if prepared.document is None:
            return ExecutionResult(None, prepared.errors)
        results = subscribe(
            self.schema,
            prepared.document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
        )
        if isinstance(results, Awaitable):
            results = await results
        if isinstance(results, ExecutionResult):
            if results.errors:
                results.errors = [_masked(error) for error in results.errors]
            return results
        return _masking(results)


async def _masking(results: AsyncIterator[ExecutionResult]) -> AsyncIterator[ExecutionResult]:
    """The results with unexpected errors masked; a failing event source ends the stream
    with one result carrying its error."""
    try:
        async for result in results:
            if result.errors:
                result.errors = [_masked(error) for error in result.errors]
            yield result
    except GraphQLError as error:
        yield ExecutionResult(None, [error])
    except Exception:
        log.exception("a subscription's event source failed")
        yield ExecutionResult(None, [GraphQLError(MASKED)])
    finally:
        aclose = getattr(results, "aclose", None)
        if aclose is not None:
            await aclose()


def is_subscription(operation: OperationDefinitionNode | None) -> bool:
    """Whether the chosen operation is a subscription (only over WebSocket)."""
    return operation is not None and operation.operation is OperationType.SUBSCRIPTION


def is_mutation(operation: OperationDefinitionNode | None) -> bool:
    """Whether the chosen operation changes data (refused over GET)."""
    return operation is not None and operation.operation is not OperationType.QUERY


def _masked(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        # variables that do not coerce are the only errors without a path
        return error if error.path else _coded(error, "BAD_USER_INPUT")
    log.error("unexpected error at %s", error.path, exc_info=original)
    return GraphQLError(MASKED, error.nodes, error.source, error.positions, error.path)


def _coded(error: GraphQLError, code: str) -> GraphQLError:
    """The error with a machine-readable code in its extensions (kept if it has one)."""
    if not (error.extensions or {}).get("code"):
        error.extensions = {**(error.extensions or {}), "code": code}
    return error
