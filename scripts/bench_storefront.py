"""The storefront's read path and the shop's orders, against one worker (issue #15).

Run through scripts/bench-storefront. Per backend (SQLite, then PostgreSQL in a fresh
database it creates and drops):

- starts `loyalty-gql serve` on 127.0.0.1 (one worker, rate limits off), stopped by its
  pid; builds the data through the API as the site's admin, shop backend and customer
  would: a site (program on, points valid 365 days) with 3 tiers, 20 rewards, 100
  product promotions (one product each), 50 enrolled customers, one of them with 30
  ledger entries (28 grants, 2 rewards bought with points, so 2 vouchers);
- measures with `wrk -t1 -c16` (after a warm-up): `/healthz`, `{ __typename }`, the
  points badge, the dashboard, checkout with 3 and with 50 lines (customer token);
- records 3-line orders as the shop backend (service token, unique order ids, the 50
  customers in turn) with wrk and a Lua script that builds each request and checks each
  answer (or, --order-client httpx, an async httpx client in this process, which then
  takes CPU from the server it measures), 16 in flight, on one worker (SQLite) or two
  (PostgreSQL, a second server on the same database);
- runs `loyalty-gql verify` on the database and says whether it is clean.

Optionally (--profile) samples the SQLite worker with py-spy during the badge and the
dashboard loads and summarises where the time goes. Writes its section of
docs/BENCHMARKS.md (or prints it with --output -).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from bench_ledger import write_section
from bench_server import ROOT, commit_and_cpu, load_average, serve, stop_on_term
from sqlalchemy.engine import make_url

from loyalty_gql.api.auth import Role, issue_token
from loyalty_gql.config import Settings

HEADING = "## Storefront and orders (scripts/bench-storefront)"
CODE = "bench-store"
CUSTOMER = "c-001"
CUSTOMERS = 50
REWARDS = 20
PROMOTIONS = 100
GRANTS = 28  # + 2 rewards bought = 30 ledger entries
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"

BADGE = "query { viewer { balance { available } } }"
DASHBOARD = """
query Dashboard {
  viewer {
    balance { available pending expiringSoon(withinDays: 30) nextExpiry { expiresAt points } }
    tier { id name rank }
    tierProgress { nextTier { id name threshold } metric value remaining }
    offers(first: 20) {
      nodes {
        offer { id kind name valueType value loyaltyPrice }
        canRedeem reason assigned punches
      }
      pageInfo { hasNextPage endCursor }
    }
    ledger(first: 10) {
      nodes { id kind points balanceAfter reason createdAt }
      pageInfo { hasNextPage endCursor }
    }
    vouchers { id code status expiresAt amountOff { amount } }
  }
}
"""
CHECKOUT = """
query($input: CheckoutInput!) {
  checkout(input: $input) {
    currencyCode
    subtotal { amount } discount { amount } total { amount }
    lines {
      lineId productId quantity unitPrice { amount } originalPrice { amount }
      memberDiscount { amount } discount { amount } finalPrice { amount } earnsPoints
      discounts { offerId pointsPayment amount { amount } }
    }
    appliedOffers { offerId name origin code amount { amount } rewardPoints }
    punchcards { offerId name punchesRequired punchesBefore punchesAfter }
    pointsPayment { used amount { amount } }
    pointsBase { amount } basePoints rewardPoints points
  }
}
"""
EXECUTED = "{ __typename @include(if: true) }"
"""The smallest query graphql-core executes: a directive keeps the executor's constant
answer for `{ __typename }` out, so this row is the HTTP and GraphQL stack's floor."""
RECORD = """
mutation($input: RecordOrderInput!) {
  recordOrder(input: $input) {
    order { id status pointsEarned quote { total { amount } } }
    userErrors { field code message }
  }
}
"""


# -- the server ------------------------------------------------------------------------------


NAME = "bench-storefront"
NO_LIMITS = {
    "LOYALTY_RATE_LIMIT_REQUESTS": "0",
    "LOYALTY_RATE_LIMIT_COST": "0",
    "LOYALTY_RATE_LIMIT_UNKNOWN_CODES": "0",
}
"""The load comes from one client: the per-caller rate limits are off."""


def say(text: str) -> None:
    print(f"bench-storefront: {text}", flush=True)


async def fresh_postgres(base_url: str) -> tuple[str, str, str]:
    """A new empty PostgreSQL database: its URL, its name and the admin DSN."""
    url = make_url(base_url)
    database = f"bench_storefront_{uuid.uuid4().hex[:10]}"
    admin_dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    return url.set(database=database).render_as_string(hide_password=False), database, admin_dsn


async def drop_postgres(admin_dsn: str, database: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await conn.close()


def postgres_version(admin_dsn: str) -> str:
    async def ask() -> str:
        conn = await asyncpg.connect(admin_dsn)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    return asyncio.run(ask())


# -- the data, through the API -------------------------------------------------------------


@dataclass
class Shop:
    """The bench site as its callers know it."""

    site_id: str
    customer_token: str
    service_token: str
    customers: list[str] = field(default_factory=list)  # global ids, CUSTOMER first


def gql(client: httpx.Client, query: str, variables: dict[str, Any], token: str) -> Any:
    response = client.post(
        "/graphql", json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token}"}, timeout=60,
    )  # fmt: skip
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"{query.split('(', maxsplit=1)[0].strip()}: {response.text[:2000]}")
    data = body["data"]
    payload = next(iter(data.values()))
    if isinstance(payload, dict) and payload.get("userErrors"):
        raise RuntimeError(f"user errors: {payload['userErrors']}")
    return data


def mutation(name: str, input_type: str, fields: str) -> str:
    return (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) "
        f"{{ {fields} userErrors {{ field code message }} }} }}"
    )


