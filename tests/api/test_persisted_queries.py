"""Persisted queries (#16): Apollo's automatic persisted queries over POST and GET, the
store shared through Redis, and trusted documents from Apollo's and Relay's manifests."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from loyalty_gql.api.app import create_app
from loyalty_gql.api.persisted import ManifestError, PersistedQueries
from loyalty_gql.api.throttle import Throttle
from loyalty_gql.config import Settings
from loyalty_gql.db.engine import Database
from tests.conftest import GraphQLClient
from tests.support.clock import Clock
from tests.support.shop import Shop

REDIS_URL = os.environ.get("LOYALTY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
BADGE = "query Badge { viewer { balance { available } } }"
TYPENAME = "query Name { __typename }"
UNLISTED = "query Unlisted { viewer { balance { pending } } }"


def sha(text: str) -> str:
    """The sha256 a client sends for ``text``."""
    return hashlib.sha256(text.encode()).hexdigest()


def hashed(text: str, *, version: int = 1) -> dict[str, Any]:
    """APQ's extensions for ``text``."""
    return {"persistedQuery": {"version": version, "sha256Hash": sha(text)}}


async def post(
    http: httpx.AsyncClient, body: dict[str, Any], *, token: str | None = None, accept: str = JSON
) -> httpx.Response:
    """POST /graphql with a token and an Accept header."""
    headers = {"accept": accept}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return await http.post("/graphql", json=body, headers=headers)


def code(response: httpx.Response) -> str:
    """The first error's code."""
    return str(response.json()["errors"][0]["extensions"]["code"])


@asynccontextmanager
async def client(
    settings: Settings, db: Database, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    """An app of its own settings (its persisted queries and rate limits closed afterwards:
    their Redis connections)."""
    persisted, throttle = PersistedQueries(settings), Throttle(settings)
    app = create_app(settings, db, clock, throttle, persisted=persisted)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    finally:
        await persisted.close()
        await throttle.close()


async def _ann(gql: GraphQLClient, points: int = 120) -> tuple[Shop, str]:
    shop = await Shop.open(gql)
    await shop.register("ann", enroll=True)
    await shop.grant("ann", points)
    return shop, shop.customer("ann")


# -- automatic persisted queries --------------------------------------------------------


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE, f"{GRAPHQL_RESPONSE},{JSON};q=0.9"])
async def test_a_hash_is_not_found_then_registered_with_its_text_then_answered_alone(
    http: httpx.AsyncClient, gql: GraphQLClient, accept: str
):
    # given
    _, ann = await _ann(gql)
    by_hash = {"operationName": "Badge", "extensions": hashed(BADGE)}
    # when: the hash alone, unknown
    miss = await post(http, by_hash, token=ann, accept=accept)
    # then: the error Apollo's PersistedQueryLink retries on, 200 whatever the media type
    assert miss.status_code == 200
    assert miss.json() == {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ]
    }
    assert miss.headers["cache-control"] == "private, no-cache, must-revalidate"
    # when: the text with its hash, then the hash alone again
    registered = await post(http, {**by_hash, "query": BADGE}, token=ann, accept=accept)
    hit = await post(http, by_hash, token=ann, accept=accept)
    # then
    for response in (registered, hit):
        assert response.status_code == 200
        assert response.json()["data"] == {"viewer": {"balance": {"available": 120}}}


async def test_apq_over_get_registers_and_answers_queries_but_never_runs_mutations(
    http: httpx.AsyncClient, gql: GraphQLClient
):
    # given
    _, ann = await _ann(gql)
    auth = {"authorization": f"Bearer {ann}", "accept": JSON}
    extensions = json.dumps(hashed(BADGE))
    # when
    miss = await http.get("/graphql", params={"extensions": extensions}, headers=auth)
    registered = await http.get(
        "/graphql", params={"query": BADGE, "extensions": extensions}, headers=auth
    )
    hit = await http.get("/graphql", params={"extensions": extensions}, headers=auth)
    # then
    assert (miss.status_code, code(miss)) == (200, "PERSISTED_QUERY_NOT_FOUND")
    assert (
        registered.json()["data"]
        == hit.json()["data"]
        == {"viewer": {"balance": {"available": 120}}}
    )
    # a mutation registered over POST is still refused over GET by its hash
    mutation = "mutation Touch { __typename }"
    assert (
        await post(http, {"query": mutation, "extensions": hashed(mutation)})
    ).status_code == 200
    refused = await http.get(
        "/graphql", params={"extensions": json.dumps(hashed(mutation))}, headers={"accept": JSON}
    )
    assert (refused.status_code, code(refused), refused.headers["allow"]) == (
        405,
        "METHOD_NOT_ALLOWED",
        "POST",
    )


