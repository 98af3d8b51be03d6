"""Acceptance of #16's persisted queries with the real Apollo Client 4 (tests/js): its
PersistedQueryLink against the service running under uvicorn.

With automatic persisted queries, the viewer query's first call goes out as its hash
alone, is answered PERSISTED_QUERY_NOT_FOUND and retried with its text; the second call
is its hash alone, answered. With trusted documents (a manifest of the client's
operations as Apollo's generator writes it, the viewer query only), the viewer query
runs by its hash and an unregistered query is refused with PERSISTED_QUERY_NOT_ALLOWED.
Both with Apollo's default Accept (graphql-response+json first) and plain JSON.

The service runs on its own SQLite file, migrated and seeded by `loyalty-gql`, whatever
LOYALTY_TEST_BACKEND says: this checks the HTTP edge, not storage.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from loyalty_gql.seed import DEMO_SITE
from tests.support.js import JS_DIR, node_or_skip

CLI = str(Path(sys.executable).with_name("loyalty-gql"))
UVICORN = (sys.executable, "-m", "uvicorn", "loyalty_gql.api.app:create_app", "--factory")
SCRIPT = JS_DIR / "apollo_persisted.mjs"
CUSTOMER = "cust-1001"
DEFAULT = "default"  # Apollo's own Accept: graphql-response+json, then json
JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"


@dataclass
class Demo:
    """The seeded database's environment and a token of its customer cust-1001."""

    env: dict[str, str]
    token: str


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """A fresh SQLite database with the demo site."""
    path = tmp_path_factory.mktemp("apollo") / "loyalty.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env.update(LOYALTY_DATABASE_URL=f"sqlite+aiosqlite:///{path}", PYTHONUNBUFFERED="1")
    _cli(env, "migrate")
    _cli(env, "seed-demo")
    token = _cli(env, "token", "--role", "customer", "--site", DEMO_SITE, "--customer", CUSTOMER)
    return Demo(env, token)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _serve(demo: Demo, log_path: Path, **settings: str) -> Iterator[str]:
    """The service under uvicorn on 127.0.0.1 (stopped by its pid); its /graphql URL."""
    port = _free_port()
    env = {**demo.env, **{f"LOYALTY_{k.upper()}": v for k, v in settings.items()}}
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own service, fixed arguments
            [*UVICORN, "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"the service exited: {log_path.read_text()}"
            try:
                if httpx.get(f"{base}/healthz", timeout=2).text == "ok":
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"the service did not start: {log_path.read_text()}"
            time.sleep(0.1)
        yield f"{base}/graphql"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


def _node(*args: str) -> dict[str, Any]:
    """Run the Apollo script; its JSON report."""
    node = node_or_skip()
    done = subprocess.run(  # noqa: S603 - node and our own script
        [node, str(SCRIPT), *args],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    """The client's operations as Apollo's manifest generator writes them."""
    return _node("manifest")


def _sent(exchange: dict[str, Any]) -> str:
    """What one request sent: "hash", "hash+query" or "query"."""
    parts = [
        name
        for name, present in (
            ("hash", exchange["persistedQuery"] is not None),
            ("query", exchange["sentQuery"]),
        )
        if present
    ]
    return "+".join(parts)


@pytest.mark.parametrize(
    ("accept", "method"), [(DEFAULT, "POST"), (JSON, "POST"), (DEFAULT, "GET")]
)
def test_apollo_runs_the_viewer_query_by_hash_alone_the_second_time(
    demo: Demo, manifest: dict[str, Any], tmp_path: Path, accept: str, method: str
):
    # given: a service with automatic persisted queries (the default)
    node_or_skip()
    viewer_hash = next(o["id"] for o in manifest["operations"] if o["name"] == "Viewer")
    for graphql in _serve(demo, tmp_path / "service.log"):
        # when: Apollo Client runs the viewer query twice
        report = _node("run", graphql, demo.token, accept, method.lower(), "Viewer", "Viewer")
    # then: hash alone -> not found -> hash with its text; then the hash alone, answered
    wire = report["wire"]
    seen = [(e["method"], _sent(e), e["status"], e["codes"]) for e in wire]
    print(f"\nApollo {accept} by {method}, on the wire: {seen}")  # noqa: T201
    # (the text always goes by POST: Apollo retries that way, GET is for hashes)
    assert seen == [
        (method, "hash", 200, ["PERSISTED_QUERY_NOT_FOUND"]),
        ("POST", "hash+query", 200, []),
        (method, "hash", 200, []),
    ]
    assert {e["persistedQuery"]["sha256Hash"] for e in wire} == {viewer_hash}
    media = GRAPHQL_RESPONSE if accept == DEFAULT else JSON
    assert {e["contentType"] for e in wire} == {f"{media}; charset=utf-8"}
    first, second = report["results"]
    assert first["error"] is None
    assert first["data"] == second["data"]
    assert first["data"]["viewer"]["externalId"] == CUSTOMER
    assert wire[2]["data"] == wire[1]["data"]


def test_trusted_documents_run_the_viewer_query_and_refuse_an_unregistered_one(
    demo: Demo, manifest: dict[str, Any], tmp_path: Path
):
    # given: the manifest of the viewer query only
    node_or_skip()
    trusted = {
        **manifest,
        "operations": [o for o in manifest["operations"] if o["name"] == "Viewer"],
    }
    path = tmp_path / "persisted-query-manifest.json"
    path.write_text(json.dumps(trusted))
    reports = {}
    for graphql in _serve(demo, tmp_path / "service.log", trusted_documents=str(path)):
        # when
        for accept in (DEFAULT, JSON):
            reports[accept] = _node(
                "run", graphql, demo.token, accept, "post", "Viewer", "Viewer", "Unlisted"
            )
    # then: the registered query runs by its hash from the first call; the other is refused
    for accept, report in reports.items():
        wire = report["wire"]
        seen = [(e["operationName"], _sent(e), e["status"], e["codes"]) for e in wire]
        print(f"\ntrusted, Apollo {accept}, on the wire: {seen}")  # noqa: T201
        refused_status = 400 if accept == DEFAULT else 200
        assert seen == [
            ("Viewer", "hash", 200, []),
            ("Viewer", "hash", 200, []),
            ("Unlisted", "hash", refused_status, ["PERSISTED_QUERY_NOT_ALLOWED"]),
        ]
        viewer, again, unlisted = report["results"]
        assert viewer["data"]["viewer"]["externalId"] == CUSTOMER
        assert again["data"] == viewer["data"]
        assert unlisted["data"] is None
        assert unlisted["error"]["codes"] == ["PERSISTED_QUERY_NOT_ALLOWED"]


def test_the_service_does_not_start_on_a_malformed_manifest(demo: Demo, tmp_path: Path):
    # given: a manifest whose document does not parse
    path = tmp_path / "persisted-query-manifest.json"
    path.write_text(json.dumps({"abc": "query Broken {"}))
    env = {**demo.env, "LOYALTY_TRUSTED_DOCUMENTS": str(path)}
    # when
    done = subprocess.run(  # noqa: S603 - our own service, fixed arguments
        [*UVICORN, "--host", "127.0.0.1", "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # then: it exits at once, saying which file and what is wrong
    assert done.returncode != 0
    assert f"ManifestError: LOYALTY_TRUSTED_DOCUMENTS={path}: document 'abc' does not parse" in (
        done.stderr + done.stdout
    )