def line(n: int, quantity: int = 1) -> dict[str, Any]:
    """A basket line for product n (promotion n targets it)."""
    return {
        "productId": f"sku-{n:03d}", "category": f"dept{n % 5}/aisle{n % 3}",
        "quantity": quantity, "unitPrice": f"{10 + n % 40}.99",
    }  # fmt: skip


def build(base: str, settings: Settings) -> Shop:
    """The site, tiers, offers, customers and the customer's ledger, through the API."""
    admin = issue_token(settings, role=Role.ADMIN, sites=[CODE], subject="bench-admin")
    service = issue_token(settings, role=Role.SERVICE, sites=[CODE], subject="bench-shop")
    customer = issue_token(settings, role=Role.CUSTOMER, sites=[CODE], subject=CUSTOMER)
    with httpx.Client(base_url=base) as client:
        site = gql(
            client, mutation("createSite", "CreateSiteInput", "site { id }"),
            {"input": {"code": CODE, "name": "Bench store", "currencyCode": "EUR"}}, admin,
        )["createSite"]["site"]["id"]  # fmt: skip
        gql(
            client, mutation("configureProgram", "ConfigureProgramInput", "program { enabled }"),
            {"input": {"siteId": site, "enabled": True, "validityPolicy": "FIXED_DAYS",
                       "validityDays": 365}}, admin,
        )  # fmt: skip
        for rank, (name, threshold) in enumerate(
            (("Silver", 1_000), ("Gold", 5_000), ("Platinum", 20_000)), start=1
        ):
            gql(
                client, mutation("createTier", "CreateTierInput", "tier { id }"),
                {"input": {"siteId": site, "name": name, "rank": rank,
                           "metric": "POINTS_EARNED", "threshold": threshold}}, admin,
            )  # fmt: skip
        create = mutation("createOffer", "CreateOfferInput", "offer { id }")
        publish = mutation("publishOffer", "OfferActionInput", "offer { status }")
        offers = []
        for n in range(1, REWARDS + 1):
            terms = {"name": f"Reward {n}", "valueType": "FIXED_AMOUNT", "value": str(n),
                     "loyaltyPrice": 100 * n}  # fmt: skip
            offers.append(("REWARD", terms))
        for n in range(1, PROMOTIONS + 1):
            terms = {"name": f"Promotion {n}", "valueType": "PERCENT",
                     "value": str(5 + 5 * (n % 4)), "scope": "PRODUCT",
                     "targets": [f"sku-{n:03d}"]}  # fmt: skip
            offers.append(("PROMOTION", terms))
        rewards = []
        for kind, terms in offers:
            offer = gql(
                client, create, {"input": {"siteId": site, "kind": kind, "terms": terms}}, admin
            )["createOffer"]["offer"]["id"]
            gql(client, publish, {"input": {"offerId": offer}}, admin)
            if kind == "REWARD":
                rewards.append(offer)
        register = mutation("registerCustomer", "RegisterCustomerInput", "customer { id }")
        shop = Shop(site, customer, service)
        for n in range(1, CUSTOMERS + 1):
            shop.customers.append(
                gql(
                    client,
                    register,
                    {"input": {"siteId": site, "externalId": f"c-{n:03d}", "enroll": True}},
                    service,
                )["registerCustomer"]["customer"]["id"]
            )
        grant = mutation("grantPoints", "GrantPointsInput", "")
        for n in range(GRANTS):
            gql(
                client, grant,
                {"input": {"customerId": shop.customers[0], "points": 100 + n,
                           "reason": f"bench {n}"}}, admin,
            )  # fmt: skip
        redeem = mutation("redeemOffer", "RedeemOfferInput", "voucher { code }")
        for reward in rewards[:2]:
            gql(client, redeem, {"input": {"offerId": reward}}, customer)
        # what the measured requests answer, once, before they are measured
        dashboard = gql(client, DASHBOARD, {}, customer)["viewer"]
        shown = (
            dashboard["balance"]["available"], dashboard["tier"] and dashboard["tier"]["name"],
            len(dashboard["offers"]["nodes"]), len(dashboard["ledger"]["nodes"]),
            len(dashboard["vouchers"]),
        )  # fmt: skip
        say(f"dashboard: available, tier, offers, ledger rows, vouchers = {shown}")
        if shown[2:] != (20, 10, 2):
            raise RuntimeError(f"the dashboard shows {shown}, not 20 offers, 10 rows, 2 vouchers")
    return shop


def checkout_body(shop: Shop, lines: int) -> str:
    variables = {"input": {"siteId": shop.site_id,
                           "lines": [line(n, 1 + n % 3) for n in range(1, lines + 1)]}}  # fmt: skip
    return json.dumps({"query": CHECKOUT, "variables": variables}, separators=(",", ":"))


# -- wrk -------------------------------------------------------------------------------------


