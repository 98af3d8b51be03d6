"""Checkout benchmark: a 50-line basket against 100, 1,000 and 10,000 active promotions.

Run through scripts/bench-checkout. For each number of promotions:
  - in process, with the pure domain only: the offer index is built once (timed),
    then what a checkout request does with it is timed run after run:
    OfferIndex.touching(lines), a Candidate for each promotion found, and
    price_basket(...), for a guest and for a signed-in customer;
  - over HTTP: a fresh database (SQLite, and PostgreSQL too with --postgres) gets a
    site per size with its promotions inserted directly (the offers table), the real
    server is started on 127.0.0.1 (one worker), and wrk POSTs the `checkout` query
    for the same basket, as a guest and as the customer, and counts requests/second.
The HTTP quote is checked against the in-process one before it is measured. Writes
its section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from random import Random
from typing import Any

import httpx
from bench_ledger import fresh_database, write_section
from bench_server import commit_and_cpu, load_average, server, stop_on_term

from loyalty_gql.api.auth import Role, issue_token
from loyalty_gql.api.core.ids import to_global_id
from loyalty_gql.config import Settings
from loyalty_gql.db.engine import Database, create_database
from loyalty_gql.db.migrate import upgrade
from loyalty_gql.db.models import OfferRow, StackingGroupRow
from loyalty_gql.db.repositories.offers.catalog import store_terms
from loyalty_gql.domain.checkout import (
    BasketLine,
    CheckoutRules,
    LiveOffer,
    OfferIndex,
    PriceBase,
    Quote,
    Shopper,
    StackingGroup,
    StackingMode,
    price_basket,
)
from loyalty_gql.domain.customers import CustomerProfile
from loyalty_gql.domain.offers import OfferKind, OfferScope, OfferTerms, OfferValueType
from loyalty_gql.domain.sites import ProgramChanges, ProgramSettings
from loyalty_gql.services.core.common import Actor, system_clock
from loyalty_gql.services.customers import register_customer
from loyalty_gql.services.sites import configure_program, create_site

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## Checkout (scripts/bench-checkout)"
CURRENCY = "EUR"
SIZES = (100, 1_000, 10_000)
PRODUCTS = 5_000
LINES = 50
AIM_MS = 10.0
ADMIN = Actor("admin", "bench")
CUSTOMER = "bench-customer"
CUSTOMER_GROUP = "vip"
# catalogue: 10 departments x 6 aisles; 4 aisles of each have 4 shelves
DEPARTMENTS, AISLES, AISLES_WITH_SHELVES, SHELVES = 10, 6, 4, 4
# the site's stacking groups (offers without a group stack on what is left)
GROUPS = {
    "seasonal": StackingGroup("seasonal", StackingMode.BEST_FOR_CUSTOMER, PriceBase.ORIGINAL),
    "clearance": StackingGroup("clearance", StackingMode.FIRST_BY_PRIORITY, PriceBase.DISCOUNTED),
    "brand": StackingGroup("brand", StackingMode.STACK, PriceBase.DISCOUNTED),
    "members": StackingGroup("members", StackingMode.BEST_FOR_CUSTOMER, PriceBase.DISCOUNTED),
    "weekend": StackingGroup("weekend", StackingMode.STACK, PriceBase.ORIGINAL),
    "bundle": StackingGroup("bundle", StackingMode.FIRST_BY_PRIORITY, PriceBase.ORIGINAL),
}
DATA_NOTE = (
    f"{PRODUCTS:,} products over {{paths}} category paths ({DEPARTMENTS} departments, "
    f"{DEPARTMENTS * AISLES} aisles, {DEPARTMENTS * AISLES_WITH_SHELVES * SHELVES} shelves; "
    "products sit on shelves or on aisles without shelves, so 2-3 levels deep). Promotions: "
    "1% order-wide, 30% category-scoped (1-3 paths: 10% departments, 40% aisles, 50% shelves), "
    "the rest product-scoped with 1-5 products; 55% PERCENT (5-30%), 30% FIXED_AMOUNT "
    "(1-20 EUR), 15% FREE_ITEM; priority -100..100; 20% in one of 6 stacking groups (STACK, "
    "BEST_FOR_CUSTOMER and FIRST_BY_PRIORITY, on original or discounted prices), 0.5% "
    "exclusive; 5% for customer group vip, 3% once per customer, 5% with a usage limit, "
    "10% with a minimum order value, 10% with reward points, 2% not started yet, half with "
    "an end date in the future"
)
# What a storefront's cart page asks for (the offers that did not apply are left out:
# with thousands of promotions there are hundreds of them, see the note in the section).
CART = """
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
# The check before measuring: the cart and the counts of refused offers.
CHECK = """
query($input: CheckoutInput!) {
  checkout(input: $input) {
    subtotal { amount } discount { amount } total { amount } points
    appliedOffers { offerId } rejectedOffers { offerId reason }
  }
}
"""


