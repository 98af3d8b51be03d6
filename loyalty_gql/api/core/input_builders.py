"""Input objects built from a plan made once per type, not worked out again per value.

Strawberry turns a mutation's coerced input (a dict keyed by GraphQL names) into its
input classes field by field, resolving each field's type and walking its wrappers
on every request: for recordOrder's input with three lines, 42 conversions and about
half a millisecond, a sixth of the API's own time per order. Strawberry lets a type
build its own value (``StrawberryObjectDefinition.from_input``); `plan_inputs` gives
every input type of the schema a builder that does exactly what the generic
conversion does (fields without a default start as None, the ones the client sent
converted, the class called with them) from a plan computed on first use. A type
with a field the plan cannot express (a ``Maybe``, a ``GlobalID``, a type of its own
making) keeps Strawberry's conversion.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any

import strawberry
from strawberry.relay.types import GlobalID
from strawberry.scalars import is_scalar
from strawberry.types.arguments import InputContext
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryObjectDefinition,
    StrawberryOptional,
    StrawberryType,
    has_object_definition,
)
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.lazy_type import LazyType
from strawberry.types.unset import UNSET

Convert = Callable[[Any], Any]
Build = Callable[[type, Mapping[str, Any], InputContext], Any]


class _UnplannableError(Exception):
    """A field whose conversion the plan does not express."""


class _Planner:
    """Plans for the input types of one schema, made on first use."""

    def __init__(self, schema: strawberry.Schema) -> None:
        self.registry = schema.schema_converter.scalar_registry
        self.names = schema.config.name_converter
        self.plans: dict[int, tuple[tuple[str, ...], tuple[tuple[str, str, Convert], ...]]] = {}

    def builder(self, definition: StrawberryObjectDefinition) -> Build | None:
        """The definition's builder; None when one of its fields cannot be planned."""
        try:
            self.plan(definition)
        except _UnplannableError:
            return None
        key = id(definition)

        def build(cls: type, value: Mapping[str, Any], _: InputContext) -> Any:
            return self.build(key, cls, value)

        return build

    def build(self, key: int, cls: type, value: Mapping[str, Any]) -> Any:
        """``cls`` from the input ``value`` by the plan of definition ``key``."""
        unset, fields = self.plans[key]
        kwargs: dict[str, Any] = dict.fromkeys(unset)
        for graphql_name, python_name, convert in fields:
            if graphql_name in value:
                kwargs[python_name] = convert(value[graphql_name])
        return cls(**kwargs)

    def plan(self, definition: StrawberryObjectDefinition) -> None:
        key = id(definition)
        if key in self.plans:
            return
        unset = tuple(
            f.python_name
            for f in definition.fields
            if f.default_value is MISSING and f.default_factory is MISSING
        )
        self.plans[key] = (unset, ())  # a type that contains itself finds its plan
        try:
            fields = tuple(
                (
                    self.names.from_field(f),
                    f.python_name,
                    self.converter(f.resolve_type(type_definition=definition)),
                )
                for f in definition.fields
            )
        except _UnplannableError:
            del self.plans[key]
            raise
        self.plans[key] = (unset, fields)

    def converter(self, type_: StrawberryType | type) -> Convert:
        """What the generic conversion does to a value of ``type_``, as one function:
        null and unset pass as they are."""
        inner = self._inner(type_)

        def convert(value: Any) -> Any:
            if value is None or value is UNSET:
                return value
            return inner(value)

        return convert

    def _inner(self, type_: StrawberryType | type) -> Convert:
        if isinstance(type_, StrawberryMaybe):
            raise _UnplannableError
        if isinstance(type_, StrawberryOptional):
            return self.converter(type_.of_type)
        if isinstance(type_, StrawberryList):
            if self._is_leaf(type_.of_type):
                return list  # copied: graphql-core shares defaults between requests
            item = self.converter(type_.of_type)
            return lambda values: [item(v) for v in values]
        if type_ is GlobalID:
            raise _UnplannableError
        if self._is_leaf(type_):
            return _same
        if isinstance(type_, LazyType):
            return self._inner(type_.resolve_type())
        if has_object_definition(type_):
            nested: StrawberryObjectDefinition = type_.__strawberry_definition__
            if not nested.is_input or nested.from_input is not None:
                raise _UnplannableError
            self.plan(nested)
            key, cls = id(nested), type_
            return lambda value: self.build(key, cls, value)
        raise _UnplannableError

    def _is_leaf(self, type_: StrawberryType | type) -> bool:
        """Scalars and enums come from graphql-core as they are used (a GlobalID does
        not: it is parsed); an optional leaf is a leaf too."""
        if isinstance(type_, StrawberryOptional):
            return self._is_leaf(type_.of_type)
        if isinstance(type_, LazyType):
            return self._is_leaf(type_.resolve_type())
        if type_ is GlobalID:
            return False
        return (
            is_scalar(type_, self.registry)
            or isinstance(type_, StrawberryEnumDefinition)
            or has_enum_definition(type_)
        )


def _same(value: Any) -> Any:
    return value


def plan_inputs(schema: strawberry.Schema) -> int:
    """Give every input type of ``schema`` its planned builder (those Strawberry's
    conversion must keep are left alone); how many got one."""
    planner = _Planner(schema)
    builders: list[tuple[StrawberryObjectDefinition, Build]] = []
    for concrete in list(schema.schema_converter.type_map.values()):
        definition = concrete.definition
        if isinstance(definition, StrawberryObjectDefinition) and definition.is_input:
            build = planner.builder(definition) if definition.from_input is None else None
            if build is not None:
                builders.append((definition, build))
    # installed once all are planned: a plan builds the nested types it contains only
    # while they have no builder of their own (checked when planning)
    for definition, build in builders:
        definition.from_input = build
    return len(builders)
