"""Operations that read only the root's __typename are answered without executing them,
exactly as graphql-core answers them; anything else still executes."""

from __future__ import annotations

import dataclasses

import pytest

from loyalty_gql.api.executor import Executor
from loyalty_gql.api.schema import schema
from loyalty_gql.config import Settings

EXECUTOR = Executor(schema, Settings(env="test"))

KEYS = ("b", "__typename", "a")
CONSTANT = [
    ("{ __typename }", None, {"__typename": "Query"}),
    ("query Ping { __typename }", None, {"__typename": "Query"}),
    ("query Ping { __typename }", "Ping", {"__typename": "Query"}),
    ("{ b: __typename __typename a: __typename }", None, dict.fromkeys(KEYS, "Query")),
    ("{ __typename __typename }", None, {"__typename": "Query"}),
    ("mutation { __typename }", None, {"__typename": "Mutation"}),
    ("query A { __typename } query B { b: __typename }", "B", {"b": "Query"}),
]  # fmt: skip

EXECUTED = [
    # directives and variables may change the answer or refuse it
    ("{ __typename @include(if: true) }", None),
    ("{ __typename @skip(if: true) }", None),
    ("query ($skip: Boolean!) { __typename @skip(if: $skip) }", None),
    ("query ($skip: Boolean = false) { __typename @skip(if: $skip) }", None),
    # fragments, other fields, and operations that are not (uniquely) chosen
    ("{ ... on Query { __typename } }", None),
    ("{ ...F } fragment F on Query { __typename }", None),
    ("{ __typename __schema { queryType { name } } }", None),
    ("query A { __typename } query B { __typename }", None),
    ("query A { __typename }", "B"),
    ("{ __typename }", "A"),
]


@pytest.mark.parametrize(("query", "name", "data"), CONSTANT)
async def test_typename_only_operations_are_constants_graphql_core_agrees_with(
    query: str, name: str | None, data: dict[str, str]
):
    prepared = EXECUTOR.prepare(query)
    assert prepared.constants.get(name) == data
    known = await EXECUTOR.run(prepared, variables={"x": 1}, operation_name=name, context=None)
    executed = await EXECUTOR.run(
        dataclasses.replace(prepared, constants={}), variables={"x": 1}, operation_name=name,
        context=None,
    )  # fmt: skip
    assert (known.data, known.errors) == (executed.data, executed.errors) == (data, None)
    assert list(known.data or {}) == list(executed.data or {})  # the same order of keys


@pytest.mark.parametrize(("query", "name"), EXECUTED)
def test_anything_else_is_executed(query: str, name: str | None):
    prepared = EXECUTOR.prepare(query)
    assert prepared.document is not None
    assert name not in prepared.constants


def test_invalid_documents_have_no_constants():
    assert EXECUTOR.prepare("{ __typename nope }").constants == {}
    assert EXECUTOR.prepare("subscription { __typename }").constants == {}