# -- the data ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Product:
    """A catalogue entry: id, category path, unit price in cents."""

    product_id: str
    category: str
    price: int


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Products and the category paths by depth (1: departments, 2: aisles, 3: shelves)."""

    products: list[Product]
    paths: dict[int, list[str]]


def catalogue(rng: Random) -> Catalogue:
    """~200 category paths 2-3 levels deep and 5,000 products on their leaves."""
    paths: dict[int, list[str]] = {1: [], 2: [], 3: []}
    leaves: list[str] = []
    for d in range(1, DEPARTMENTS + 1):
        department = f"dept{d:02d}"
        paths[1].append(department)
        for a in range(1, AISLES + 1):
            aisle = f"{department}/aisle{a}"
            paths[2].append(aisle)
            if a > AISLES_WITH_SHELVES:
                leaves.append(aisle)
                continue
            for s in range(1, SHELVES + 1):
                shelf = f"{aisle}/shelf{s}"
                paths[3].append(shelf)
                leaves.append(shelf)
    products = []
    for n in range(1, PRODUCTS + 1):
        # prices from 0.99 to 999.99, most between 5 and 80 EUR, ending in .99
        euros = min(999, max(0, int(rng.lognormvariate(3.0, 1.0))))
        products.append(Product(f"sku-{n:05d}", rng.choice(leaves), euros * 100 + 99))
    return Catalogue(products, paths)


def promotions(rng: Random, cat: Catalogue, count: int, now: datetime) -> list[OfferTerms]:
    """``count`` published promotions, of the mix DATA_NOTE describes."""
    result = []
    product_ids = [p.product_id for p in cat.products]
    for n in range(1, count + 1):
        roll = rng.random()
        targets: tuple[str, ...] = ()
        scope = OfferScope.ORDER
        if 0.01 <= roll < 0.31:
            depth = rng.choices((1, 2, 3), weights=(10, 40, 50))[0]
            targets = tuple(rng.sample(cat.paths[depth], rng.randint(1, 3)))
            scope = OfferScope.SUBCATEGORY if depth == 3 else OfferScope.CATEGORY
        elif roll >= 0.31:
            targets = tuple(rng.sample(product_ids, rng.randint(1, 5)))
            scope = OfferScope.PRODUCT
        value_type = rng.choices(
            (OfferValueType.PERCENT, OfferValueType.FIXED_AMOUNT, OfferValueType.FREE_ITEM),
            weights=(55, 30, 15),
        )[0]
        value = {
            OfferValueType.PERCENT: Decimal(rng.choice((5, 10, 15, 20, 25, 30))),
            OfferValueType.FIXED_AMOUNT: Decimal(rng.choice(("1", "2.50", "5", "10", "20"))),
            OfferValueType.FREE_ITEM: None,
        }[value_type]
        exclusive = rng.random() < 0.005
        group = rng.choice(sorted(GROUPS)) if not exclusive and rng.random() < 0.2 else None
        started = now - timedelta(days=rng.randint(1, 60))
        terms = OfferTerms(
            kind=OfferKind.PROMOTION,
            name=f"Promotion {n}",
            value_type=value_type,
            value=value,
            scope=scope,
            targets=targets,
            reward_points=rng.choice((50, 100)) if rng.random() < 0.1 else 0,
            valid_from=now + timedelta(days=3) if rng.random() < 0.02 else started,
            valid_until=now + timedelta(days=rng.randint(7, 90)) if rng.random() < 0.5 else None,
            max_uses=rng.choice((1_000, 10_000)) if rng.random() < 0.05 else None,
            max_uses_per_customer=1 if rng.random() < 0.03 else None,
            minimum_order_value=(
                Decimal(rng.choice((50, 100, 500, 2000))) if rng.random() < 0.1 else Decimal(0)
            ),
            customer_groups=(CUSTOMER_GROUP,) if rng.random() < 0.05 else (),
            priority=rng.randint(-100, 100),
            exclusive=exclusive,
            stacking_group=group,
        )
        terms.check(CURRENCY)
        result.append(terms)
    return result


def basket(rng: Random, cat: Catalogue) -> list[BasketLine]:
    """50 different random products, 1-3 of each."""
    return [
        BasketLine(
            line_id=p.product_id,
            product_id=p.product_id,
            category=p.category,
            quantity=rng.choices((1, 2, 3), weights=(70, 20, 10))[0],
            unit_price=p.price,
        )
        for p in rng.sample(cat.products, LINES)
    ]


def rules() -> CheckoutRules:
    """What the bench site's settings and stacking groups come to."""
    return CheckoutRules(ProgramSettings(enabled=True, currency=CURRENCY), dict(GROUPS))


