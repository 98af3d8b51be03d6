"""The query cost estimate: objects cost 1, scalars nothing, pages multiply."""

from __future__ import annotations

import pytest
from graphql import parse, validate

from loyalty_gql.api.limits import cost_limit_rule
from loyalty_gql.api.schema import schema

SCHEMA = schema._schema


def _cost(query: str) -> int:
    rule = cost_limit_rule(0, default_page=20, max_page=100)
    errors = validate(SCHEMA, parse(query), [rule])
    return int((errors[0].extensions or {})["cost"]) if errors else 0


@pytest.mark.parametrize(
    ("query", "cost"),
    [
        ("{ __typename }", 0),
        ("{ viewer { id email } }", 1),
        ("{ viewer { id balance { available } site { code } } }", 3),
        ('{ customers(siteId: "x", first: 10) { edges { node { id } } } }', 1 + 10 * 2),
        ('{ customers(siteId: "x") { edges { node { id } } } }', 1 + 20 * 2),
        ('query($n: Int) { customers(siteId: "x", first: $n) { edges { node { id } } } }', 201),
        (
            '{ customers(siteId: "x", first: 2) { edges { node { ledger(first: 3) '
            "{ edges { node { kind } } } } } } }",
            1 + 2 * (1 + 1 + 1 + 3 * 2),
        ),
        (
            'query { ...F } fragment F on Query { customers(siteId: "x", first: 5) '
            "{ nodes { id } } }",
            1 + 5 * 1,
        ),
    ],
)
def test_cost_of_documents(query: str, cost: int):
    assert _cost(query) == cost


def test_a_document_within_the_limit_passes():
    rule = cost_limit_rule(10_000, default_page=20, max_page=100)
    assert validate(SCHEMA, parse("{ viewer { id } }"), [rule]) == []