async def test_a_text_that_is_not_its_hash_is_refused_and_not_stored(http: httpx.AsyncClient):
    # when: a hash claims another text
    claimed = hashed(TYPENAME)
    mismatch = await post(http, {"query": "query Other { __typename }", "extensions": claimed})
    # then
    assert (mismatch.status_code, code(mismatch)) == (400, "PERSISTED_QUERY_HASH_MISMATCH")
    assert code(await post(http, {"extensions": claimed})) == "PERSISTED_QUERY_NOT_FOUND"


async def test_an_invalid_document_is_answered_but_never_registered(http: httpx.AsyncClient):
    invalid = "query Nope { nope }"
    answered = await post(http, {"query": invalid, "extensions": hashed(invalid)})
    assert code(answered) == "GRAPHQL_VALIDATION_FAILED"
    assert code(await post(http, {"extensions": hashed(invalid)})) == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    ("extensions", "expected"),
    [
        (hashed(TYPENAME, version=2), "PERSISTED_QUERY_VERSION_NOT_SUPPORTED"),
        ({"persistedQuery": {"version": 1, "sha256Hash": "abc"}}, "BAD_REQUEST"),
        ({"persistedQuery": {"version": 1}}, "BAD_REQUEST"),
        ({"persistedQuery": "abc"}, "BAD_REQUEST"),
    ],
)
async def test_unsupported_versions_and_malformed_hashes_are_400(
    http: httpx.AsyncClient, extensions: dict[str, Any], expected: str
):
    for accept in (JSON, GRAPHQL_RESPONSE):
        response = await post(http, {"extensions": extensions}, accept=accept)
        assert (response.status_code, code(response)) == (400, expected)
        assert "data" not in response.json()


async def test_a_document_id_and_a_query_together_are_400(http: httpx.AsyncClient):
    response = await post(http, {"query": TYPENAME, "documentId": f"sha256:{sha(TYPENAME)}"})
    assert (response.status_code, code(response)) == (400, "BAD_REQUEST")
    missing = await post(http, {"variables": {}})
    assert response.status_code == missing.status_code == 400
    assert missing.json()["errors"][0]["message"] == "The `query` parameter is missing"


async def test_a_registered_text_is_found_by_its_document_id(http: httpx.AsyncClient):
    await post(http, {"query": TYPENAME, "extensions": hashed(TYPENAME)})
    response = await post(http, {"documentId": f"sha256:{sha(TYPENAME)}"})
    assert response.json()["data"] == {"__typename": "Query"}


async def test_switched_off_apq_says_not_supported_and_plain_queries_still_run(
    db: Database, clock: Clock
):
    settings = Settings(env="test", persisted_queries=False)
    async with client(settings, db, clock) as http:
        alone = await post(http, {"extensions": hashed(TYPENAME)})
        with_text = await post(http, {"query": TYPENAME, "extensions": hashed(TYPENAME)})
        plain = await post(http, {"query": TYPENAME})
    for response in (alone, with_text):
        assert response.status_code == 200
        assert response.json()["errors"][0] == {
            "message": "PersistedQueryNotSupported",
            "extensions": {"code": "PERSISTED_QUERY_NOT_SUPPORTED"},
        }
        assert response.headers["cache-control"] == "private, no-cache, must-revalidate"
    assert plain.json()["data"] == {"__typename": "Query"}


async def test_the_store_is_bounded_in_count_and_in_text_size(db: Database, clock: Clock):
    settings = Settings(env="test", persisted_queries_size=2, max_body_bytes=300)
    texts = [f"query Q{n} {{ __typename }}" for n in range(3)]
    # a text over GET is not bounded by the body limit: a long one runs, and is not kept
    long = "# " + "x" * 400 + "\n" + TYPENAME
    async with client(settings, db, clock) as http:
        for text in texts:
            assert (
                await post(http, {"query": text, "extensions": hashed(text)})
            ).status_code == 200
        found = [code(r) if "errors" in r.json() else "ok" for r in [
            await post(http, {"extensions": hashed(text)}) for text in texts
        ]]  # fmt: skip
        ran = await http.get(
            "/graphql", params={"query": long, "extensions": json.dumps(hashed(long))}
        )
        kept = await post(http, {"extensions": hashed(long)})
    # then: the least recently used of three went; the long text ran and was not kept
    assert found == ["PERSISTED_QUERY_NOT_FOUND", "ok", "ok"]
    assert ran.json()["data"] == {"__typename": "Query"}
    assert code(kept) == "PERSISTED_QUERY_NOT_FOUND"