CUSTOMER_SHOPPER = Shopper(groups=frozenset({CUSTOMER_GROUP}), earns_points=True)
RULES = rules()


# -- in process --------------------------------------------------------------------------


def quote(
    index: OfferIndex, lines: Sequence[BasketLine], shopper: Shopper | None, now: datetime
) -> tuple[Quote, int]:
    """What a checkout request does with the index: the offers touching the basket,
    a candidate for each promotion, the calculator. Also says how many touched."""
    touching = index.touching(lines)
    # as services.checkout does: a promotion's candidate is made once, with the index
    candidates = [
        index.promotions[o.offer_id] for o in touching if o.terms.kind is OfferKind.PROMOTION
    ]
    return price_basket(lines, shopper, candidates, RULES, now), len(touching)


def percentile(ordered: Sequence[float], share: float) -> float:
    """The value ``share`` of the way up ``ordered`` (as bench_ledger takes its p99)."""
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def timings(
    index: OfferIndex,
    lines: list[BasketLine],
    shopper: Shopper | None,
    runs: int,
    warm: int,
    *,
    collector: bool = True,
) -> dict[str, float]:
    """Median, p99 and max (ms) of ``runs`` quotes after ``warm`` unmeasured ones, and
    the full (generation 2) garbage collections that ran meanwhile: how many, mean ms.
    With ``collector`` false, the cyclic garbage collector is off during the runs."""
    now = datetime.now(UTC)
    for _ in range(warm):
        quote(index, lines, shopper, now)
    full: list[float] = []
    began = [0]

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began[0] = time.perf_counter_ns()
        elif info["generation"] == 2:
            full.append((time.perf_counter_ns() - began[0]) / 1e6)

    gc.collect()
    gc.callbacks.append(watch)
    if not collector:
        gc.disable()
    try:
        times = []
        for _ in range(runs):
            started = time.perf_counter_ns()
            quote(index, lines, shopper, now)
            times.append((time.perf_counter_ns() - started) / 1e6)
    finally:
        gc.enable()
        gc.callbacks.remove(watch)
    ordered = sorted(times)
    return {
        "median": statistics.median(ordered),
        "p99": percentile(ordered, 0.99),
        "max": ordered[-1],
        "full_gcs": len(full),
        "full_gc_ms": statistics.mean(full) if full else 0.0,
    }


