"""GraphiQL without internet (#16): with the local copy installed (scripts/setup-graphiql),
the IDE's page loads its scripts and styles from the service, which serves exactly those
files, byte for byte the CDN's (their integrity hashes hold); without it, from the CDN; in
production, neither. Headless Chromium, with every host but loopback unresolvable, renders
GraphiQL's editor, and its network log shows no request leaving loopback."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from loyalty_gql.api.app import create_app
from loyalty_gql.api.graphiql import DEFAULT_DIRECTORY, GraphiQL, page_assets
from loyalty_gql.config import Settings
from loyalty_gql.db.engine import Database
from tests.support.demo_service import demo_env, serving

CHROMIUM = Path("/usr/bin/chromium")
HTML = {"accept": "text/html"}
LOOPBACK = {"127.0.0.1"}
ASSET = re.compile(r'(?:src|href)="(/graphiql/[^"]+)"\s+integrity="(sha384-[^"]+)"')


def _local_copy_or_skip() -> None:
    where = Path(os.environ.get("LOYALTY_GRAPHIQL_DIR") or DEFAULT_DIRECTORY)
    if GraphiQL(where).offline:
        return
    missing = f"GraphiQL's local copy is not in {where} (scripts/setup-graphiql)"
    if os.environ.get("LOYALTY_REQUIRE_JS") == "1" and shutil.which("npm"):
        pytest.fail(f"{missing}, and LOYALTY_REQUIRE_JS=1 requires it where npm is")
    pytest.skip(missing)


async def _client(settings: Settings, db: Database) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(settings, db))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_with_the_local_copy_the_page_loads_only_the_services_files(db: Database):
    # given the local copy
    _local_copy_or_skip()
    async with await _client(Settings(env="test"), db) as http:
        # when the IDE's page and its files are fetched
        page = await http.get("/graphql", headers=HTML)
        assets = ASSET.findall(page.text)
        served = {path: await http.get(path) for path, _ in assets}
        other = await http.get("/graphiql/react/package.json")
    # then no URL of the page leaves the service, and each file is the one its hash names
    assert page.status_code == 200
    assert "unpkg.com" not in page.text
    assert re.findall(r'(?:src|href)="https?://', page.text) == []
    assert len(assets) == 7
    for path, integrity in assets:
        response = served[path]
        assert response.status_code == 200, path
        digest = base64.b64encode(hashlib.sha384(response.content).digest()).decode()
        assert f"sha384-{digest}" == integrity, path
    assert (
        served["/graphiql/graphiql/graphiql.min.js"]
        .headers["content-type"]
        .startswith("text/javascript")
    )
    # and nothing else of the installed packages is served
    assert other.status_code == 404


async def test_without_the_local_copy_the_page_loads_the_cdn(db: Database, tmp_path: Path):
    async with await _client(Settings(env="test", graphiql_dir=str(tmp_path)), db) as http:
        page = await http.get("/graphql", headers=HTML)
        asset = await http.get("/graphiql/graphiql/graphiql.min.js")
    assert page.status_code == 200
    assert 'src="https://unpkg.com/graphiql@' in page.text
    assert "/graphiql/" not in page.text.replace("https://unpkg.com/graphiql@", "")
    assert asset.status_code == 404


def _fake_copy(directory: Path, *, react_version: str | None = None) -> GraphiQL:
    """A local copy with every file the page names; react at another version if asked."""
    assets = page_assets(GraphiQL(directory / "nothing-here").html.decode())
    for asset in assets:
        package = directory / "node_modules" / asset.package
        (package / asset.path).parent.mkdir(parents=True, exist_ok=True)
        (package / asset.path).write_text("/* file */")
        version = react_version if asset.package == "react" and react_version else asset.version
        (package / "package.json").write_text(json.dumps({"version": version}))
    return GraphiQL(directory)


def test_a_local_copy_at_other_versions_is_not_used(tmp_path: Path):
    assert _fake_copy(tmp_path / "same").offline
    other = _fake_copy(tmp_path / "other", react_version="18.3.1")
    assert not other.offline
    assert other.files == {}
    assert 'src="https://unpkg.com/react@18.2.0/' in other.html.decode()


async def test_production_serves_neither_the_ide_nor_its_files(db: Database):
    settings = Settings(env="production", jwt_secret="x" * 40)
    async with await _client(settings, db) as http:
        page = await http.get("/graphql", headers=HTML)
        asset = await http.get("/graphiql/graphiql/graphiql.min.js")
    assert page.status_code == 404
    assert asset.status_code == 404


def _page_requests(net_log: Path) -> list[str]:
    """The URLs the page asked for: Chromium's NetLog's request starts that the page made
    (the main frame, and whatever its documents initiated), not the browser's own (update
    checks, sign-in, autofill: "not an origin"), which the host rules fail anyway."""
    log: dict[str, Any] = json.loads(net_log.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log["events"]:
        params = event.get("params") or {}
        if event["type"] != start or "url" not in params:
            continue
        if params.get("request_type") == "main frame" or params.get("initiator") != "not an origin":
            urls.append(params["url"])
    return urls


def _render(url: str, workdir: Path) -> tuple[str, Path]:
    net_log = workdir / "netlog.json"
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--disable-features=AutofillServerCommunication,MediaRouter,OptimizationHints",
        "--no-pings",
        f"--user-data-dir={workdir / 'profile'}",
        # no internet: every host but loopback fails to resolve
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--log-net-log={net_log}",
        "--virtual-time-budget=20000",
        "--dump-dom",
        url,
    ]
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        out, _ = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    return out.decode(), net_log


NO_CHROMIUM = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"chromium is not installed (apt-get install chromium): {CHROMIUM} is missing",
)


@NO_CHROMIUM
def test_graphiql_renders_its_editor_offline_in_chromium(tmp_path: Path):
    # given the service as scripts/serve runs it, with the local copy
    _local_copy_or_skip()
    env = demo_env(tmp_path, dict(os.environ))
    with serving(env, tmp_path / "service.log") as service:
        # when a browser that cannot reach the internet opens GraphiQL
        dom, net_log = _render(service.graphql, tmp_path)
    # then GraphiQL's editor is there, and every request stayed on loopback
    assert 'class="graphiql-container"' in dom
    assert "Loading..." not in dom, dom[-2000:]
    found = re.findall(r'class="(graphiql-(?:editors?|query-editor|session)\b)', dom)
    rendered = sorted(set(found))
    assert "graphiql-editors" in rendered, dom[-2000:]
    assert "CodeMirror" in dom
    requests = _page_requests(net_log)
    hosts = {urlsplit(url).hostname or url for url in requests}
    assert hosts == LOOPBACK, requests
    assert len(requests) >= 9, requests  # the page, its 7 files, the schema's introspection
    print(  # noqa: T201 - the numbers of the report
        f"\nGraphiQL offline: {rendered}; {len(requests)} requests, hosts {sorted(hosts)}"
    )


@NO_CHROMIUM
def test_without_the_local_copy_graphiql_stays_blank_offline(tmp_path: Path):
    # given the service without the local copy (what #16 found)
    env = {**demo_env(tmp_path, dict(os.environ)), "LOYALTY_GRAPHIQL_DIR": str(tmp_path)}
    with serving(env, tmp_path / "service.log") as service:
        # when a browser that cannot reach the internet opens GraphiQL
        dom, net_log = _render(service.graphql, tmp_path)
    # then the page asked the CDN, got nothing, and shows no editor
    assert "Loading..." in dom
    assert "graphiql-editors" not in dom
    assert "unpkg.com" in {urlsplit(url).hostname for url in _page_requests(net_log)}
