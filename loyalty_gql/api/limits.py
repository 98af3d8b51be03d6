"""Protection against expensive documents: depth, aliases and query cost, weighed once.

A document's weight is measured on the document as written, never by expanding it:
each fragment is weighed once (memoised) and every spread of it reuses that weight,
so `fragment F0 { ...F1 ...F1 ...F1 ...F1 }` nested thirty times costs thirty
fragment visits, not 4^30. Numbers stop growing at ``CAP``, so an absurd document
yields a large number, never a huge integer. Unknown fragments and fragment cycles
weigh nothing here (the specified rules report them).

- **Depth**: a field with a selection set is one level; leaves, fragments and
  introspection fields add none.
- **Aliases**: aliased fields, a fragment's counted once per spread (pages do not
  multiply them: the cost does that).
- **Fields**: every field the operation selects once its fragments are expanded
  (what fan-outs of fragments multiply); pages do not multiply them.
- **Cost**: each object (a field with a selection set) costs 1; scalars are free,
  since the object they sit on was paid for. A field with a `first` argument (a
  connection) multiplies the cost of what is selected below it by its page: `first`
  or `last` (the smaller when both are given), the literal value, the page cap when
  it comes from a variable, the default page size when neither is given. A field
  with an `ids` list (`nodes`) is that many objects, each costing 1 and what is
  selected below it (the page cap, which also caps the ids, when they come from a
  variable).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.type import GraphQLInterfaceType, GraphQLNamedType

CAP = 1_000_000_000
MAX_FRAGMENT_NESTING = 50


@dataclass(frozen=True, slots=True)
class Weight:
    """What a selection set weighs: nesting depth, aliased fields and cost."""

    depth: int = 0
    aliases: int = 0
    cost: int = 0
    fields: int = 0


NOTHING = Weight()
LEAF = Weight(fields=1)


class _TooNestedError(Exception):
    """Fragments spread inside fragments beyond MAX_FRAGMENT_NESTING."""


class Weigher:
    """Weighs the operations of one document against one schema."""

    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, *, default_page: int, max_page: int
    ) -> None:
        self.schema = schema
        self.default_page = default_page
        self.max_page = max_page
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._weights: dict[str, Weight] = {}
        self._weighing: list[str] = []

    def operation(self, operation: OperationDefinitionNode) -> Weight:
        """The weight of one operation."""
        root = self.schema.get_root_type(operation.operation)
        return self._selections(operation.selection_set, root)

    def _selections(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None
    ) -> Weight:
        if selection_set is None:
            return NOTHING
        depth = aliases = cost = fields = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                weight = self._field(selection, parent)
                if selection.alias is not None:
                    aliases += 1
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                weight = self._selections(selection.selection_set, target)
            elif isinstance(selection, FragmentSpreadNode):
                weight = self._fragment(selection.name.value)
            else:  # pragma: no cover - the three kinds above are all there are
                continue
            depth = max(depth, weight.depth)
            aliases = min(aliases + weight.aliases, CAP)
            cost = min(cost + weight.cost, CAP)
            fields = min(fields + weight.fields, CAP)
        return Weight(depth, aliases, cost, fields)

    def _fragment(self, name: str) -> Weight:
        known = self._weights.get(name)
        if known is not None:
            return known
        fragment = self.fragments.get(name)
        if fragment is None or name in self._weighing:
            return NOTHING  # unknown or cyclic: reported by the specified rules
        if len(self._weighing) >= MAX_FRAGMENT_NESTING:
            raise _TooNestedError
        self._weighing.append(name)
        try:
            target = self.schema.get_type(fragment.type_condition.name.value)
            weight = self._selections(fragment.selection_set, target)
        finally:
            self._weighing.pop()
        self._weights[name] = weight
        return weight

    def _field(self, node: FieldNode, parent: GraphQLNamedType | None) -> Weight:
        if node.selection_set is None:
            return LEAF
        definition = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(node.name.value)
        multiplier = 1
        child = None
        each = 0  # what each object of a list of objects costs itself (nodes(ids:))
        if definition is not None:
            child = get_named_type(definition.type)
            if "first" in definition.args:
                multiplier = self._page(node)
            elif "ids" in definition.args:
                multiplier, each = self._ids(node), 1
        below = self._selections(node.selection_set, child)
        cost = min(1 - each + multiplier * (each + below.cost), CAP)
        # introspection (GraphiQL's schema query nests deeply) does not count as depth
        depth = 0 if node.name.value.startswith("__") else below.depth + 1
        return Weight(depth, below.aliases, cost, min(below.fields + 1, CAP))

    def _page(self, node: FieldNode) -> int:
        sizes = [
            min(max(int(argument.value.value), 0), CAP)
            if isinstance(argument.value, IntValueNode)
            else self.max_page
            for argument in node.arguments or ()
            if argument.name.value in {"first", "last"}
        ]
        return min(sizes) if sizes else self.default_page

    def _ids(self, node: FieldNode) -> int:
        for argument in node.arguments or ():
            if argument.name.value == "ids":
                if isinstance(argument.value, ListValueNode):
                    return min(len(argument.value.values), CAP)
                return self.max_page
        return 1


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    """The limits every document must keep; ``check`` weighs it once and reports."""

    max_depth: int
    max_aliases: int
    max_cost: int
    max_fields: int
    default_page: int
    max_page: int

    def check(
        self, schema: GraphQLSchema, document: DocumentNode
    ) -> tuple[dict[str | None, int], list[GraphQLError]]:
        """Each operation's cost (by name) and the errors of the limits it breaks."""
        weigher = Weigher(schema, document, default_page=self.default_page, max_page=self.max_page)
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        costs: dict[str | None, int] = {}
        errors: list[GraphQLError] = []
        for operation in operations:
            name = operation.name.value if operation.name else None
            try:
                weight = weigher.operation(operation)
            except _TooNestedError:
                errors.append(
                    GraphQLError(
                        f"Fragments are nested more than {MAX_FRAGMENT_NESTING} deep.",
                        operation,
                        extensions={"code": "QUERY_TOO_COMPLEX"},
                    )
                )
                continue
            costs[name] = weight.cost
            errors.extend(self._broken(name or "anonymous", operation, weight))
        return costs, errors

    def _broken(
        self, name: str, operation: OperationDefinitionNode, weight: Weight
    ) -> Sequence[GraphQLError]:
        checks: list[tuple[bool, str, dict[str, Any]]] = [
            (
                weight.depth > self.max_depth,
                f"'{name}' exceeds maximum operation depth of {self.max_depth}",
                {"code": "QUERY_TOO_DEEP"},
            ),
            (
                weight.aliases > self.max_aliases,
                f"{weight.aliases} aliases found. Allowed: {self.max_aliases}",
                {"code": "TOO_MANY_ALIASES"},
            ),
            (
                weight.fields > self.max_fields,
                f"'{name}' selects {_count(weight.fields)} fields once its fragments are "
                f"expanded; the limit is {self.max_fields}.",
                {"code": "QUERY_TOO_COMPLEX"},
            ),
            (
                weight.cost > self.max_cost,
                f"Query cost {_count(weight.cost)} is above the limit of {self.max_cost}; "
                "ask for fewer fields or smaller pages.",
                {"code": "QUERY_TOO_COSTLY", "cost": weight.cost},
            ),
        ]
        return [
            GraphQLError(message, operation, extensions=extensions)
            for broken, message, extensions in checks
            if broken
        ]


def _count(value: int) -> str:
    return f"over {CAP - 1}" if value >= CAP else str(value)