def in_process(
    offers: dict[int, list[OfferTerms]], lines: list[BasketLine], runs: int, warm: int
) -> dict[int, dict[str, Any]]:
    """Index build time, offers touching, and the quote timings per size."""
    results: dict[int, dict[str, Any]] = {}
    now = datetime.now(UTC)
    for size, terms in offers.items():
        live = [LiveOffer(n, t) for n, t in enumerate(terms, start=1)]
        builds = []
        for _ in range(5):
            started = time.perf_counter_ns()
            index = OfferIndex(live, version=1)
            builds.append((time.perf_counter_ns() - started) / 1e6)
        gc.collect()
        gc.freeze()  # as services.checkout.site_offers does with each index it builds
        guest, touching = quote(index, lines, None, now)
        customer, _ = quote(index, lines, CUSTOMER_SHOPPER, now)
        print(f"bench-checkout: in process, {size:,} offers, {runs} runs each", flush=True)
        results[size] = {
            "build_ms": statistics.median(builds),
            "touching": touching,
            "guest_quote": guest,
            "customer_quote": customer,
            "guest": timings(index, lines, None, runs, warm),
            "customer": timings(index, lines, CUSTOMER_SHOPPER, runs, warm),
            "customer_no_gc": timings(
                index, lines, CUSTOMER_SHOPPER, runs, warm=0, collector=False
            ),
        }
    return results


# -- over HTTP ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BenchSite:
    """A site of the bench database: its size, global id and its customer's token."""

    size: int
    code: str
    site_id: str
    customer_token: str


async def build_database(url: str, offers: dict[int, list[OfferTerms]]) -> list[BenchSite]:
    """Migrate, then a site per size with its stacking groups, one enrolled customer in
    group vip, and the promotions inserted directly as published offers."""
    await upgrade(url)
    db = create_database(url)
    sites = []
    settings = Settings(env="development", database_url=url)
    try:
        for size, terms in offers.items():
            code = f"bench-{size}"
            site = await create_site(
                db, code=code, name=f"Bench {size}", currency=CURRENCY, actor=ADMIN,
                clock=system_clock,
            )  # fmt: skip
            await configure_program(
                db,
                site_id=site.id,
                changes=ProgramChanges(enabled=True),
                actor=ADMIN,
                clock=system_clock,
            )
            await register_customer(
                db, site_id=site.id, enroll=True, actor=ADMIN, clock=system_clock,
                profile=CustomerProfile(external_id=CUSTOMER, groups=(CUSTOMER_GROUP,)),
            )  # fmt: skip
            await insert_offers(db, site.id, terms)
            token = issue_token(settings, role=Role.CUSTOMER, sites=[code], subject=CUSTOMER)
            sites.append(BenchSite(size, code, to_global_id("Site", site.id), token))
        await settle(db)
    finally:
        await db.dispose()
    return sites


async def insert_offers(db: Database, site_id: int, terms: list[OfferTerms]) -> None:
    """The site's stacking groups and published promotions, in offer-id order as
    generated (so ties in priority break the same way as in process)."""
    now = datetime.now(UTC)
    async with db.write_sessions() as session, session.begin():
        session.add_all(
            StackingGroupRow(site_id=site_id, name=g.name, mode=g.mode.value,
                             price_base=g.price_base.value, created_at=now, updated_at=now)
            for g in GROUPS.values()
        )  # fmt: skip
        for t in terms:
            row = OfferRow(
                site_id=site_id, status="PUBLISHED", uses=0, created_at=now, updated_at=now,
                published_at=now,
            )  # fmt: skip
            store_terms(row, t, CURRENCY)
            session.add(row)


async def settle(db: Database) -> None:
    """As a live database would be: statistics gathered (and SQLite's WAL checkpointed)."""
    async with db.engine.connect() as conn:
        if db.is_sqlite:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            await conn.exec_driver_sql("ANALYZE")
        else:
            for table in ("sites", "offers", "customers", "point_accounts", "stacking_groups"):
                await conn.exec_driver_sql(f"ANALYZE {table}")
            await conn.commit()


def line_inputs(lines: list[BasketLine]) -> list[dict[str, Any]]:
    return [
        {"productId": ln.product_id, "category": ln.category, "quantity": ln.quantity,
         "unitPrice": f"{ln.unit_price / 100:.2f}"}
        for ln in lines
    ]  # fmt: skip


def post(
    client: httpx.Client, query: str, variables: dict[str, Any], token: str | None
) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=120
    )
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"checkout answered {response.status_code}: {response.text[:2000]}")
    return response


