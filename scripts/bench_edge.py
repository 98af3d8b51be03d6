"""The public edge under hostile documents: fragment fan-outs against one worker.

Starts `loyalty-gql serve` (one worker, a fresh migrated SQLite database, rate limits
off so that only the document limits answer), then:

- sends each fan-out (`query { ...F0 } fragment F0 on Query { ...F1 ...F1 ...F1 ...F1 }`
  and so on; 12 and 30 levels) ``--runs`` times, each with a new comment so that no
  answer comes from the document cache, and times each answer over loopback (an upper
  bound of the server's time);
- polls `/healthz` alone, then again while 8 fan-outs at a time keep arriving, and
  reports its p50 / p99 / worst.

Writes its section of docs/BENCHMARKS.md (or prints it with --output -).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from bench_ledger import write_section
from bench_server import ROOT, commit_and_cpu, load_average, server


def fan_out(levels: int, salt: int) -> str:
    """A fan-out of ``levels`` fragments, each spreading the next four times."""
    fragments = [
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} ...F{i + 1} ...F{i + 1} }}"
        for i in range(levels)
    ]
    last = f"fragment F{levels} on Query {{ __typename }}"
    return "\n".join([f"# {salt}", "query { ...F0 }", *fragments, last])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def fan_out_times(base: str, levels: int, runs: int) -> tuple[list[float], str]:
    times: list[float] = []
    code = ""
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for n in range(runs):
            started = time.perf_counter()
            response = await client.post("/graphql", json={"query": fan_out(levels, n)})
            times.append((time.perf_counter() - started) * 1000)
            code = response.json()["errors"][0]["extensions"]["code"]
    return times, code


def attack(base: str, seconds: float, burst: int) -> None:
    """In its own process: every 100 ms, ``burst`` fan-outs sent at once."""

    async def run() -> None:
        stop = time.monotonic() + seconds
        salt = 10_000
        limits = httpx.Limits(max_connections=burst)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
            while time.monotonic() < stop:
                salt += burst
                started = time.monotonic()
                await asyncio.gather(
                    *(
                        client.post(
                            "/graphql", json={"query": fan_out(29 if i % 2 else 11, salt + i)}
                        )
                        for i in range(burst)
                    )
                )
                await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - started)))

    asyncio.run(run())


async def healthz_times(base: str, seconds: float, burst: int) -> list[float]:
    attacker = None
    if burst:
        attacker = multiprocessing.Process(target=attack, args=(base, seconds, burst))
        attacker.start()
    stop = time.monotonic() + seconds
    times: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as health:
        while time.monotonic() < stop:
            started = time.perf_counter()
            await health.get("/healthz")
            times.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.005)
    if attacker is not None:
        attacker.join()
    return times


def prepare_times(levels: int, runs: int) -> list[float]:
    """The server's own work for a fan-out: parse, weigh and refuse (in this process)."""
    from loyalty_gql.api.executor import Executor
    from loyalty_gql.api.schema import schema
    from loyalty_gql.config import Settings

    executor = Executor(schema, Settings(env="test"))
    # as the server does at start-up: the schema and modules leave the GC's scans
    gc.collect()
    gc.freeze()
    times = []
    for n in range(runs):
        started = time.perf_counter()
        prepared = executor.prepare(fan_out(levels, n))
        times.append((time.perf_counter() - started) * 1000)
        assert prepared.document is None
    return times


def row(name: str, times: list[float]) -> str:
    return (
        f"| {name} | {len(times)} | {statistics.median(times):.1f} | "
        f"{percentile(times, 0.99):.1f} | {max(times):.1f} |"
    )


async def measure(base: str, runs: int, seconds: float) -> list[str]:
    rows = []
    for levels in (11, 29):
        times, code = await fan_out_times(base, levels, runs)
        rows.append(row(f"{levels + 1}-level fan-out over HTTP ({code})", times))
        rows.append(
            row(f"{levels + 1}-level fan-out, server work only", prepare_times(levels, runs))
        )
    rows.append(row("`/healthz` alone", await healthz_times(base, seconds, 0)))
    during = await healthz_times(base, seconds, 8)
    rows.append(row("`/healthz` while bursts of 8 fan-outs arrive", during))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--output", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    args = parser.parse_args()
    os.environ.update(LOYALTY_RATE_LIMIT_REQUESTS="0", LOYALTY_RATE_LIMIT_COST="0")
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'edge.db'}"
        env = {**os.environ, "LOYALTY_DATABASE_URL": url}
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "loyalty-gql"), "migrate"], env=env, check=True
        )
        with server(url, Path(folder) / "server.log", "bench-edge") as base:
            rows = asyncio.run(measure(base, args.runs, args.seconds))
    commit, cpu = commit_and_cpu()
    section = "\n".join(
        [
            "## The public edge (scripts/bench-edge)",
            "",
            f"Commit {commit}; {cpu}; load average at the end {load_average()}. One worker, "
            "SQLite, rate limits off. Fan-outs: a new document text each time (no cache), "
            "timed over loopback from the client, and the server's own work (parse, weigh, "
            "refuse) in process; `/healthz` polled every 5 ms for "
            f"{args.seconds:.0f} s, alone and while another process sends 8 fan-outs at "
            "once every 100 ms.",
            "",
            "| request | n | median ms | p99 ms | worst ms |",
            "| --- | ---: | ---: | ---: | ---: |",
            *rows,
            "",
            "Written by `scripts/bench-edge`; run it again to replace this section.",
        ]
    )
    print(section)
    if args.output != "-":
        write_section(Path(args.output), section)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
