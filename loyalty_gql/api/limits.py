"""Protection against expensive documents: query cost as a validation rule."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, ValidationContext, ValidationRule
from graphql_complexity import SimpleEstimator, get_complexity
from graphql_complexity.config import Config


def cost_limit_rule(max_cost: int, max_page_size: int) -> type[ValidationRule]:
    """A rule refusing documents whose estimated cost is above ``max_cost``.

    Every field costs 1 and a list field multiplies what is below it by its
    `first` argument (the page cap when `first` comes from a variable), so a
    document's cost bounds the objects it can make the server load. Being a
    validation rule, its verdict is cached with the rest of validation.
    """
    estimator = SimpleEstimator(complexity=1)
    config = Config(count_arg_name="first", count_missing_arg_value=max_page_size)

    class CostLimit(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            try:
                cost = get_complexity(context.document, context.schema, estimator, config)
            except Exception:
                return
            if cost > max_cost:
                context.report_error(
                    GraphQLError(
                        f"Query cost {cost} is above the limit of {max_cost}; "
                        "ask for fewer fields or smaller pages.",
                        extensions={"code": "QUERY_TOO_COSTLY", "cost": cost},
                    )
                )

        def enter(self, *args: Any) -> None:
            return None

    return CostLimit
