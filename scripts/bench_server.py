"""What the HTTP benchmarks share: their own server on 127.0.0.1, stopped by its pid."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    """A running `loyalty-gql serve`: its base URL and pid (the worker's when alone)."""

    base: str
    pid: int


@contextmanager
def serve(
    url: str,
    log: Path,
    name: str,
    *,
    workers: int = 1,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """`loyalty-gql serve` on 127.0.0.1 with ``workers`` workers (and ``extra_env``, e.g.
    rate limits off); stopped by its pid on the way out. Its output is appended to
    ``log``; ``name`` prefixes what it prints (the benchmark's name)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_JWT_")}
    env.update(
        LOYALTY_HOST="127.0.0.1", LOYALTY_PORT=str(port), LOYALTY_WORKERS=str(workers),
        LOYALTY_DATABASE_URL=url, LOYALTY_ENV="development",
        LOYALTY_LOG_LEVEL=os.environ.get("LOYALTY_LOG_LEVEL", "warning"),
    )  # fmt: skip
    env.update(extra_env or {})
    base = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "loyalty-gql"), "serve"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    print(f"{name}: server pid {proc.pid} ({workers} worker(s)) on {base}", flush=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited:\n{log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).text == "ok":
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer /healthz")
            time.sleep(0.1)
        yield Server(base, proc.pid)
    except Exception:
        # what went wrong is often in the server's own words
        print(f"{name}: the server's log ends:\n{log.read_text(errors='replace')[-3000:]}")
        raise
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        print(f"{name}: server pid {proc.pid} stopped", flush=True)


@contextmanager
def server(url: str, log: Path, name: str) -> Iterator[str]:
    """`serve` with one worker, as its base URL."""
    with serve(url, log, name) as running:
        yield running.base


def load_average() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def stop_on_term(_signal: int, _frame: FrameType | None) -> None:
    """SIGTERM ends the run like Ctrl-C, so the server is stopped and the data dropped."""
    raise KeyboardInterrupt


def commit_and_cpu() -> tuple[str, str]:
    """The commit measured (noting uncommitted changes to the code) and the CPU model."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
        check=False,
    ).stdout.strip() or "unknown"  # fmt: skip
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "loyalty_gql"], capture_output=True, text=True,
        cwd=ROOT, check=False,
    ).stdout.strip()  # fmt: skip
    if dirty:
        commit += " (+ uncommitted changes in loyalty_gql/)"
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor() or "unknown",
    )  # fmt: skip
    return commit, cpu
