"""The query cost estimate: objects cost 1, scalars nothing, pages multiply."""

from __future__ import annotations

import pytest
from graphql import parse

from loyalty_gql.api.limits import DocumentLimits
from loyalty_gql.api.schema import schema

SCHEMA = schema._schema
LIMITS = DocumentLimits(
    max_depth=12, max_aliases=30, max_cost=5000, max_fields=2000, default_page=20, max_page=100
)


def _cost(query: str) -> int:
    costs, _ = LIMITS.check(SCHEMA, parse(query))
    return costs[None]


def _errors(query: str) -> list[tuple[str, str]]:
    _, errors = LIMITS.check(SCHEMA, parse(query))
    return [(e.message, (e.extensions or {})["code"]) for e in errors]


def _fan_out(levels: int, spreads: int = 4) -> str:
    """`query { ...F0 } fragment F0 on Query { ...F1 ...F1 ...F1 ...F1 }` and so on."""
    fragments = [
        f"fragment F{i} on Query {{ {' '.join([f'...F{i + 1}'] * spreads)} }}"
        for i in range(levels)
    ]
    return " ".join(
        ["query { ...F0 }", *fragments, f"fragment F{levels} on Query {{ __typename }}"]
    )


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
        # `last` pages as `first` does; with both, the smaller is the page
        ('{ customers(siteId: "x", last: 7) { edges { node { id } } } }', 1 + 7 * 2),
        ('query($n: Int) { customers(siteId: "x", last: $n) { nodes { id } } }', 1 + 100),
        ('{ customers(siteId: "x", first: 9, last: 4) { nodes { id } } }', 1 + 4),
        ('query($n: Int) { events(siteId: "x", first: 3, last: $n) { nodes { id } } }', 1 + 3),
        # nodes(ids:) is an object per id (the cap's worth when they are a variable)
        ('{ nodes(ids: ["a", "b", "c"]) { id ... on Customer { site { id } } } }', 3 * (1 + 1)),
        ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", 100),
        ("{ nodes(ids: []) { id } }", 0),
    ],
)
def test_cost_of_documents(query: str, cost: int):
    assert _cost(query) == cost


def test_a_document_within_the_limits_passes():
    assert _errors("{ viewer { id } }") == []


@pytest.mark.parametrize("levels", [11, 29])
def test_fragment_fan_outs_are_weighed_without_expanding_them(levels: int):
    # 4^12 and 4^30 fields once expanded; weighed in one visit per fragment
    message, code = _errors(_fan_out(levels))[0]
    assert code == "QUERY_TOO_COMPLEX"
    assert "fields once its fragments are expanded; the limit is 2000" in message


def test_a_fragment_spread_many_times_counts_its_fields_and_aliases_per_spread():
    fragment = "fragment F on Query { a: __typename b: __typename }"
    spreads = " ".join(["...F"] * 10)
    assert _errors(f"{{ {spreads} }} {fragment}") == []  # the same spread merges: 2 aliases
    nested = " ".join(f"s{i}: viewer {{ ... on Customer {{ id }} }}" for i in range(5))
    assert _errors(f"{{ {nested} }}") == []
    many = " ".join(f"v{i}: viewer {{ ...G }}" for i in range(8))
    fragment_g = "fragment G on Customer { x: id y: id z: id }"
    message, code = _errors(f"{{ {many} }} {fragment_g}")[0]
    assert (message, code) == ("32 aliases found. Allowed: 30", "TOO_MANY_ALIASES")


def test_depth_counts_through_fragments_but_not_introspection():
    deep = "{ viewer { ...A } } fragment A on Customer { site { ...B } } "
    deep += "fragment B on Site { program { thresholdReward { points } } }"
    assert _errors(deep) == []
    limits = DocumentLimits(
        max_depth=3, max_aliases=30, max_cost=5000, max_fields=2000, default_page=20, max_page=100
    )
    _, errors = limits.check(SCHEMA, parse(deep))
    assert [(e.extensions or {})["code"] for e in errors] == ["QUERY_TOO_DEEP"]
    levels = ["__schema", "types", "fields", "type", *["ofType"] * 8]
    introspection = "{ " + " ".join(f"{f} {{" for f in levels) + " name " + "} " * 13
    _, errors = limits.check(SCHEMA, parse(introspection))
    assert errors == []


def test_unknown_and_cyclic_fragments_weigh_nothing_here():
    # the specified rules report them; the limits must not fail on them
    assert _errors("{ ...Missing }") == []
    assert _errors("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }") == []


def test_fragments_nested_beyond_fifty_are_refused():
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(60))
    query = f"{{ ...F0 }} {chain} fragment F60 on Query {{ __typename }}"
    assert _errors(query) == [
        ("Fragments are nested more than 50 deep.", "QUERY_TOO_COMPLEX"),
    ]


def test_an_absurd_page_size_gives_a_bounded_cost():
    query = '{ ledgerEntries(siteId: "x", first: 275467382898141102080) { nodes { id } } }'
    message, code = _errors(query)[0]
    assert code == "QUERY_TOO_COSTLY"
    assert message.startswith("Query cost over 999999999 is above the limit of 5000")
