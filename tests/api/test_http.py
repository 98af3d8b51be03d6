"""The HTTP surface: health, readiness, metrics, media types, auth errors and limits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from loyalty_gql.api.executor import Executor
from loyalty_gql.config import Settings
from tests.conftest import GraphQLClient

TYPENAME = {"query": "{ __typename }"}


async def test_health_readiness_and_metrics(http: httpx.AsyncClient):
    assert (await http.get("/healthz")).text == "ok"
    ready = await http.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    await http.post("/graphql", json=TYPENAME)
    metrics = await http.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'loyalty_http_requests_total{path="/graphql",status="200"}' in metrics.text


async def test_graphql_response_json_request_errors_are_400_without_data(
    http: httpx.AsyncClient,
):
    accept = {"accept": "application/graphql-response+json"}
    parse_error = await http.post("/graphql", json={"query": "{"}, headers=accept)
    invalid = await http.post("/graphql", json={"query": "{ nope }"}, headers=accept)
    for response in (parse_error, invalid):
        assert response.status_code == 400
        assert response.headers["content-type"] == (
            "application/graphql-response+json; charset=utf-8"
        )
        assert "data" not in response.json()
        assert response.json()["errors"]


async def test_plain_json_request_errors_are_200_with_errors(http: httpx.AsyncClient):
    response = await http.post(
        "/graphql", json={"query": "{ nope }"}, headers={"accept": "application/json"}
    )
    assert response.status_code == 200
    assert response.json()["errors"][0]["message"].startswith("Cannot query field 'nope'")


async def test_get_serves_queries_but_not_mutations(http: httpx.AsyncClient):
    query = await http.get("/graphql", params=TYPENAME)
    mutation = await http.get(
        "/graphql",
        params={"query": "mutation { __typename }"},
        headers={"accept": "application/json"},
    )
    assert query.json()["data"] == {"__typename": "Query"}
    assert mutation.status_code == 405


async def test_an_invalid_token_is_401(http: httpx.AsyncClient):
    response = await http.post(
        "/graphql", json=TYPENAME, headers={"authorization": "Bearer not.a.token"}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_token_signed_with_another_secret_is_401(http: httpx.AsyncClient):
    from loyalty_gql.api.auth import Role, issue_token
    from loyalty_gql.config import Settings

    forged = issue_token(
        Settings(env="test", jwt_secret="x" * 40), role=Role.ADMIN, sites=["a"], subject="me"
    )
    response = await http.post(
        "/graphql", json=TYPENAME, headers={"authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401


async def test_unexpected_errors_are_masked(gql: GraphQLClient, monkeypatch):
    # given: a resolver that fails in a way nobody planned
    from loyalty_gql.api.customers import queries

    def explode(*args, **kwargs):
        msg = "database password is hunter2"
        raise RuntimeError(msg)

    monkeypatch.setattr(queries, "customer_page", explode)
    admin = gql.token("admin", "shop-a")
    from tests.support.shop import create_site

    site_id = await create_site(gql, "shop-a")
    # when
    body = await gql.execute(
        "query($s: ID!) { customers(siteId: $s) { edges { cursor } } }",
        {"s": site_id},
        token=admin,
        expect_errors=True,
    )
    # then
    assert body["errors"][0]["message"] == "Internal error."
    assert "hunter2" not in str(body)


async def test_a_50_level_deep_query_is_refused(http: httpx.AsyncClient):
    deep = (
        "{ viewer { site "
        + "{ program { thresholdReward " * 24
        + "{ points }"
        + " } }" * 24
        + " } }"
    )
    response = await http.post("/graphql", json={"query": deep})
    assert response.status_code == 200
    message = response.json()["errors"][0]["message"]
    assert "exceeds maximum operation depth" in message
    assert (await http.get("/healthz")).status_code == 200


async def test_500_aliases_are_refused(http: httpx.AsyncClient):
    query = "{ " + " ".join(f"a{i}: __typename" for i in range(500)) + " }"
    response = await http.post("/graphql", json={"query": query})
    assert response.json()["errors"][0]["message"] == "500 aliases found. Allowed: 30"
    assert "data" not in response.json()


async def test_a_100000_token_document_is_refused(http: httpx.AsyncClient):
    query = "{ " + "a " * 100_000 + "}"
    response = await http.post(
        "/graphql", json={"query": query}, headers={"accept": "application/graphql-response+json"}
    )
    assert response.status_code == 400
    assert "Document contains more than 5000 tokens" in response.json()["errors"][0]["message"]


async def test_first_100000_is_refused(gql: GraphQLClient):
    from tests.support.shop import create_site

    site_id = await create_site(gql, "shop-a")
    body = await gql.execute(
        "query($s: ID!, $n: Int) { customers(siteId: $s, first: $n) { edges { cursor } } }",
        {"s": site_id, "n": 100_000},
        token=gql.token("admin", "shop-a"),
        expect_errors=True,
    )
    assert body["errors"][0]["message"] == "`first` may be at most 100; page with `after`"
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_literal_first_100000_is_refused_by_the_cost_limit(http: httpx.AsyncClient):
    query = (
        '{ customers(siteId: "U2l0ZTox", first: 100000) '
        "{ edges { node { id email name groups } } } }"
    )
    response = await http.post("/graphql", json={"query": query})
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert "data" not in response.json()


async def test_a_10_mb_body_is_refused_with_413(http: httpx.AsyncClient):
    body = b'{"query": "{ __typename }", "padding": "' + b"x" * 10_000_000 + b'"}'
    response = await http.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert (await http.post("/graphql", json=TYPENAME)).status_code == 200


async def test_a_chunked_body_without_length_is_limited_too(http: httpx.AsyncClient):
    async def chunks():
        for _ in range(20):
            yield b"x" * 100_000

    response = await http.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_non_json_posts_are_415(http: httpx.AsyncClient):
    response = await http.post(
        "/graphql",
        content=b"query=%7B__typename%7D",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415


async def test_graphiql_is_served_to_browsers_outside_production(http: httpx.AsyncClient):
    response = await http.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_fragment_fan_outs_are_refused_and_unknown_fragments_are_validation_errors(
    http: httpx.AsyncClient,
):
    def fan_out(levels: int) -> str:
        fragments = [
            f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} ...F{i + 1} ...F{i + 1} }}"
            for i in range(levels)
        ]
        return " ".join(
            ["query { ...F0 }", *fragments, f"fragment F{levels} on Query {{ __typename }}"]
        )

    accept = {"accept": "application/graphql-response+json"}
    for levels in (11, 29):
        response = await http.post("/graphql", json={"query": fan_out(levels)}, headers=accept)
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    missing = await http.post("/graphql", json={"query": "{ ...Missing }"}, headers=accept)
    assert missing.status_code == 400
    error = missing.json()["errors"][0]
    assert (error["message"], error["extensions"]["code"]) == (
        "Unknown fragment 'Missing'.",
        "GRAPHQL_VALIDATION_FAILED",
    )
    assert (await http.get("/healthz")).status_code == 200


async def test_an_unexpected_failure_is_a_plain_500_and_raised_on(
    app: Any, monkeypatch: pytest.MonkeyPatch
):
    # /graphql is served before Starlette's routing: its 500 is Starlette's, byte for byte
    async def failing(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(Executor, "run", failing)
    quiet = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=quiet, base_url="http://testserver") as http:
        response = await http.post("/graphql", json=TYPENAME)
        metrics = (await http.get("/metrics")).text
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert 'loyalty_http_requests_total{path="/graphql",status="500"}' in metrics
    loud = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=loud, base_url="http://testserver") as http:
        with pytest.raises(RuntimeError, match="boom"):
            await http.post("/graphql", json=TYPENAME)


async def test_other_methods_and_paths_are_still_routed_by_starlette(http: httpx.AsyncClient):
    head = await http.head("/graphql")
    put = await http.put("/graphql", json=TYPENAME)
    slash = await http.post("/graphql/", json=TYPENAME, follow_redirects=False)
    assert (head.status_code, head.headers["allow"]) == (405, "GET, POST")
    assert (put.status_code, put.text) == (405, "Method Not Allowed")
    assert sorted(put.headers["allow"].split(", ")) == ["GET", "HEAD", "POST"]
    assert (slash.status_code, slash.headers["location"]) == (307, "http://testserver/graphql")


@pytest.mark.parametrize("settings", [Settings(env="test", max_body_bytes=100)])
async def test_bodies_in_several_messages_are_read_whole_up_to_the_limit(
    http: httpx.AsyncClient,
):
    async def chunks(body: bytes, size: int) -> AsyncIterator[bytes]:
        for start in range(0, len(body), size):
            yield body[start : start + size]

    text = json.dumps(TYPENAME).encode()
    large = json.dumps({**TYPENAME, "operationName": None, "x": "y" * 80}).encode()
    headers = {"content-type": "application/json"}  # no content-length: chunked
    whole = await http.post("/graphql", content=chunks(text, 7), headers=headers)
    too_large = await http.post("/graphql", content=chunks(large, 30), headers=headers)
    assert whole.json()["data"] == {"__typename": "Query"}
    assert too_large.status_code == 413
    assert too_large.json()["errors"][0]["extensions"]["code"] == "TOO_LARGE"