async def test_the_response_cache_answers_by_hash_what_the_text_would(
    http: httpx.AsyncClient, gql: GraphQLClient
):
    # given: ann's badge registered and cached by hash
    shop, ann = await _ann(gql)
    await shop.register("bob", enroll=True)
    await shop.grant("bob", 7)
    by_hash = {"extensions": hashed(BADGE)}
    await post(http, {**by_hash, "query": BADGE}, token=ann)
    assert (await post(http, by_hash, token=ann)).json()["data"]["viewer"]["balance"] == {
        "available": 120
    }
    # when: she earns more; bob asks by the same hash
    await shop.grant("ann", 30)
    after = await post(http, by_hash, token=ann)
    bob = await post(http, by_hash, token=shop.customer("bob"))
    by_text = await post(http, {"query": BADGE}, token=ann)
    # then: each sees their own, current balance
    assert after.json()["data"]["viewer"]["balance"] == {"available": 150}
    assert bob.json()["data"]["viewer"]["balance"] == {"available": 7}
    assert by_text.json()["data"] == after.json()["data"]


# -- the store shared by workers through Redis ------------------------------------------


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


async def test_two_workers_sharing_redis_share_registered_queries(db: Database, clock: Clock):
    if not _redis_up():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    prefix = f"test-{uuid.uuid4().hex}"
    settings = Settings(
        env="test", redis_url=REDIS_URL, redis_prefix=prefix, persisted_queries_ttl=60
    )
    alone = Settings(env="test")
    async with (
        client(settings, db, clock) as one,
        client(settings, db, clock) as other,
        client(alone, db, clock) as unshared,
    ):
        # when: registered on one worker
        await post(one, {"query": TYPENAME, "extensions": hashed(TYPENAME)})
        # then: the other finds it by its hash; a worker without Redis does not
        found = await post(other, {"extensions": hashed(TYPENAME)})
        again = await post(other, {"extensions": hashed(TYPENAME)})
        missing = await post(unshared, {"extensions": hashed(TYPENAME)})
    assert found.json()["data"] == again.json()["data"] == {"__typename": "Query"}
    assert code(missing) == "PERSISTED_QUERY_NOT_FOUND"


async def test_an_unreachable_redis_costs_a_round_trip_never_an_error(db: Database, clock: Clock):
    # given: Redis configured where nothing listens
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    settings = Settings(env="test", redis_url=f"redis://127.0.0.1:{closed}/0")
    async with client(settings, db, clock) as one, client(settings, db, clock) as other:
        # when
        registered = await post(one, {"query": TYPENAME, "extensions": hashed(TYPENAME)})
        same_worker = await post(one, {"extensions": hashed(TYPENAME)})
        other_worker = await post(other, {"extensions": hashed(TYPENAME)})
    # then: each worker keeps what it registered; the other asks for the text again
    assert registered.json()["data"] == same_worker.json()["data"] == {"__typename": "Query"}
    assert code(other_worker) == "PERSISTED_QUERY_NOT_FOUND"


# -- trusted documents ------------------------------------------------------------------


def apollo_manifest(*bodies: str) -> dict[str, Any]:
    """A manifest as @apollo/generate-persisted-query-manifest writes it."""
    operations = [
        {"id": sha(body), "name": body.split()[1], "type": "query", "body": body} for body in bodies
    ]
    return {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}