def to_ms(value: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if found is None:
        raise RuntimeError(f"not a wrk duration: {value!r}")
    number, unit = float(found.group(1)), found.group(2)
    return number * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


@dataclass
class Result:
    """Requests per second, median and p99 latency (ms), and how many."""

    rps: float
    median: float
    p99: float
    requests: int
    failed: int = 0
    cpu_ms: float | None = None  # the server's CPU time (all its processes) per request
    cpu_us: dict[str, float] | None = None  # CPU µs a request by party (wrk with a pid)


def postgres_cpu_seconds() -> float:
    """User and system CPU time of every living PostgreSQL process, from /proc."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, rest = stat.read_text().split(" (", 1)[1].rsplit(")", 1)
        except (OSError, ValueError, IndexError):
            continue
        if name == "postgres":
            fields = rest.split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of ``pid`` and of its living descendants (uvicorn's
    workers), from /proc; 0 where there is no /proc."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total, pending, seen = 0.0, [pid], set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue
    return total


def wrk(
    url: str,
    body: str | None,
    token: str | None,
    seconds: float,
    work: Path,
    *,
    connections: int = 16,
    pid: int = 0,
) -> Result:
    """``wrk -t1 -c16`` against ``url`` (a POST of ``body`` if given), after a warm-up.

    With the server's ``pid``: the CPU time a request of the server (all its
    processes), of PostgreSQL (all its processes) and of wrk itself, in microseconds:
    what decides how far more workers can go on a machine they all share."""
    args = ["wrk", "-t1", f"-c{connections}", "--timeout", "30s", "--latency"]
    if body is not None:
        script = work / "request.lua"
        lines = [
            'wrk.method = "POST"',
            f"wrk.body = [==[{body}]==]",
            'wrk.headers["Content-Type"] = "application/json"',
            'wrk.headers["Accept"] = "application/json"',
        ]
        if token:
            lines.append(f'wrk.headers["Authorization"] = "Bearer {token}"')
        script.write_text("\n".join(lines) + "\n")
        args += ["-s", str(script)]
    warm = max(1, round(seconds / 5))
    subprocess.run([*args, f"-d{warm}s", url], check=True, capture_output=True, timeout=600)
    before = (cpu_seconds(pid), postgres_cpu_seconds(), children_cpu_seconds()) if pid else None
    out = subprocess.run(
        [*args, f"-d{seconds:g}s", url], check=True, capture_output=True, text=True, timeout=600
    ).stdout
    after = (cpu_seconds(pid), postgres_cpu_seconds(), children_cpu_seconds()) if pid else None
    if re.search(r"Non-2xx|Socket errors", out):
        print(out, flush=True)
        raise RuntimeError("wrk saw errors (see above)")

    def grab(pattern: str) -> str:
        return grab_from(out, pattern)

    requests = int(grab(r"(\d+) requests in"))
    shares = None
    if before is not None and after is not None and requests:
        parties = ("server", "postgres", "wrk")
        shares = {
            k: (b - a) * 1e6 / requests for k, a, b in zip(parties, before, after, strict=True)
        }
    return Result(
        rps=float(grab(r"Requests/sec:\s+([\d.]+)")),
        median=to_ms(grab(r"^\s+50%\s+(\S+)")),
        p99=to_ms(grab(r"^\s+99%\s+(\S+)")),
        requests=requests,
        cpu_us=shares,
    )


def grab_from(out: str, pattern: str) -> str:
    """The first group of ``pattern`` in wrk's output (an error naming it if missing)."""
    found = re.search(pattern, out, re.M)
    if found is None:
        raise RuntimeError(f"no {pattern!r} in wrk's output:\n{out}")
    return found.group(1)


