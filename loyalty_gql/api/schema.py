"""The schema: every area's queries and mutations, with the protective extensions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from loyalty_gql.api.customers.mutations import CustomerMutations
from loyalty_gql.api.customers.queries import CustomerQueries
from loyalty_gql.api.customers.types import Customer
from loyalty_gql.api.limits import cost_limit_rule
from loyalty_gql.api.node_query import NodeQueries
from loyalty_gql.api.points.mutations import PointsMutations
from loyalty_gql.api.points.queries import PointsQueries
from loyalty_gql.api.points.types import LedgerEntry, Tier, Voucher
from loyalty_gql.api.sites.mutations import SiteMutations
from loyalty_gql.api.sites.queries import SiteQueries
from loyalty_gql.api.sites.types import Site
from loyalty_gql.config import Settings

log = logging.getLogger(__name__)

Query = merge_types("Query", (NodeQueries, SiteQueries, CustomerQueries, PointsQueries))
Mutation = merge_types("Mutation", (SiteMutations, CustomerMutations, PointsMutations))
Query.__strawberry_definition__.description = "Everything that can be read."  # type: ignore[attr-defined]
Mutation.__strawberry_definition__.description = "Everything that can be changed."  # type: ignore[attr-defined]


def should_mask(error: GraphQLError) -> bool:
    """Hide errors that were not meant for the client; GraphQL errors stay readable."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """Factories of the protective extensions, in the order they must run.

    The validation rules are built once so that their classes are the same on
    every request: the validation cache is keyed by them.
    """
    rules = [
        *QueryDepthLimiter(max_depth=settings.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
        cost_limit_rule(
            settings.max_complexity,
            default_page=settings.default_page_size,
            max_page=settings.max_page_size,
        ),
    ]
    result: list[Callable[[], SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: ParserCache(maxsize=1024),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=1024),
        lambda: MaskErrors(should_mask_error=should_mask, error_message="Internal error."),
    ]
    if settings.is_production:
        result.insert(0, DisableIntrospection)
    return result


class LoyaltySchema(strawberry.Schema):
    """The schema, logging only the errors that are masked from the client."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log unexpected errors with their traceback; expected ones are the client's."""
        for error in errors:
            if should_mask(error):
                log.error("unexpected error in %s", error.path, exc_info=error.original_error)


def build_schema(settings: Settings) -> strawberry.Schema:
    """The executable schema for these settings."""
    return LoyaltySchema(
        query=Query,
        mutation=Mutation,
        types=[Site, Customer, LedgerEntry, Tier, Voucher],
        extensions=extensions(settings),
        config=StrawberryConfig(auto_camel_case=True),
    )


@lru_cache
def printed_schema() -> str:
    """The SDL of the schema, as committed in schema.graphql."""
    return (
        strawberry.Schema(
            query=Query, mutation=Mutation, types=[Site, Customer, LedgerEntry, Tier, Voucher]
        ).as_str()
        + "\n"
    )
