"""Every input type of the schema is built by its plan exactly as Strawberry's own
conversion builds it (api/core/input_builders.py), whatever the client sends: fields
given, left out or null, lists, nested inputs, enums and every scalar."""

from __future__ import annotations

import random
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    coerce_input_value,
)
from graphql.pyutils import Undefined
from strawberry.types.arguments import InputContext, convert_argument
from strawberry.types.base import StrawberryObjectDefinition

from loyalty_gql.api.schema import schema

SCALAR_VALUES: dict[str, list[Any]] = {
    "String": ["", "sku-1", "ünïcode ✓"],
    "ID": ["U2l0ZTox", "42"],
    "Int": [0, 7, -3],
    "Float": [0.5, 2.0],
    "Boolean": [True, False],
    "BigInt": [0, 9007199254740991],
    "Decimal": ["10.99", "0", "1234.5"],
    "Date": ["2026-12-03", "2000-02-29"],
    "DateTime": ["2026-12-03T15:00:00Z", "2026-01-01T00:00:00+02:00"],
    "JSON": [{"a": [1, "b"]}, [1, 2], "text"],
}


def inputs() -> list[tuple[type, StrawberryObjectDefinition, GraphQLInputObjectType]]:
    found = []
    for concrete in schema.schema_converter.type_map.values():
        definition = concrete.definition
        if isinstance(definition, StrawberryObjectDefinition) and definition.is_input:
            graphql_type = schema._schema.type_map[definition.name]
            assert isinstance(graphql_type, GraphQLInputObjectType)
            found.append((definition.origin, definition, graphql_type))
    return sorted(found, key=lambda t: t[1].name)


def sample(
    type_: GraphQLInputType, rng: random.Random, depth: int = 0, *, null: bool = True
) -> Any:
    """A JSON value of ``type_`` as a client sends it (nullable values sometimes null)."""
    if isinstance(type_, GraphQLNonNull):
        return sample(type_.of_type, rng, depth, null=False)
    if null and rng.random() < 0.2:
        return None
    if isinstance(type_, GraphQLList):
        return [sample(type_.of_type, rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if isinstance(type_, GraphQLEnumType):
        return rng.choice(list(type_.values))
    if isinstance(type_, GraphQLScalarType):
        return rng.choice(SCALAR_VALUES[type_.name])
    assert isinstance(type_, GraphQLInputObjectType)
    value = {}
    for name, field in type_.fields.items():
        required = isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
        if required or (depth < 3 and rng.random() < 0.7):
            value[name] = sample(field.type, rng, depth + 1)
    return value


@pytest.mark.parametrize(
    ("cls", "definition", "graphql_type"), [pytest.param(*t, id=t[1].name) for t in inputs()]
)
def test_a_planned_input_is_built_as_strawberry_builds_it(
    cls: type, definition: StrawberryObjectDefinition, graphql_type: GraphQLInputObjectType
):
    # given: the type's planned builder (every input type of the schema has one)
    build = definition.from_input
    assert build is not None, f"{definition.name} keeps Strawberry's conversion"
    config = schema.config
    registry = schema.schema_converter.scalar_registry
    context = InputContext(info=None, config=config, scalar_registry=registry, path=())
    rng = random.Random(definition.name)
    for _ in range(40):
        raw = sample(GraphQLNonNull(graphql_type), rng)
        coerced = coerce_input_value(raw, GraphQLNonNull(graphql_type))
        # when: built by the plan, and by Strawberry with the builders taken away
        planned = build(cls, coerced, context)
        saved = _take_builders()
        try:
            generic = convert_argument(coerced, cls, registry, config)
        finally:
            _give_back(saved)
        # then: the same value, field for field (dataclass equality, nested too)
        assert type(planned) is type(generic)
        assert planned == generic, (definition.name, coerced)


def _take_builders() -> list[tuple[StrawberryObjectDefinition, Any]]:
    saved = []
    for _, definition, _ in inputs():
        saved.append((definition, definition.from_input))
        definition.from_input = None
    return saved


def _give_back(saved: list[tuple[StrawberryObjectDefinition, Any]]) -> None:
    for definition, build in saved:
        definition.from_input = build
