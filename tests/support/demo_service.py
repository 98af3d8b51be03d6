"""The service as `scripts/serve` runs it, for tests that talk to it as outsiders do (the
README's examples, a browser): a fresh SQLite file migrated and seeded with the demo data by
the `loyalty-gql` command, and uvicorn on a free loopback port, stopped by its pid.

It uses its own SQLite database whatever LOYALTY_TEST_BACKEND says: these tests check what
a developer sees of the service, not storage."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

CLI = str(Path(sys.executable).with_name("loyalty-gql"))
UVICORN = (sys.executable, "-m", "uvicorn", "loyalty_gql.api.app:create_app", "--factory")


def free_port() -> int:
    """A loopback port the OS has just handed out."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run_cli(env: dict[str, str], *args: str) -> str:
    """`loyalty-gql ARGS` with ``env``; its output (the test fails when it does)."""
    done = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def demo_env(directory: Path, base: dict[str, str]) -> dict[str, str]:
    """``base`` pointed at a new SQLite file in ``directory``, migrated and seeded."""
    env = {
        **base,
        "LOYALTY_DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'loyalty.db'}",
        "PYTHONUNBUFFERED": "1",
    }
    run_cli(env, "migrate")
    run_cli(env, "seed-demo")
    return env


@dataclass(frozen=True)
class Service:
    """The running service: its base URL and the file its log goes to."""

    base: str
    log: Path

    @property
    def graphql(self) -> str:
        """The /graphql endpoint."""
        return f"{self.base}/graphql"


@contextmanager
def serving(env: dict[str, str], log_path: Path) -> Iterator[Service]:
    """uvicorn with the app factory on 127.0.0.1 and a free port, until the block ends."""
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own service, fixed arguments
            [*UVICORN, "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_up(process, base, log_path)
            yield Service(base, log_path)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=15)


def _wait_until_up(process: subprocess.Popen[bytes], base: str, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, f"the service exited: {log_path.read_text()}"
        try:
            if httpx.get(f"{base}/healthz", timeout=2).text == "ok":
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"the service did not start: {log_path.read_text()}"
        time.sleep(0.1)
