"""negotiate: the response media type /graphql picks from the Accept header."""

from __future__ import annotations

import pytest

from loyalty_gql.api.http import GRAPHQL_RESPONSE, JSON, negotiate


@pytest.mark.parametrize("accept", ["", "   "])
def test_no_accept_header_gets_plain_json(accept: str):
    assert negotiate(accept) == JSON


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("application/graphql-response+json", GRAPHQL_RESPONSE),
        ("application/json", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("Application/GraphQL-Response+JSON", GRAPHQL_RESPONSE),
        ("application/graphql-response+json; charset=utf-8", GRAPHQL_RESPONSE),
        ("text/html, application/json", JSON),
        ("text/html, */*;q=0.1", JSON),
    ],
)
def test_a_single_acceptable_type(accept: str, media_type: str):
    assert negotiate(accept) == media_type


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("application/json;q=0.5, application/graphql-response+json", GRAPHQL_RESPONSE),
        ("application/graphql-response+json;q=0.5, application/json", JSON),
        (
            "application/json ; q=0.8 , application/graphql-response+json ; q=0.9",
            GRAPHQL_RESPONSE,
        ),
        ("*/*;q=0.9, application/graphql-response+json", GRAPHQL_RESPONSE),
        ("application/graphql-response+json;q=0.1, */*;q=0.2", JSON),
    ],
)
def test_the_highest_quality_wins(accept: str, media_type: str):
    assert negotiate(accept) == media_type


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("application/graphql-response+json, application/json", GRAPHQL_RESPONSE),
        ("application/json, application/graphql-response+json", JSON),
        ("application/json;q=0.5, application/graphql-response+json;q=0.5", JSON),
    ],
)
def test_equal_quality_goes_to_the_first_listed(accept: str, media_type: str):
    assert negotiate(accept) == media_type


@pytest.mark.parametrize(
    "accept",
    [
        "text/html",
        "text/*",
        "application/xml, text/plain",
        "application/json;q=0",
        "application/json;q=0.0, application/graphql-response+json;q=0",
        "application/json;q=not-a-number",
        "application/jsonx",
    ],
)
def test_nothing_acceptable_is_none(accept: str):
    assert negotiate(accept) is None


def test_a_refused_type_does_not_hide_an_acceptable_one():
    assert negotiate("application/graphql-response+json;q=0, application/json;q=0.3") == JSON