def warm_every_worker(url: str, body: str | None, token: str | None, requests: int = 64) -> None:
    """``requests`` POSTs one after the other, each on a new connection, so that every
    worker (whichever accepts it) answers some and has the answer cached; one at a
    time, so no backlog of cold requests is left to slow the measured run."""
    headers = {"content-type": "application/json", "accept": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    for _ in range(requests):
        with httpx.Client(timeout=30) as client:
            client.post(url, content=body, headers=headers).raise_for_status()


def children_cpu_seconds() -> float:
    """CPU time of this process's finished children (the wrk runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- orders ----------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def record_orders(
    base: str, shop: Shop, seconds: float, prefix: str, *, in_flight: int = 16, pid: int = 0
) -> Result:
    """recordOrder, 3 lines, ``in_flight`` at a time for ``seconds``; every answer checked."""
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    headers = {"authorization": f"Bearer {shop.service_token}"}
    times: list[float] = []
    failures: list[str] = []
    counter = iter(range(10**9))

    async with httpx.AsyncClient(
        base_url=base, limits=limits, headers=headers, timeout=60
    ) as client:

        async def one() -> None:
            n = next(counter)
            variables = {"input": {
                "siteId": shop.site_id, "orderId": f"{prefix}-{n:07d}",
                "customerId": shop.customers[n % len(shop.customers)],
                "lines": [line(1 + (n + k) % PROMOTIONS, 1 + k) for k in range(3)],
            }}  # fmt: skip
            started = time.perf_counter()
            response = await client.post("/graphql", json={"query": RECORD, "variables": variables})
            elapsed = (time.perf_counter() - started) * 1000
            body = response.json()
            payload = (body.get("data") or {}).get("recordOrder") or {}
            refused = body.get("errors") or payload.get("userErrors")
            if response.status_code != 200 or refused or not payload.get("order"):
                failures.append(response.text[:500])
            else:
                times.append(elapsed)

        async def lane(stop: float) -> None:
            while time.monotonic() < stop:
                await one()

        # warm-up (not measured), then the measured run
        warm = time.monotonic() + max(1.0, seconds / 5)
        await asyncio.gather(*(lane(warm) for _ in range(in_flight)))
        times.clear()
        cpu = cpu_seconds(pid) if pid else 0.0
        started = time.monotonic()
        await asyncio.gather(*(lane(started + seconds) for _ in range(in_flight)))
        elapsed = time.monotonic() - started
        cpu = cpu_seconds(pid) - cpu if pid else 0.0
    if failures:
        say(f"{len(failures)} orders failed; the first: {failures[0]}")
    if not times:
        raise RuntimeError("no order was recorded")
    return Result(
        rps=len(times) / elapsed, median=statistics.median(times),
        p99=percentile(times, 0.99), requests=len(times), failed=len(failures),
        cpu_ms=cpu * 1000 / (len(times) + len(failures)) if pid else None,
    )  # fmt: skip


ORDERS_LUA = r"""
-- recordOrder with wrk: a new order id per request, the customers in turn, three
-- lines each with a promotion; every answer checked (status 200, an order, no errors,
-- no userErrors), the failures counted and the first kept
local customers = {%(customers)s}
local head, prefix, promotions = [==[%(head)s]==], "%(prefix)s", %(promotions)d
-- failed and first are globals of each thread's Lua state: done() runs in another
-- state and reads them through the threads setup() kept
local n = 0
failed, first = 0, nil
local threads = {}
setup = function(thread) threads[#threads + 1] = thread end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"

local function line(k, quantity)
  return string.format(
    '{"productId":"sku-%%03d","category":"dept%%d/aisle%%d","quantity":%%d,"unitPrice":"%%d.99"}',
    k, k %% 5, k %% 3, quantity, 10 + k %% 40)
end

request = function()
  local lines = {}
  for k = 0, 2 do lines[#lines + 1] = line(1 + (n + k) %% promotions, 1 + k) end
  local body = head .. string.format('"orderId":"%%s-%%07d","customerId":"%%s","lines":[%%s]}}}',
    prefix, n, customers[1 + n %% #customers], table.concat(lines, ","))
  n = n + 1
  return wrk.format(nil, nil, nil, body)
end

response = function(status, headers, body)
  if status ~= 200 or not body:find('"userErrors":[]', 1, true)
      or body:find('"errors"', 1, true) or not body:find('"order":{', 1, true) then
    failed = failed + 1
    if first == nil then first = string.sub(body, 1, 300) end
  end
end

done = function(summary, latency, requests)
  local total, example = 0, nil
  for _, thread in ipairs(threads) do
    total = total + thread:get("failed")
    example = example or thread:get("first")
  end
  io.write(string.format("orders-failed: %%d\n", total))
  if example then io.write("orders-first-failure: " .. example .. "\n") end
end
"""


def record_orders_wrk(
    base: str,
    shop: Shop,
    seconds: float,
    prefix: str,
    work: Path,
    *,
    in_flight: int = 16,
    pid: int = 0,
) -> Result:
    """recordOrder, 3 lines, ``in_flight`` at a time for ``seconds`` with wrk (after a
    warm-up of a fifth of that, discarded); every answer checked by wrk's Lua."""
    head = json.dumps({"query": RECORD})[:-1] + ',"variables":{"input":{"siteId":'
    head += json.dumps(shop.site_id) + ","

    def script(tag: str) -> Path:
        path = work / f"orders-{tag}.lua"
        path.write_text(ORDERS_LUA % {
            "customers": ",".join(json.dumps(c) for c in shop.customers), "head": head,
            "prefix": f"{prefix}-{tag}", "promotions": PROMOTIONS, "token": shop.service_token,
        })  # fmt: skip
        return path

    url = f"{base}/graphql"
    args = ["wrk", "-t1", f"-c{in_flight}", "--timeout", "60s", "--latency"]
    warm = max(1, round(seconds / 5))
    subprocess.run(
        [*args, "-s", str(script("warm")), f"-d{warm}s", url],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    cpu = cpu_seconds(pid) if pid else 0.0
    out = subprocess.run(
        [*args, "-s", str(script("run")), f"-d{seconds:g}s", url],
        check=True, capture_output=True, text=True, timeout=600,
    ).stdout  # fmt: skip
    cpu = cpu_seconds(pid) - cpu if pid else 0.0

    def grab(pattern: str) -> str:
        return grab_from(out, pattern)

    requests = int(grab(r"(\d+) requests in"))
    failed = int(grab(r"^orders-failed: (\d+)"))
    socket_errors = re.search(r"Socket errors.*", out)
    if failed:
        say(f"{failed} orders failed; the first: {grab(r'^orders-first-failure: (.*)')}")
    if socket_errors:
        say(f"wrk: {socket_errors.group(0)}")
    if requests == failed:
        raise RuntimeError("no order was recorded")
    return Result(
        rps=(requests - failed) / float(grab(r"requests in ([\d.]+)s")),
        median=to_ms(grab(r"^\s+50%\s+(\S+)")), p99=to_ms(grab(r"^\s+99%\s+(\S+)")),
        requests=requests - failed, failed=failed,
        cpu_ms=cpu * 1000 / requests if pid else None,
    )  # fmt: skip


ORDER_CLIENTS = {
    "wrk": "`wrk -t1` with a Lua script that makes each request and checks each answer, as "
    "the reads are sent",
    "httpx": "an async httpx client in the benchmark's process",
}


def orders_run(
    args: argparse.Namespace, base: str, shop: Shop, prefix: str, *, work: Path, pid: int
) -> Result:
    """The orders phase with the client asked for (wrk unless --order-client httpx)."""
    if args.order_client == "httpx":
        return asyncio.run(
            record_orders(base, shop, args.order_seconds, prefix, in_flight=args.in_flight, pid=pid)
        )
    return record_orders_wrk(
        base, shop, args.order_seconds, prefix, work, in_flight=args.in_flight, pid=pid
    )


def verify(url: str) -> str:
    """`loyalty-gql verify` on the database: its last line and whether it was clean."""
    env = {**os.environ, "LOYALTY_DATABASE_URL": url}
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "loyalty-gql"), "verify"],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    last = (done.stdout.strip().splitlines() or [""])[-1]
    if done.returncode == 0:
        return f"clean ({last})"
    return f"NOT clean: {done.stderr.strip() or last}"


# -- py-spy ----------------------------------------------------------------------------------


def py_spy() -> str | None:
    found = ROOT / ".venv" / "bin" / "py-spy"
    return str(found) if found.exists() else shutil.which("py-spy")


@contextmanager
def sampling(pid: int, out: Path, seconds: float) -> Iterator[None]:
    """py-spy samples the worker (collapsed stacks) while the block runs."""
    spy = py_spy()
    if spy is None:
        raise RuntimeError("py-spy is needed for --profile (.venv/bin/pip install py-spy)")
    proc = subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--format", "raw", "--rate", str(RATE),
         "--threads", "--gil", "--duration", str(round(seconds)), "--nonblocking",
         "-o", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    say(f"py-spy pid {proc.pid} sampling pid {pid}")
    try:
        yield
    finally:
        try:
            proc.wait(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait()


# Where a frame's time goes, by the first matching pattern of its file (inclusive time:
# a stack counts once per group it passes through).
GROUPS = (
    ("loyalty_gql (our code)", "(loyalty_gql/"),
    ("graphql-core (execution, completing fields)", "graphql/"),
    ("strawberry", "strawberry/"),
    ("SQLAlchemy", "sqlalchemy/"),
    ("aiosqlite / sqlite3", "aiosqlite/"),
    ("asyncpg", "asyncpg/"),
    ("uvicorn / httptools / starlette", "uvicorn/"),
    ("JWT (pyjwt, cryptography)", "jwt/"),
    ("asyncio event loop", "asyncio/"),
)


@dataclass
class Profile:
    """A py-spy profile, summarised: samples by thread, and the event-loop thread's
    inclusive shares by group and its frames with the most self time."""

    samples: int
    threads: dict[str, float]
    groups: list[tuple[str, float]]
    frames: list[tuple[str, float]]


WORKER = "_connection_worker_thread (aiosqlite/core.py"
RATE = 200  # py-spy samples per second


def summarise(path: Path, top: int = 12) -> Profile:
    """Read py-spy's collapsed stacks (recorded with --threads)."""
    threads: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    groups: collections.Counter[str] = collections.Counter()
    total = main = 0
    for raw in path.read_text().splitlines():
        stack, _, count_text = raw.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        worker = next((f for f in frames if f.startswith(WORKER)), None)
        if worker is not None:
            # aiosqlite's thread: line 59 takes the next call from its queue, 63 wakes the
            # event loop with the result, the rest runs the statement
            if frames[-1] is worker and ":59)" in worker:
                threads["aiosqlite threads: taking the next call (SimpleQueue.get)"] += count
            elif frames[-1] is worker and ":63)" in worker:
                threads["aiosqlite threads: waking the event loop (call_soon_threadsafe)"] += count
            else:
                threads["aiosqlite threads: running statements (sqlite3)"] += count
            continue
        threads["event-loop thread (everything else)"] += count
        main += count
        leaves[short(frames[-1])] += count
        for name, pattern in GROUPS:
            if any(pattern in f for f in frames):
                groups[name] += count
    if not total:
        return Profile(0, {}, [], [])
    return Profile(
        samples=total,
        threads={name: n / total for name, n in threads.most_common()},
        groups=[(name, groups[name] / max(main, 1)) for name, _ in GROUPS if groups[name]],
        frames=[(name, n / max(main, 1)) for name, n in leaves.most_common(top)],
    )


# aiosqlite's lines that matter, as they read in aiosqlite 0.22 (core.py)
AIOSQLITE_LINES = {
    "Connection._execute:158": "hands the call to aiosqlite's thread (SimpleQueue.put_nowait, "
    "which wakes it: the GIL hand-off)",
    "Connection._execute:160": "awaits the thread's answer",
}


def short(frame: str) -> str:
    """`function (path/to/module.py:12)` as `function (package/module.py)`; aiosqlite's
    frames keep their line, and the few lines that matter say what they do."""
    if frame.startswith("thread ("):
        return "no Python frame (the event loop's C code: uvloop, httptools)"
    found = re.match(r"(.*) \((.*?)(?::(\d+))?\)$", frame)
    if found is None:
        return frame
    function, file, number = found.groups()
    parts = file.split("site-packages/")[-1].split("/")
    where = "/".join(parts[-2:])
    if parts[0] == "aiosqlite" and number:
        what = AIOSQLITE_LINES.get(f"{function}:{number}")
        return f"{function} ({where}:{number}{': ' + what if what else ''})"
    return f"{function} ({where})"


# -- one backend -----------------------------------------------------------------------------


@dataclass
class Run:
    backend: str
    reads: dict[str, Result]
    orders: Result
    order_workers: int
    order_healthz: Result | None
    verify: str
    profiles: dict[str, Path] = field(default_factory=dict)
    computed: dict[str, Result] = field(default_factory=dict)
    """Reads again with the response cache off: every answer computed."""
    scaling: dict[str, Result] = field(default_factory=dict)
    """The dashboard and /healthz with SCALE_WORKERS workers (PostgreSQL)."""


SCALE_WORKERS = 4
COMPUTED = ("badge", "dashboard", "checkout3", "checkout50")
CASES = (
    ("healthz", "`/healthz`"),
    ("typename", "`{ __typename }`"),
    ("executed", "`{ __typename @include(if: true) }` (executed: no constant answer)"),
    ("badge", "points badge `viewer { balance { available } }`"),
    ("dashboard", "dashboard: balance with expiry, tier and progress, My offers first 20, "
                  "ledger first 10, vouchers"),
    ("checkout3", "checkout, 3 lines"),
    ("checkout50", "checkout, 50 lines"),
)  # fmt: skip


def measure(
    backend: str, url: str, work: Path, args: argparse.Namespace, order_workers: int
) -> Run:
    settings = Settings(env="development", database_url=url)
    env = {**os.environ, "LOYALTY_DATABASE_URL": url}
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "loyalty-gql"), "migrate"], env=env, check=True,
        capture_output=True,
    )  # fmt: skip
    log = work / f"server-{backend.split(maxsplit=1)[0].lower()}.log"
    reads: dict[str, Result] = {}
    profiles: dict[str, Path] = {}
    with serve(url, log, NAME, extra_env=NO_LIMITS) as server:
        started = time.perf_counter()
        shop = build(server.base, settings)
        say(f"{backend}: data built through the API in {time.perf_counter() - started:.1f} s")
        graphql = f"{server.base}/graphql"
        bodies: dict[str, tuple[str, str | None, str | None]] = {
            "healthz": (f"{server.base}/healthz", None, None),
            "typename": (graphql, json.dumps({"query": "{ __typename }"}), None),
            "executed": (graphql, json.dumps({"query": EXECUTED}), None),
            "badge": (graphql, json.dumps({"query": BADGE}), shop.customer_token),
            "dashboard": (graphql, json.dumps({"query": DASHBOARD}), shop.customer_token),
            "checkout3": (graphql, checkout_body(shop, 3), shop.customer_token),
            "checkout50": (graphql, checkout_body(shop, 50), shop.customer_token),
        }
        for key, (target, body, token) in bodies.items():
            if args.only_orders and key != "healthz":
                continue
            result = wrk(target, body, token, args.seconds, work, pid=server.pid)
            reads[key] = result
            say(f"{backend}: {key}: {result.rps:,.0f} req/s, median {result.median:.2f} ms, "
                f"p99 {result.p99:.2f} ms")  # fmt: skip
        if args.profile and backend.startswith("SQLite"):
            for key in ("badge", "dashboard"):
                target, body, token = bodies[key]
                out = work / f"profile-{key}.txt"
                with sampling(server.pid, out, args.profile_seconds):
                    wrk(target, body, token, args.profile_seconds, work)
                if out.exists():
                    kept = Path(tempfile.gettempdir()) / f"bench-storefront-profile-{key}.txt"
                    shutil.copy(out, kept)
                    say(f"py-spy's collapsed stacks for {key}: {kept}")
                    profiles[key] = kept
        computed: dict[str, Result] = {}
        order_healthz = None
        if order_workers == 1:
            with order_profile(args, server.pid, work, backend, profiles):
                orders = orders_run(args, server.base, shop, "o1", work=work, pid=server.pid)
    if order_workers > 1:
        with serve(url, log, NAME, workers=order_workers, extra_env=NO_LIMITS) as server:
            order_healthz = wrk(f"{server.base}/healthz", None, None, args.seconds, work)
            orders = orders_run(args, server.base, shop, "o2", work=work, pid=server.pid)
    scaling: dict[str, Result] = {}
    if not args.only_orders:
        cold = {**NO_LIMITS, "LOYALTY_RESPONSE_CACHE_SIZE": "0"}
        with serve(url, log, NAME, extra_env=cold) as server:
            graphql = f"{server.base}/graphql"
            computed["healthz"] = wrk(f"{server.base}/healthz", None, None, args.seconds, work)
            for key in COMPUTED:
                _, body, token = bodies[key]
                computed[key] = wrk(graphql, body, token, args.seconds, work)
                say(
                    f"{backend}: {key}, computed: {computed[key].rps:,.0f} req/s, "
                    f"median {computed[key].median:.2f} ms, p99 {computed[key].p99:.2f} ms"
                )
    if order_workers > 1 and not args.only_orders:
        with serve(url, log, NAME, workers=SCALE_WORKERS, extra_env=NO_LIMITS) as server:
            scaling["healthz"] = wrk(f"{server.base}/healthz", None, None, args.seconds, work)
            _, body, token = bodies["dashboard"]
            graphql = f"{server.base}/graphql"
            warm_every_worker(graphql, body, token)
            scaling["dashboard"] = wrk(graphql, body, token, args.seconds, work, pid=server.pid)
            say(
                f"{backend}: dashboard with {SCALE_WORKERS} workers: "
                f"{scaling['dashboard'].rps:,.0f} req/s"
            )
        cold = {**NO_LIMITS, "LOYALTY_RESPONSE_CACHE_SIZE": "0"}
        with serve(url, log, NAME, workers=SCALE_WORKERS, extra_env=cold) as server:
            _, body, token = bodies["dashboard"]
            scaling["computed"] = wrk(f"{server.base}/graphql", body, token, args.seconds, work)
    cpu = f", server CPU {orders.cpu_ms:.1f} ms an order" if orders.cpu_ms else ""
    say(f"{backend}: recordOrder {orders.rps:,.1f}/s, median {orders.median:.1f} ms, "
        f"p99 {orders.p99:.1f} ms, {orders.requests} orders, {orders.failed} failed"
        + cpu)  # fmt: skip
    checked = verify(url)
    say(f"{backend}: verify: {checked}")
    return Run(
        backend,
        reads,
        orders,
        order_workers,
        order_healthz,
        checked,
        profiles,
        computed,
        scaling,
    )


@contextmanager
def order_profile(
    args: argparse.Namespace, pid: int, work: Path, backend: str, profiles: dict[str, Path]
) -> Iterator[None]:
    """With --profile-orders: py-spy on the one-worker server while it records orders."""
    if not args.profile_orders:
        yield
        return
    name = backend.split(maxsplit=1)[0].lower()
    out = work / f"profile-orders-{name}.txt"
    with sampling(pid, out, args.order_seconds * 1.2 + 1):
        yield
    if out.exists():
        kept = Path(tempfile.gettempdir()) / f"bench-storefront-profile-orders-{name}.txt"
        shutil.copy(out, kept)
        say(f"py-spy's collapsed stacks for the orders: {kept}")


# -- the report ------------------------------------------------------------------------------


def report(runs: list[Run], args: argparse.Namespace, facts: dict[str, str]) -> str:  # noqa: PLR0912
    versions = ", ".join(
        f"{n} {version(n)}"
        for n in ("uvicorn", "uvloop", "httptools", "starlette", "strawberry-graphql",
                  "graphql-core", "sqlalchemy", "aiosqlite", "asyncpg", "httpx")
    )  # fmt: skip
    lines = [
        HEADING,
        "",
        "Written by `scripts/bench-storefront`; run it again to replace this section.",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; commit {facts['commit']}"
        + (" (--quick run)" if args.quick else ""),
        f"- Machine: {os.cpu_count()} CPUs (nproc), {facts['cpu']}; Python "
        f"{platform.python_version()}; load average (1/5/15 min) {facts['load_before']} "
        f"(before) / {load_average()} (after); wrk and the server share the CPUs",
        f"- Software: {versions}; {facts['wrk']}; {facts['postgres']}",
        "- Server: `loyalty-gql serve`, 1 worker (uvicorn, uvloop, httptools) on 127.0.0.1, "
        "LOYALTY_ENV=development, LOYALTY_LOG_LEVEL=warning, rate limits off; a fresh "
        "database per backend (SQLite file in WAL mode; a new PostgreSQL database, dropped "
        "after)",
        f"- Data, built through the API: one site (points valid 365 days), 3 tiers "
        f"(POINTS_EARNED 1,000 / 5,000 / 20,000), {REWARDS} rewards, {PROMOTIONS} product "
        f"promotions (one product each, 5-20% off), {CUSTOMERS} enrolled customers; the "
        f"measured customer has 30 ledger entries ({GRANTS} grants, 2 rewards bought, so "
        "2 vouchers)",
        f"- Reads: `wrk -t1 -c16 -d{args.seconds:g}s --latency` (after a warm-up of a fifth "
        "of that, discarded), customer token except `/healthz` and `{ __typename }`; the "
        "dashboard as one query (balance with expiringSoon and nextExpiry, tier, "
        "tierProgress, offers(first: 20), ledger(first: 10), vouchers); checkout: the cart "
        "page's query (lines with discounts, applied offers, totals, points), each line "
        "with a promotion",
        f"- Orders: recordOrder with 3 lines as the shop backend (service token), unique "
        f"order ids, the {CUSTOMERS} customers in turn, {args.in_flight} in flight for "
        f"{args.order_seconds:g} s ({ORDER_CLIENTS[args.order_client]}; after a warm-up); "
        "every answer checked (status 200, an order, no errors, no userErrors); then "
        "`loyalty-gql verify` on the database",
        "",
        "| request | " + " | ".join(
            f"{r.backend.split()[0]} req/s | share of /healthz | median | p99" for r in runs
        ) + " |",
        "| --- |" + " ---: | ---: | ---: | ---: |" * len(runs),
    ]  # fmt: skip
    for key, name in CASES:
        if any(key not in r.reads for r in runs):
            continue  # --only-orders
        cells = []
        for r in runs:
            res, base = r.reads[key], r.reads["healthz"].rps
            cells.append(f"{res.rps:,.0f} | {res.rps / base:.3f} | {res.median:.2f} ms | "
                         f"{res.p99:.2f} ms")  # fmt: skip
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    cells = []
    for r in runs:
        o, base = r.orders, r.reads["healthz"].rps
        cells.append(f"{o.rps:,.1f} | {o.rps / base:.4f} | {o.median:.1f} ms | {o.p99:.1f} ms")
    workers = " / ".join(f"{r.order_workers} on {r.backend.split()[0]}" for r in runs)
    lines.append(
        f"| recordOrder, 3 lines (orders/s; workers: {workers}) | " + " | ".join(cells) + " |"
    )
    lines.append("")
    for r in runs:
        note = f"- {r.backend}: {r.orders.requests:,} orders recorded, {r.orders.failed} failed; "
        if r.orders.cpu_ms:
            note += f"the server's CPU time (all its processes) {r.orders.cpu_ms:.1f} ms an order; "
        note += f"ledger check (`loyalty-gql verify`): {r.verify}"
        if r.order_healthz is not None:
            note += (
                f"; the {r.order_workers}-worker server's own `/healthz`: "
                f"{r.order_healthz.rps:,.0f} req/s (orders over it: "
                f"{r.orders.rps / r.order_healthz.rps:.4f})"
            )
        lines.append(note)
    if all(r.computed for r in runs):
        lines += [
            "",
            "Every read above is answered from the response cache after its first request "
            "(api/response_cache.py). The same reads with the cache off "
            "(`LOYALTY_RESPONSE_CACHE_SIZE=0`, a server of its own), every answer computed:",
            "",
            "| request, computed | "
            + " | ".join(f"{r.backend.split()[0]} req/s | share of /healthz | median | p99"
                         for r in runs)
            + " |",
            "| --- |" + " ---: | ---: | ---: | ---: |" * len(runs),
        ]  # fmt: skip
        for key in COMPUTED:
            cells = []
            for r in runs:
                res, base = r.computed[key], r.computed["healthz"].rps
                cells.append(f"{res.rps:,.0f} | {res.rps / base:.3f} | {res.median:.2f} ms | "
                             f"{res.p99:.2f} ms")  # fmt: skip
            lines.append(f"| {dict(CASES)[key]} | " + " | ".join(cells) + " |")
    for r in runs:
        if r.scaling:
            one, many = r.reads["dashboard"].rps, r.scaling["dashboard"].rps
            lines += [
                "",
                f"- {r.backend}, {SCALE_WORKERS} workers: the dashboard {many:,.0f} req/s "
                f"({many / one:.2f}x one worker's {one:,.0f}; median "
                f"{r.scaling['dashboard'].median:.2f} ms, p99 {r.scaling['dashboard'].p99:.2f} "
                f"ms); `/healthz` {r.scaling['healthz'].rps:,.0f} req/s "
                f"({r.scaling['healthz'].rps / r.reads['healthz'].rps:.2f}x one worker's); "
                f"the dashboard computed (cache off) {r.scaling['computed'].rps:,.0f} req/s "
                f"({r.scaling['computed'].rps / r.computed['dashboard'].rps:.2f}x one "
                "worker's)",
            ]
            for label, res in (("1 worker", r.reads["dashboard"]),
                               (f"{SCALE_WORKERS} workers", r.scaling["dashboard"])):  # fmt: skip
                if res.cpu_us:
                    lines.append(
                        f"- {r.backend}, the dashboard's CPU time a request, {label}: "
                        + ", ".join(f"{k} {v:.0f} µs" for k, v in res.cpu_us.items())
                    )
    lines += [
        "",
        "Shares are over `/healthz` of the same server in the same run (orders: over the "
        "one-worker `/healthz` of the table), so they hold better than the raw rates on a "
        "busy machine.",
    ]
    profiled = [(key, path) for r in runs for key, path in r.profiles.items()]
    if profiled:
        lines += [
            "",
            f"### Where the time goes (py-spy, SQLite, one worker, {args.profile_seconds:g} s "
            "of wrk load each)",
            "",
            f"`py-spy record --gil --threads --rate {RATE}` on the worker: each sample is "
            "the thread holding the GIL then (none: no sample), so the shares are of the "
            "worker's Python time. GIL held: samples over the wall time's possible samples. "
            "Then, for the event-loop thread only: the share of its samples with each group "
            "on the stack "
            "(a sample counts in every group it passes through; SQLAlchemy's greenlet stacks "
            "start at Session.execute, so groups below it are undercounted), and the frames "
            "with the most self time (C code shows as the Python frame that called it).",
        ]
        for key, path in profiled:
            found = summarise(path)
            held = found.samples / (RATE * args.profile_seconds)
            lines += ["", f"{dict(CASES)[key]}: {found.samples:,} samples, GIL held {held:.0%} "
                      "of the time", ""]  # fmt: skip
            lines += ["| thread | share of all samples |", "| --- | ---: |"]
            lines += [f"| {name} | {share:.0%} |" for name, share in found.threads.items()]
            lines += ["", "| event-loop thread: on the stack | share |", "| --- | ---: |"]
            lines += [f"| {name} | {share:.0%} |" for name, share in found.groups]
            lines += ["", "| event-loop thread: frame (self time) | share |", "| --- | ---: |"]
            lines += [f"| `{name}` | {share:.1%} |" for name, share in found.frames]
    return "\n".join(lines) + "\n"


STATEMENTS_HEADING = "### recordOrder, statement by statement"


def kept_subsection(path: Path, heading: str) -> str:
    """A hand-written subsection of this section (up to the next heading) that a new run
    keeps, at its end; empty when there is none."""
    text = path.read_text() if path.exists() else ""
    start = text.find(f"\n{heading}\n")
    if start < 0:
        return ""
    rest = text[start + 1 :]
    ends = [i for i in (rest.find("\n## ", 1), rest.find("\n### ", 1)) if i > 0]
    return "\n" + (rest[: min(ends)] if ends else rest).rstrip("\n") + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--postgres", default=DEFAULT_POSTGRES,
        help="PostgreSQL server URL (a fresh database is made and dropped)",
    )  # fmt: skip
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk time per read")
    parser.add_argument("--order-seconds", type=float, default=15.0)
    parser.add_argument("--quick", action="store_true", help="3 s per read, 5 s of orders")
    parser.add_argument(
        "--profile", action="store_true",
        help="py-spy on the SQLite worker during the badge and dashboard loads",
    )  # fmt: skip
    parser.add_argument("--profile-seconds", type=float, default=15.0)
    parser.add_argument(
        "--only-orders", action="store_true",
        help="of the reads only /healthz (to iterate on recordOrder); implies --output -",
    )  # fmt: skip
    parser.add_argument(
        "--in-flight", type=int, default=16, help="orders in flight (16 in the table)"
    )
    parser.add_argument(
        "--order-client", choices=("wrk", "httpx"), default="wrk",
        help="what sends the orders: wrk with a Lua script (the table), or an async httpx "
        "client in this process (which shares the CPUs with the server)",
    )  # fmt: skip
    parser.add_argument(
        "--profile-orders", action="store_true",
        help="py-spy on the SQLite worker while it records orders (collapsed stacks kept)",
    )  # fmt: skip
    parser.add_argument("--output", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    args = parser.parse_args()
    if args.only_orders:
        args.output = "-"
    if args.quick:
        args.seconds, args.order_seconds, args.profile_seconds = 3.0, 5.0, 5.0
    signal.signal(signal.SIGTERM, stop_on_term)
    for name in [k for k in os.environ if k.startswith("LOYALTY_JWT_")]:
        del os.environ[name]  # the server gets the development key; so do our tokens
    if shutil.which("wrk") is None:
        raise SystemExit("bench-storefront: wrk is needed (apt-get install -y wrk)")
    commit, cpu = commit_and_cpu()
    wrk_version = subprocess.run(
        ["wrk", "-v"], capture_output=True, text=True, check=False
    ).stdout.split("[")[0].strip()  # fmt: skip
    facts = {"commit": commit, "cpu": cpu, "wrk": wrk_version, "load_before": load_average(),
             "postgres": "PostgreSQL not measured"}  # fmt: skip
    say(f"load average before: {facts['load_before']}")
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-storefront.") as folder:
        work = Path(folder)
        url = f"sqlite+aiosqlite:///{work / 'storefront.db'}"
        if not args.no_sqlite:
            runs.append(measure("SQLite (aiosqlite, WAL)", url, work, args, order_workers=1))
        if not args.no_postgres:
            url, database, admin_dsn = asyncio.run(fresh_postgres(args.postgres))
            facts["postgres"] = f"PostgreSQL {postgres_version(admin_dsn)}, local server"
            try:
                runs.append(measure("PostgreSQL (asyncpg)", url, work, args, order_workers=2))
            finally:
                asyncio.run(drop_postgres(admin_dsn, database))
                say(f"dropped database {database}")
    section = report(runs, args, facts)
    print(section)
    if args.output != "-":
        section += kept_subsection(Path(args.output), STATEMENTS_HEADING)
        write_section(Path(args.output), section)
        say(f"wrote {args.output}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
