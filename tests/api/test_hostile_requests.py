"""Each hostile request that once reached a 500 or "Internal error." (issue #12), answered
now with a clear error: its HTTP status and its code."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import GraphQLClient
from tests.support.shop import create_site, register

NUL = "a\x00b"


async def _post(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, token: str = ""
) -> tuple[int, dict[str, Any]]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert "Internal error." not in response.text
    return response.status_code, response.json()


def _codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


def _user_errors(body: dict[str, Any], name: str) -> list[tuple[list[str], str]]:
    return [(e["field"], e["code"]) for e in body["data"][name]["userErrors"]]


@pytest.fixture
async def shop(gql: GraphQLClient) -> dict[str, str]:
    site_id = await create_site(gql, "shop-a")
    customer = await register(gql, "shop-a", site_id, "c-1", enroll=True)
    return {
        "site": site_id,
        "customer": customer["id"],
        "admin": gql.token("admin", "shop-a"),
        "service": gql.token("service", "shop-a"),
    }


async def test_an_unknown_fragment_and_a_64_bit_page_size(http: httpx.AsyncClient, shop):
    status, body = await _post(http, "{ ...Missing }")
    assert (status, _codes(body)) == (200, ["GRAPHQL_VALIDATION_FAILED"])
    huge = f'{{ ledgerEntries(siteId: "{shop["site"]}", first: 275467382898141102080) '
    huge += "{ nodes { id } } }"
    status, body = await _post(http, huge, token=shop["admin"])
    assert (status, _codes(body)) == (200, ["QUERY_TOO_COSTLY"])


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (
            "query($s: ID!, $e: String!) { customerByExternalId(siteId: $s, externalId: $e) "
            "{ id } }",
            {"e": NUL},
        ),
        (
            "query($s: ID!, $q: String) { customers(siteId: $s, search: $q) { nodes { id } } }",
            {"q": NUL},
        ),
        ("query($s: ID!, $o: String!) { order(siteId: $s, orderId: $o) { id } }", {"o": NUL}),
        (
            "query($s: DateTime) { ledgerEntries(siteId: $S, filter: {since: $s}) "
            "{ nodes { id } } }",
            {"s": "9999-12-31T23:59:59-14:00"},
        ),
        (
            'query { programStats(siteId: $S, from: "9999-12-30", to: "9999-12-31") { members } }',
            {},
        ),
    ],
)
async def test_queries_answer_bad_user_input(http: httpx.AsyncClient, shop, query, variables):
    query = query.replace("$S", f'"{shop["site"]}"')
    if "$s: ID!" in query:
        variables = {**variables, "s": shop["site"]}
    status, body = await _post(http, query, variables, shop["admin"])
    assert status == 200
    assert _codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["userErrors"][0]["code"] == "INVALID_VALUE"


REGISTER = """mutation($i: RegisterCustomerInput!) { registerCustomer(input: $i) {
  customer { id } userErrors { field code } } }"""
GRANT = """mutation($i: GrantPointsInput!) { grantPoints(input: $i) {
  userErrors { field code } } }"""
RECORD = """mutation($i: RecordOrderInput!) { recordOrder(input: $i) {
  order { id } userErrors { field code } } }"""
CREATE_OFFER = """mutation($i: CreateOfferInput!) { createOffer(input: $i) {
  offer { id } userErrors { field code } } }"""
LINE = {"lineId": "1", "productId": "p", "quantity": 1, "unitPrice": "10.00"}


async def test_mutations_answer_user_errors_with_the_path(http: httpx.AsyncClient, shop):
    site, service, admin = shop["site"], shop["service"], shop["admin"]
    cases: list[tuple[str, str, dict[str, Any], str, list[str]]] = [
        (REGISTER, "registerCustomer", {"siteId": site, "externalId": NUL}, service,
         ["input", "externalId"]),
        (REGISTER, "registerCustomer",
         {"siteId": site, "externalId": "c-2", "idempotencyKey": NUL}, service,
         ["input", "idempotencyKey"]),
        (GRANT, "grantPoints", {"customerId": shop["customer"], "points": 5, "reason": NUL},
         admin, ["input", "reason"]),
        (RECORD, "recordOrder", {"siteId": site, "orderId": NUL, "lines": [LINE]}, service,
         ["input", "orderId"]),
        (RECORD, "recordOrder",
         {"siteId": site, "orderId": "o-1", "lines": [LINE], "couponCodes": [NUL]}, service,
         ["input", "couponCodes", "0"]),
        (CREATE_OFFER, "createOffer",
         {"siteId": site, "kind": "COUPON",
          "terms": {"name": "x", "valueType": "PERCENT", "value": "10",
                    "minimumOrderValue": "1e999"}},
         admin, ["input", "terms", "minimumOrderValue"]),
        (CREATE_OFFER, "createOffer",
         {"siteId": site, "kind": "COUPON",
          "terms": {"name": "x", "valueType": "PERCENT", "value": "10",
                    "validUntil": "9999-12-31T23:59:59-14:00"}},
         admin, ["input", "terms", "validUntil"]),
        (CREATE_OFFER, "createOffer",
         {"siteId": site, "kind": "COUPON",
          "terms": {"name": "x", "valueType": "PERCENT", "value": "10",
                    "validFrom": "0001-01-01T00:00:00+14:00"}},
         admin, ["input", "terms", "validFrom"]),
    ]  # fmt: skip
    for query, name, variables, token, path in cases:
        status, body = await _post(http, query, {"i": variables}, token)
        assert status == 200, body
        assert _user_errors(body, name) == [(path, "INVALID_VALUE")], body
        assert all(v is None for k, v in body["data"][name].items() if k != "userErrors")


async def test_a_naive_time_is_refused_rather_than_compared(http: httpx.AsyncClient, shop):
    terms = {"name": "x", "valueType": "PERCENT", "value": "10", "validFrom": "2026-01-01T00:00"}
    variables = {"i": {"siteId": shop["site"], "kind": "COUPON", "terms": terms}}
    status, body = await _post(http, CREATE_OFFER, variables, shop["admin"])
    assert _user_errors(body, "createOffer") == [(["input", "terms", "validFrom"], "INVALID_VALUE")]
    assert status == 200
