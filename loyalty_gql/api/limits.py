"""Protection against expensive documents: query cost as a validation rule."""

from __future__ import annotations

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    get_named_type,
)
from graphql.type import GraphQLInterfaceType, GraphQLNamedType

MAX_FRAGMENT_NESTING = 20


class CostEstimator:
    """Estimates how many objects a document can make the server produce.

    Each object (a field with a selection set) costs 1; scalars are free, since
    the object they sit on was paid for. A field with a `first` argument (a
    connection) multiplies the cost of what is selected below it by `first`:
    the literal value, the page cap when it comes from a variable, the default
    page size when omitted. Aliases and tokens are limited separately.
    """

    def __init__(self, context: ValidationContext, *, default_page: int, max_page: int) -> None:
        self.schema = context.schema
        self.default_page = default_page
        self.max_page = max_page
        self.fragments = {
            d.name.value: d
            for d in context.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }

    def operation_cost(self, operation: OperationDefinitionNode) -> int:
        """The cost of one operation."""
        root = self.schema.get_root_type(operation.operation)
        return self._selection_cost(operation.selection_set, root, 0) if root else 0

    def _selection_cost(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None, depth: int
    ) -> int:
        if selection_set is None or parent is None or depth > MAX_FRAGMENT_NESTING:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field_cost(selection, parent, depth)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self._selection_cost(selection.selection_set, target, depth + 1)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    target = self.schema.get_type(fragment.type_condition.name.value)
                    total += self._selection_cost(fragment.selection_set, target, depth + 1)
        return total

    def _field_cost(self, node: FieldNode, parent: GraphQLNamedType, depth: int) -> int:
        if node.selection_set is None:
            return 0
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 1
        definition = parent.fields.get(node.name.value)
        if definition is None:
            return 1
        child_type = get_named_type(definition.type)
        multiplier = self._page(node) if "first" in definition.args else 1
        return 1 + multiplier * self._selection_cost(node.selection_set, child_type, depth)

    def _page(self, node: FieldNode) -> int:
        for argument in node.arguments or ():
            if argument.name.value == "first":
                if isinstance(argument.value, IntValueNode):
                    return max(int(argument.value.value), 0)
                return self.max_page
        return self.default_page


def cost_limit_rule(max_cost: int, *, default_page: int, max_page: int) -> type[ValidationRule]:
    """A validation rule refusing operations whose estimated cost is above ``max_cost``.

    Being a validation rule, its verdict is cached with the rest of validation.
    """

    class CostLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: object) -> None:
            estimator = CostEstimator(self.context, default_page=default_page, max_page=max_page)
            cost = estimator.operation_cost(node)
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"Query cost {cost} is above the limit of {max_cost}; "
                        "ask for fewer fields or smaller pages.",
                        node,
                        extensions={"code": "QUERY_TOO_COSTLY", "cost": cost},
                    )
                )

    return CostLimit