@asynccontextmanager
async def trusted(
    tmp_path: Path, manifest: object, db: Database, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    """The app allowing only ``manifest``'s documents."""
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    async with client(Settings(env="test", trusted_documents=path), db, clock) as http:
        yield http


async def test_trusted_documents_run_by_hash_or_text_and_nothing_else_runs(
    gql: GraphQLClient, db: Database, clock: Clock, tmp_path: Path
):
    # given
    _, ann = await _ann(gql)
    async with trusted(tmp_path, apollo_manifest(BADGE, TYPENAME), db, clock) as http:
        # when
        by_hash = await post(http, {"extensions": hashed(BADGE)}, token=ann)
        by_id = await post(http, {"documentId": sha(BADGE)}, token=ann)
        by_text = await post(http, {"query": BADGE}, token=ann)
        refused = {
            accept: await post(http, {"query": UNLISTED}, token=ann, accept=accept)
            for accept in (JSON, GRAPHQL_RESPONSE)
        }
        unknown_hash = await post(http, {"extensions": hashed(UNLISTED)}, token=ann)
        registering = await post(http, {"query": UNLISTED, "extensions": hashed(UNLISTED)})
        still_unknown = await post(http, {"extensions": hashed(UNLISTED)})
        introspection = await post(http, {"query": "{ __schema { queryType { name } } }"})
        health = await http.get("/healthz")
    # then
    for response in (by_hash, by_id, by_text):
        assert response.json()["data"] == {"viewer": {"balance": {"available": 120}}}
    assert (refused[JSON].status_code, code(refused[JSON])) == (200, "PERSISTED_QUERY_NOT_ALLOWED")
    strict = refused[GRAPHQL_RESPONSE]
    assert (strict.status_code, code(strict)) == (400, "PERSISTED_QUERY_NOT_ALLOWED")
    assert "data" not in strict.json()
    assert "cache-control" not in strict.headers  # a refusal, not APQ's negotiation
    for response in (unknown_hash, registering, still_unknown, introspection):
        assert code(response) == "PERSISTED_QUERY_NOT_ALLOWED"
    assert health.text == "ok"


async def test_apollo_manifest_ids_of_its_own_are_found_by_id_and_by_hash_field(
    db: Database, clock: Clock, tmp_path: Path
):
    # given: ids that are not the body's sha256 (createOperationId of the generator)
    manifest = apollo_manifest(TYPENAME)
    manifest["operations"][0]["id"] = own_id = "f" * 64
    async with trusted(tmp_path, manifest, db, clock) as http:
        as_hash = await post(
            http, {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": own_id}}}
        )
        as_id = await post(http, {"documentId": own_id})
        by_text_hash = await post(http, {"extensions": hashed(TYPENAME)})
        ide = await http.get("/graphql", headers={"accept": "text/html"})
    for response in (as_hash, as_id, by_text_hash):
        assert response.json()["data"] == {"__typename": "Query"}
    # GraphiQL's documents are not trusted ones: no IDE in this mode
    assert ide.status_code == 404


async def test_a_relay_manifest_serves_its_ids(db: Database, clock: Clock, tmp_path: Path):
    # given: Relay's persisted queries (ids are its own, here md5s of the text)
    relay_id = hashlib.md5(TYPENAME.encode()).hexdigest()  # noqa: S324 - Relay's id scheme
    async with trusted(tmp_path, {relay_id: TYPENAME}, db, clock) as http:
        answers = [await post(http, {field: relay_id}) for field in ("documentId", "id", "doc_id")]
        by_get = await http.get("/graphql", params={"doc_id": relay_id})
        by_sha = await post(http, {"documentId": f"sha256:{sha(TYPENAME)}"})
        by_apq = await post(http, {"extensions": hashed(TYPENAME)})
        unknown = await post(http, {"documentId": "0" * 32}, accept=GRAPHQL_RESPONSE)
    for response in (*answers, by_get, by_sha, by_apq):
        assert response.json()["data"] == {"__typename": "Query"}
    assert (unknown.status_code, code(unknown)) == (400, "PERSISTED_QUERY_NOT_ALLOWED")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "is not JSON"),
        ("[]", "must be a JSON object"),
        ("{}", "holds no documents"),
        ('{"format": "apollo-persisted-query-manifest", "version": 2, "operations": []}',
         '"version": 1'),
        ('{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id": "a"}]}',
         'operations[0] needs a string "id" and "body"'),
        ('{"a": "query {"}', "document 'a' does not parse"),
        ('{"a": 1}', "must be a non-empty id: text"),
    ],
)  # fmt: skip
def test_a_malformed_manifest_stops_the_service_at_start(
    tmp_path: Path, content: str, problem: str
):
    path = tmp_path / "manifest.json"
    path.write_text(content)
    with pytest.raises(ManifestError) as raised:
        create_app(Settings(env="test", trusted_documents=path))
    assert str(raised.value).startswith(f"LOYALTY_TRUSTED_DOCUMENTS={path}: ")
    assert problem in str(raised.value)


def test_a_missing_manifest_stops_the_service_at_start(tmp_path: Path):
    with pytest.raises(ManifestError, match="cannot be read"):
        create_app(Settings(env="test", trusted_documents=tmp_path / "nope.json"))