def check(
    client: httpx.Client, variables: dict[str, Any], token: str | None, expected: Quote
) -> int:
    """The HTTP quote agrees with the in-process one; returns how many offers it refused."""
    data = post(client, CHECK, variables, token).json()["data"]["checkout"]
    got = (
        data["subtotal"]["amount"], data["discount"]["amount"], data["total"]["amount"],
        data["points"], len(data["appliedOffers"]), len(data["rejectedOffers"]),
    )  # fmt: skip
    wanted = (
        f"{expected.subtotal / 100:.2f}", f"{expected.discount / 100:.2f}",
        f"{expected.total / 100:.2f}", expected.points, len(expected.applied),
        len(expected.rejected),
    )  # fmt: skip
    if got != wanted:
        raise RuntimeError(f"HTTP quote {got} differs from the in-process quote {wanted}")
    return len(data["rejectedOffers"])


@dataclass(frozen=True, slots=True)
class Load:
    """wrk's settings."""

    threads: int
    connections: int
    duration: str
    warmup: str

    def args(self, duration: str) -> list[str]:
        return [
            f"-t{self.threads}", f"-c{self.connections}", f"-d{duration}", "--timeout", "30s",
            "--latency",
        ]  # fmt: skip


def wrk(base: str, body: str, token: str | None, load: Load, work: Path) -> dict[str, Any]:
    """Requests/s and latencies of the POST, after a warm-up; fails on any error."""
    script = work / "checkout.lua"
    headers = [
        'wrk.method = "POST"',
        f"wrk.body = [==[{body}]==]",
        'wrk.headers["Content-Type"] = "application/json"',
        'wrk.headers["Accept"] = "application/json"',
    ]
    if token:
        headers.append(f'wrk.headers["Authorization"] = "Bearer {token}"')
    script.write_text("\n".join(headers) + "\n")
    url = f"{base}/graphql"
    subprocess.run(
        ["wrk", *load.args(load.warmup), "-s", str(script), url],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    out = subprocess.run(
        ["wrk", *load.args(load.duration), "-s", str(script), url],
        check=True, capture_output=True, text=True, timeout=600,
    ).stdout  # fmt: skip
    print(out, flush=True)
    if re.search(r"Non-2xx|Socket errors", out):
        raise RuntimeError("wrk saw errors (see above)")

    def grab(pattern: str) -> str:
        found = re.search(pattern, out, re.M)
        if found is None:
            raise RuntimeError(f"no {pattern!r} in wrk's output")
        return found.group(1)

    return {
        "rps": float(grab(r"Requests/sec:\s+([\d.]+)")),
        "avg": grab(r"^\s+Latency\s+(\S+)"),
        "p99": grab(r"^\s+99%\s+(\S+)"),
        "requests": int(grab(r"(\d+) requests in")),
    }


def over_http(
    base_url: str | None,
    offers: dict[int, list[OfferTerms]],
    lines: list[BasketLine],
    local: dict[int, dict[str, Any]],
    load: Load,
) -> dict[int, dict[str, Any]]:
    """Build the database, start the server, check and measure each site."""
    results: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-checkout.") as folder:
        work = Path(folder)
        url, drop = asyncio.run(fresh_database(base_url, work, "checkout"))
        try:
            started = time.perf_counter()
            sites = asyncio.run(build_database(url, offers))
            print(f"bench-checkout: database built in {time.perf_counter() - started:.1f} s")
            with server(url, work / "server.log", "bench-checkout") as base:
                for site in sites:
                    results[site.size] = measure_site(
                        base, site, lines, expected=local[site.size], load=load, work=work
                    )
        finally:
            if drop:
                asyncio.run(drop())
    return results


def measure_site(
    base: str,
    site: BenchSite,
    lines: list[BasketLine],
    *,
    expected: dict[str, Any],
    load: Load,
    work: Path,
) -> dict[str, Any]:
    """The first request's time, the median of 9 more one at a time, the quote check,
    then wrk as guest and customer."""
    variables = {"input": {"siteId": site.site_id, "lines": line_inputs(lines)}}
    with httpx.Client(base_url=base) as client:
        client.get("/healthz")  # the connection, open before the clock starts
        started = time.perf_counter()
        post(client, CART, variables, None)  # loads and indexes the site's offers
        first = time.perf_counter() - started
        alone = []
        for _ in range(9):  # then one at a time, the index in the cache
            started = time.perf_counter()
            size = len(post(client, CART, variables, None).content)
            alone.append(time.perf_counter() - started)
        checks = {
            who: check(client, variables, token, expected[f"{who}_quote"])
            for who, token in (("guest", None), ("customer", site.customer_token))
        }
    alone_ms = statistics.median(alone) * 1000
    result: dict[str, Any] = {"first_ms": first * 1000, "alone_ms": alone_ms, "bytes": size,
                              "checks": checks}  # fmt: skip
    body = json.dumps({"query": CART, "variables": variables}, separators=(",", ":"))
    for who, token in (("guest", None), ("customer", site.customer_token)):
        print(f"bench-checkout: HTTP, {site.size:,} offers, {who}", flush=True)
        result[who] = wrk(base, body, token, load, work)
    return result


# -- the report --------------------------------------------------------------------------


def machine() -> dict[str, str]:
    commit, cpu = commit_and_cpu()
    wrk_version = subprocess.run(
        ["wrk", "-v"], capture_output=True, text=True, check=False
    ).stdout.split("[")[0].strip() if shutil.which("wrk") else "none"  # fmt: skip
    return {"commit": commit, "cpu": cpu, "wrk": wrk_version}


def report(
    local: dict[int, dict[str, Any]],
    http: dict[str, dict[int, dict[str, Any]]],
    *,
    paths: int,
    subtotal: int,
    runs: int,
    warm: int,
    load: Load,
    loads: tuple[str, str],
    info: dict[str, str],
) -> str:
    versions = ", ".join(
        f"{n} {version(n)}"
        for n in ("uvicorn", "uvloop", "httptools", "starlette", "strawberry-graphql",
                  "graphql-core", "sqlalchemy", "aiosqlite", "asyncpg")
    )  # fmt: skip
    lines = [
        HEADING,
        "",
        "Written by `scripts/bench-checkout`; run it again to replace this section.",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; commit {info['commit']}",
        f"- Machine: {os.cpu_count()} CPUs (nproc), {info['cpu']}; Python "
        f"{platform.python_version()}; load average (1/5/15 min) {loads[0]} (before) / "
        f"{loads[1]} (after): other work on the machine lowers every number",
        f"- Data: {DATA_NOTE.format(paths=paths)}. Basket: {LINES} different random products, "
        f"1-3 of each, {subtotal / 100:,.2f} {CURRENCY} before offers. Seeded, so every run "
        "prices the same basket against the same offers.",
        f"- In process (pure domain, no database): `OfferIndex.touching(lines)`, a "
        f"`Candidate` per promotion found, `price_basket(...)`; {runs:,} runs one after the "
        f"other after {warm} unmeasured ones, per size and shopper. Guest: no shopper; "
        f"customer: in group {CUSTOMER_GROUP}, earns points. The index is built once per "
        "change of a site's offers (median of 5 builds).",
    ]
    if http:
        lines.append(
            f"- Over HTTP: `loyalty-gql serve`, 1 worker (uvicorn, uvloop, httptools), "
            f"LOYALTY_LOG_LEVEL=warning, one site per size in a fresh database, its "
            f"promotions inserted straight into `offers`. `wrk {' '.join(load.args(load.duration))}"
            f"` (warm-up: the same for {load.warmup}, discarded; {info['wrk']}) on 127.0.0.1, "
            "wrk and the server sharing the CPUs, POSTing the `checkout` query of a cart page "
            "(lines with their discounts, applied offers, totals, points; not "
            "`rejectedOffers`) with the basket as variables; as a guest (no token) and as the "
            "customer (customer token). First request: the first guest request of the site after "
            "the server started; one request alone: the median of the next 9 guest requests, "
            "sent one at a time on one connection. Before the wrk runs, one request per shopper "
            "checks the HTTP quote "
            "(subtotal, discount, total, points, applied and refused offers) against the "
            "in-process one."
        )
        lines.append(f"- Software: Python {platform.python_version()}; {versions}")
    lines += [
        "",
        "### In process",
        "",
        "| offers | index build | offers touching the basket | applied (guest / customer) "
        "| refused (guest / customer) | guest median | guest p99 | customer median "
        "| customer p99 |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size, r in local.items():
        g, c = r["guest_quote"], r["customer_quote"]
        lines.append(
            f"| {size:,} | {r['build_ms']:.1f} ms | {r['touching']:,} | "
            f"{len(g.applied)} / {len(c.applied)} | {len(g.rejected)} / {len(c.rejected)} | "
            f"{r['guest']['median']:.2f} ms | {r['guest']['p99']:.2f} ms | "
            f"{r['customer']['median']:.2f} ms | {r['customer']['p99']:.2f} ms |"
        )
    largest = max(local)
    worst = max(local[largest]["guest"]["p99"], local[largest]["customer"]["p99"])
    verdict = "meets" if worst < AIM_MS else "misses"
    lines += [
        "",
        f"Aim: p99 under {AIM_MS:.0f} ms in process at {largest:,} offers: this run {verdict} "
        f"it ({worst:.2f} ms, the slower of guest and customer).",
        "",
        f"The tail and the garbage collector: full (generation 2) collections during the "
        f"{runs:,} customer runs above and their mean pause, then {runs:,} more customer runs "
        "with the collector switched off.",
        "",
        "| offers | full collections | mean pause | customer max "
        "| median, collector off | p99, collector off |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size, r in local.items():
        c, off = r["customer"], r["customer_no_gc"]
        lines.append(
            f"| {size:,} | {c['full_gcs']} | {c['full_gc_ms']:.1f} ms | {c['max']:.2f} ms | "
            f"{off['median']:.2f} ms | {off['p99']:.2f} ms |"
        )
    for backend, results in http.items():
        lines += [
            "",
            f"### Over HTTP, {backend}",
            "",
            "| offers | first request (loads and indexes the offers) | one request alone "
            "| response | guest requests/s | guest latency avg / p99 "
            "| customer requests/s | customer latency avg / p99 |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for size, r in results.items():
            g, c = r["guest"], r["customer"]
            lines.append(
                f"| {size:,} | {r['first_ms']:.0f} ms | {r['alone_ms']:.0f} ms | "
                f"{r['bytes'] / 1024:.0f} KiB | {g['rps']:,.0f} | {g['avg']} / {g['p99']} | "
                f"{c['rps']:,.0f} | {c['avg']} / {c['p99']} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", help="PostgreSQL server URL (a fresh database is made)")
    parser.add_argument("--runs", type=int, default=2000, help="measured runs in process")
    parser.add_argument("--warm", type=int, default=200, help="unmeasured runs first")
    parser.add_argument("--no-http", action="store_true", help="in process only")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    # One worker prices one basket at a time: more connections only queue (and at 10,000
    # offers, 32 of them would wait longer than wrk's 2 s default timeout).
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--duration", default="10s", help="wrk measuring time per case")
    parser.add_argument("--warmup", default="3s", help="wrk warm-up per case")
    parser.add_argument("--output", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, stop_on_term)
    for name in [k for k in os.environ if k.startswith("LOYALTY_JWT_")]:
        del os.environ[name]  # the server gets the development key; so do our tokens
    load = Load(args.threads, args.connections, args.duration, args.warmup)
    if not args.no_http and shutil.which("wrk") is None:
        raise SystemExit("bench-checkout: wrk is needed (apt-get install -y wrk)")

    info = machine()  # the commit measured: read before the run, not after
    loads_before = load_average()
    cat = catalogue(Random(1))
    now = datetime.now(UTC)
    offers = {size: promotions(Random(size), cat, size, now) for size in SIZES}
    lines = basket(Random(2), cat)
    local = in_process(offers, lines, args.runs, args.warm)
    http: dict[str, dict[int, dict[str, Any]]] = {}
    if not args.no_http:
        http["SQLite (aiosqlite, WAL)"] = over_http(None, offers, lines, local, load)
        if args.postgres:
            http["PostgreSQL (asyncpg)"] = over_http(args.postgres, offers, lines, local, load)
    section = report(
        local, http, paths=sum(len(p) for p in cat.paths.values()),
        subtotal=sum(ln.amount for ln in lines), runs=args.runs, warm=args.warm, load=load,
        loads=(loads_before, load_average()), info=info,
    )  # fmt: skip
    print(section)
    if args.output != "-":
        write_section(Path(args.output), section)
        print(f"bench-checkout: wrote {args.output}")


if __name__ == "__main__":
    main()
