"""CORS (#12) in a real browser: headless Chromium on one loopback origin calls the real
service on another.

The service runs as a subprocess (uvicorn with the app factory) on 127.0.0.1 and a page
is served from 127.0.0.2 (another port on 127.0.0.1 where that address cannot be bound),
so the page's fetch of /graphql is cross-origin, with a preflight (it sends Authorization).
When the page's origin is listed in LOYALTY_CORS_ORIGINS the page shows the customer's
balance; when it is not, the browser refuses the preflight's answer and the fetch fails.

These tests use their own SQLite database, migrated and seeded with the `loyalty-gql`
command, whatever LOYALTY_TEST_BACKEND says: they check the HTTP edge, not storage. They
are skipped when /usr/bin/chromium is missing (`apt-get install chromium`).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO

import httpx
import pytest
from sqlalchemy import select

from loyalty_gql.db.engine import create_database
from loyalty_gql.db.models import CustomerRow
from loyalty_gql.seed import DEMO_SITE
from loyalty_gql.services.core.common import Actor, system_clock
from loyalty_gql.services.core.idempotency import Idempotency
from loyalty_gql.services.points import grant_points

CHROMIUM = Path("/usr/bin/chromium")
CLI = str(Path(sys.executable).with_name("loyalty-gql"))
UVICORN = (sys.executable, "-m", "uvicorn", "loyalty_gql.api.app:create_app", "--factory")
CUSTOMER = "cust-1001"
POINTS = 4321
FAILED = "Failed to fetch"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"chromium is not installed (apt-get install chromium): {CHROMIUM} is missing",
)

# The storefront page: it reads the API's URL and the customer's token from its own query
# string, calls /graphql the way a storefront's script would and writes what it got.
PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>storefront</title></head>
<body><p id="result">pending</p>
<script>
const params = new URLSearchParams(location.search);
const show = (text) => { document.getElementById("result").textContent = text; };
fetch(params.get("api"), {
  method: "POST",
  headers: {
    "content-type": "application/json",
    "authorization": "Bearer " + params.get("token"),
  },
  body: JSON.stringify({query: "{ viewer { balance { available } } }"}),
})
  .then((response) => response.json())
  .then((body) => {
    if (!body.data) { throw new Error(JSON.stringify(body.errors)); }
    show("balance: " + body.data.viewer.balance.available);
  })
  .catch((error) => show("error: " + error.message));
</script>
</body></html>
"""


@dataclass
class Demo:
    """The seeded database and the environment every process of these tests shares."""

    url: str
    env: dict[str, str]
    token: str


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


async def _give_points(url: str) -> None:
    db = create_database(url)
    try:
        async with db.read_sessions() as session:
            customer_id = await session.scalar(
                select(CustomerRow.id).where(CustomerRow.external_id == CUSTOMER)
            )
        assert customer_id is not None
        await grant_points(
            db,
            customer_id=customer_id,
            points=POINTS,
            reason="browser CORS test",
            actor=Actor("admin", "test"),
            clock=system_clock,
            retry=Idempotency("grantPoints"),
        )
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """A fresh SQLite database with the demo site, and a token for its customer cust-1001."""
    path = tmp_path_factory.mktemp("browser") / "loyalty.db"
    url = f"sqlite+aiosqlite:///{path}"
    env = {**os.environ, "LOYALTY_DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    _run(env, "migrate")
    _run(env, "seed-demo")
    asyncio.run(_give_points(url))
    token = _run(env, "token", "--role", "customer", "--site", DEMO_SITE, "--customer", CUSTOMER)
    return Demo(url, env, token)


class _PageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != "/":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def page_origin() -> Iterator[str]:
    """The storefront's origin: a page server on 127.0.0.2 (127.0.0.1 if that fails)."""
    try:
        server = ThreadingHTTPServer(("127.0.0.2", 0), _PageHandler)
    except OSError:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Service:
    """The running service: its /graphql URL and the file its log goes to."""

    graphql: str
    log: Path

    def requests(self) -> list[str]:
        """The access log's request lines, e.g. 'OPTIONS /graphql HTTP/1.1" 200'."""
        return re.findall(r'"([A-Z]+ /graphql HTTP/1\.1" \d+)', self.log.read_text())


def _stop(process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    try:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)
    finally:
        log.close()


def _serve(demo: Demo, cors_origins: str, log_path: Path) -> Iterator[Service]:
    port = _free_port()
    env = {**demo.env, "LOYALTY_CORS_ORIGINS": cors_origins}
    log = log_path.open("wb")
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
        yield Service(f"{base}/graphql", log_path)
    finally:
        _stop(process, log)


@pytest.fixture
def listed(demo: Demo, page_origin: str, tmp_path: Path) -> Iterator[Service]:
    """The service with the page's origin among its CORS origins."""
    yield from _serve(demo, f"https://shop.example, {page_origin}", tmp_path / "service.log")


@pytest.fixture
def unlisted(demo: Demo, tmp_path: Path) -> Iterator[Service]:
    """The service allowing another origin only."""
    yield from _serve(demo, "https://shop.example", tmp_path / "service.log")


def _load(page: str, profile: Path) -> str:
    """What the page shows once its scripts and their fetches are done (headless Chromium)."""
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        # virtual time stands still while a fetch is pending, then the DOM is printed
        "--virtual-time-budget=10000",
        "--dump-dom",
        page,
    ]
    # its own process group, so that a hung browser is stopped with all its children
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    found = re.search(r'<p id="result">(.*?)</p>', out.decode())
    assert found, f"no result in the page (chromium said: {err.decode()[-2000:]})"
    return found.group(1)


def _page(page_origin: str, service: Service, demo: Demo) -> str:
    query = httpx.QueryParams({"api": service.graphql, "token": demo.token})
    return f"{page_origin}/?{query}"


def test_a_listed_origin_reads_the_balance(
    demo: Demo, page_origin: str, listed: Service, tmp_path: Path
):
    shown = _load(_page(page_origin, listed, demo), tmp_path / "profile")
    assert shown == f"balance: {POINTS}"
    assert listed.requests() == ['OPTIONS /graphql HTTP/1.1" 200', 'POST /graphql HTTP/1.1" 200']


def test_an_unlisted_origin_cannot_fetch(
    demo: Demo, page_origin: str, unlisted: Service, tmp_path: Path
):
    shown = _load(_page(page_origin, unlisted, demo), tmp_path / "profile")
    assert shown == f"error: {FAILED}"
    # the browser stopped at the refused preflight: the POST was never sent
    assert unlisted.requests() == ['OPTIONS /graphql HTTP/1.1" 400']
