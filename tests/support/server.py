"""A real server for tests: `loyalty-gql serve` on 127.0.0.1 on a free port, on the test
database, rate limits off, stopped by its pid."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    """A port the OS says is free on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def running_server(
    database_url: str, log: Path, *, workers: int, **settings: str
) -> AsyncIterator[str]:
    """`loyalty-gql serve` with ``workers`` workers and these LOYALTY_ settings (names
    without the prefix, lower case); its base URL while the block runs."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env.update(
        LOYALTY_DATABASE_URL=database_url, LOYALTY_HOST="127.0.0.1", LOYALTY_PORT=str(port),
        LOYALTY_WORKERS=str(workers), LOYALTY_LOG_LEVEL="warning",
        LOYALTY_RATE_LIMIT_REQUESTS="0", LOYALTY_RATE_LIMIT_COST="0",
        LOYALTY_RATE_LIMIT_UNKNOWN_CODES="0",
    )  # fmt: skip
    env.update({f"LOYALTY_{name.upper()}": value for name, value in settings.items()})
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603, ASYNC220 - our own command line, started once
            [str(Path(sys.executable).with_name("loyalty-gql")), "serve"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # workers import the app at once: slow when busy
        async with httpx.AsyncClient() as client:
            while True:
                if proc.poll() is not None:
                    tail = log.read_text()[-2000:]  # noqa: ASYNC240 - it stopped: once
                    pytest.fail(f"the server exited:\n{tail}")
                try:
                    if (await client.get(f"{base}/healthz", timeout=1)).text == "ok":
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("the server did not answer /healthz")
                await asyncio.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck server
            proc.kill()
            proc.wait()
