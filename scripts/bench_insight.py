"""Insight benchmark: programStats, programSeries, customer insight and offer performance
on a site with 100,000 customers and 1,000,000 orders, on PostgreSQL.

Run through scripts/bench-insight. Builds a fresh PostgreSQL database: the migrations,
a site (through the services), then every other row in bulk with
``INSERT ... SELECT ... FROM generate_series(...)``: customers (70% enrolled) with
their enrolment events and point accounts, 3 tiers, 20 published promotions, a year of
orders (ending on END_DAY) with their lines and the offers they used, and the
per-customer-per-day rollup (customer_days) the writes would have kept; then VACUUM
ANALYZE, as a long-running database would be. Every row is a function of its number
(hashes of it, no random()), so every run builds the same data.

Then it starts the real server (``loyalty-gql serve``, one worker, 127.0.0.1, a free
port), signs an admin token for the site and POSTs each query with httpx, one request
at a time: a check of the answer, warm-ups, then the measured runs (median, p95,
worst). The server is stopped by its pid at the end (also on failure), and the
database is dropped unless --keep is given. Writes its section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from bench_ledger import fresh_database, write_section
from bench_server import commit_and_cpu, load_average, server, stop_on_term
from sqlalchemy.engine import make_url

from loyalty_gql.api.auth import Role, issue_token
from loyalty_gql.api.core.ids import to_global_id
from loyalty_gql.config import Settings
from loyalty_gql.db.engine import create_database
from loyalty_gql.db.migrate import upgrade
from loyalty_gql.db.models import OfferRow
from loyalty_gql.db.repositories.offers.catalog import store_terms
from loyalty_gql.domain.offers import OfferKind, OfferScope, OfferTerms, OfferValueType
from loyalty_gql.domain.sites import ProgramChanges
from loyalty_gql.services import sites
from loyalty_gql.services.core.common import Actor

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## Insight (scripts/bench-insight)"
SITE_CODE = "bench-insight"
CURRENCY = "EUR"
ADMIN = Actor("admin", "bench")
AIM_MS = 200.0
# the generated year: 365 whole UTC days, the last one END_DAY
END_DAY = date(2026, 11, 30)
START = datetime(2025, 12, 1, tzinfo=UTC)
YEAR = timedelta(days=365)
# customers registered over the year before the orders' year and during it
EARLIEST = START - YEAR
# the month measured: the last full month of the generated year
MONTH = (date(2026, 11, 1), END_DAY)
OFFERS = 20
OFFER_SHARE = 30  # % of orders that used an offer
PRODUCTS = 5_000
DEPARTMENTS = ("shoes", "clothing", "bags", "sports", "home",
               "garden", "toys", "books", "beauty", "electronics")  # fmt: skip
AISLES = ("running", "casual", "kids", "premium", "sale")  # 10 x 5 = 50 category paths
# tiers on points earned in 12 months: (name, threshold, earn multiplier)
TIERS = (("Silver", 500, "1.1"), ("Gold", 1_500, "1.25"), ("Platinum", 3_000, "1.5"))


# -- the data ----------------------------------------------------------------------------

# A deterministic hash of (n, salt) in [0, 2^31): the source of every "random" choice.
# A function of this session only (pg_temp), so nothing is left in the database.
HASH = """
CREATE FUNCTION pg_temp.h(n bigint, salt bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT hashint8extended(n, salt) & 2147483647 $$
"""
U = "(pg_temp.h({n}, {salt})::float8 / 2147483648.0)"  # uniform in [0, 1)


def uniform(n: str, salt: int) -> str:
    """SQL for a uniform number in [0, 1) from ``n`` (an SQL expression) and ``salt``."""
    return U.format(n=n, salt=salt)


# Customers: ids 1..C; of each 10 consecutive ids, 7 are enrolled (members) and 3 are
# registered but not enrolled. Member k (0-based, in id order) joined at
# EARLIEST + k * 730 days / members, so half were members when the orders' year
# began and the rest joined during it; non-members registered the same way.
CUSTOMERS_SQL = """
INSERT INTO customers (id, site_id, external_id, email, name, groups, marketing_consent,
                       enrolled_at, created_at, updated_at, referral_code)
SELECT n, $1, 'c' || n, 'c' || n || '@example.com', 'Customer ' || n, '[]'::jsonb,
       pg_temp.h(n, 1) % 3 = 0,
       CASE WHEN member THEN at END, at, at, 'B' || lpad(n::text, 7, '0')
FROM (
    SELECT n, r < 7 AS member,
           $2::timestamptz + CASE
               WHEN r < 7 THEN (((n - 1) / 10) * 7 + r)::float8 / ($3 * 7 / 10)
               ELSE (((n - 1) / 10) * 3 + r - 7)::float8 / ($3 * 3 / 10)
           END * interval '730 days' AS at
    FROM (SELECT n, (n - 1) % 10 AS r FROM generate_series(1, $3::bigint) n) s
) c
"""

ENROLMENTS_SQL = """
INSERT INTO enrollment_events (site_id, customer_id, kind, actor, at)
SELECT site_id, id, 'ENROLLED', 'bench', enrolled_at
FROM customers WHERE enrolled_at IS NOT NULL ORDER BY enrolled_at, id
"""

# Orders 1..N, evenly over the year in id order. Of each order: who (70% a member who
# had joined by then, 10% a registered non-member, 20% an anonymous guest), 1-3 lines,
# whether it used an offer (30%; offer 1 most often, then 2...), and its fate:
# 2% cancelled, 2% refunded in full, 3% of those with 2-3 lines refunded their first
# line, the rest completed.
ORDERS_PLAN_SQL = f"""
CREATE TEMP TABLE bench_plan AS
SELECT n, created_at, customer_id, member, lines, offer_no,
       CASE WHEN fate < 2 THEN 'CANCELLED' WHEN fate < 4 THEN 'REFUNDED'
            ELSE 'COMPLETED' END AS status,
       fate >= 4 AND fate < 7 AND lines >= 2 AS partial
FROM (
    SELECT n, created_at, who < 7 AS member, lines, offer_no, fate,
           CASE
               WHEN who < 7 THEN (k / 7) * 10 + k % 7 + 1
               WHEN who = 7 THEN (j / 3) * 10 + 7 + j % 3 + 1
           END AS customer_id
    FROM (
        SELECT n, $1::timestamptz + f * interval '365 days' AS created_at,
               pg_temp.h(n, 11) % 10 AS who,
               pg_temp.h(n, 12) % floor(($2 * 7 / 10) * (1 + f) / 2)::bigint AS k,
               pg_temp.h(n, 12) % floor(($2 * 3 / 10) * (1 + f) / 2)::bigint AS j,
               1 + pg_temp.h(n, 13) % 3 AS lines,
               CASE WHEN pg_temp.h(n, 14) % 100 < {OFFER_SHARE}
                    THEN 1 + floor({OFFERS} * {uniform("n", 15)} ^ 2)::int END AS offer_no,
               pg_temp.h(n, 16) % 100 AS fate
        FROM (SELECT n, (n - 1)::float8 / $3 AS f FROM generate_series(1, $3::bigint) n) s
    ) t
) o
"""

# Lines: products skewed towards low numbers (popular products), 1 (70%), 2 or 3 of
# each; a product's price and category path are functions of its number; an offer
# takes its percent off every line of the order.
LINES_PLAN_SQL = f"""
CREATE TEMP TABLE bench_lines AS
SELECT o.n, i AS line_no, x.product, x.quantity, x.unit, x.quantity * x.unit AS original,
       CASE WHEN o.offer_no IS NULL THEN 0
            ELSE x.quantity * x.unit * ($1::int[])[o.offer_no] / 100 END AS discount,
       o.status = 'REFUNDED' OR (o.partial AND i = 1) AS refunded
FROM bench_plan o
CROSS JOIN LATERAL generate_series(1, o.lines) i
CROSS JOIN LATERAL (
    SELECT p AS product,
           CASE WHEN q < 70 THEN 1 WHEN q < 90 THEN 2 ELSE 3 END AS quantity,
           499 + (pg_temp.h(p, 22) % 100) * 100 AS unit
    FROM (SELECT 1 + floor({PRODUCTS} * {uniform("o.n * 4 + i", 21)} ^ 2)::bigint AS p,
                 pg_temp.h(o.n * 4 + i, 23) % 100 AS q) r
) x
"""

# Each order's money (sums of its lines) and points: 1 per EUR of the total for a member
# order not cancelled; a refund takes back what the refunded money had earned.
TOTALS_SQL = """
CREATE TEMP TABLE bench_orders AS
SELECT q.*,
       CASE WHEN member AND status <> 'CANCELLED' THEN total / 100 ELSE 0 END AS points,
       CASE WHEN member AND status <> 'CANCELLED' THEN total / 100 - (total - refunded) / 100
            ELSE 0 END AS taken_back
FROM (
    SELECT p.*, t.subtotal, t.discount, t.subtotal - t.discount AS total,
           CASE WHEN p.status = 'REFUNDED' THEN t.subtotal - t.discount
                WHEN p.partial THEN t.first_final ELSE 0 END AS refunded
    FROM bench_plan p
    JOIN (SELECT n, sum(original)::bigint AS subtotal, sum(discount)::bigint AS discount,
                 (sum(original - discount) FILTER (WHERE line_no = 1))::bigint AS first_final
          FROM bench_lines GROUP BY n) t USING (n)
) q
"""

ORDERS_SQL = """
INSERT INTO orders (id, site_id, external_id, customer_id, status, currency, subtotal_minor,
    discount_minor, total_minor, points_base_minor, member_order, points, points_paid,
    earn_entry_id, activate_entry_id, spend_entry_id, referral_entry_id,
    threshold_voucher_ids, previous_last_order_at, previous_rolling_expires_at,
    refunded_minor, refunded_points_base_minor, points_taken_back, points_not_recovered,
    quote, request_hash, actor, created_at, completed_at, cancelled_at, updated_at)
SELECT n, $1, 'o' || n, customer_id, status, $2, subtotal, discount, total, total, member,
       points, 0, NULL, NULL, NULL, NULL, '[]'::jsonb, NULL, NULL,
       refunded, refunded, taken_back, 0, '{}'::jsonb, lpad(to_hex(n), 64, '0'),
       'service:bench', created_at,
       CASE WHEN status <> 'CANCELLED' THEN created_at + interval '1 hour' END,
       CASE WHEN status = 'CANCELLED' THEN created_at + interval '1 hour' END,
       created_at + interval '1 hour'
FROM bench_orders ORDER BY n
"""

ORDER_LINES_SQL = """
INSERT INTO order_lines (order_id, site_id, line_id, product_id, category, quantity,
    unit_price_minor, original_minor, discount_minor, final_minor, earns_points,
    refunded_quantity, refunded_minor)
SELECT n, $1, 'l' || line_no, 'p' || product,
       ($2::text[])[1 + (product % 50) / 5] || '/' || ($3::text[])[1 + product % 5],
       quantity, unit, original, discount, original - discount, true,
       CASE WHEN refunded THEN quantity ELSE 0 END,
       CASE WHEN refunded THEN original - discount ELSE 0 END
FROM bench_lines ORDER BY n, line_no
"""

ORDER_OFFERS_SQL = """
INSERT INTO order_offers (order_id, site_id, offer_id, origin, voucher_id, coupon_code_id,
    discount_minor, reward_points, counted_use, customer_id, created_at, cancelled,
    order_value_minor)
SELECT n, $1, ($2::bigint[])[offer_no], 'PROMOTION', NULL, NULL, discount, 0, true,
       customer_id, created_at, status = 'CANCELLED', total - refunded
FROM bench_orders WHERE offer_no IS NOT NULL ORDER BY n
"""

OFFER_USES_SQL = """
UPDATE offers SET uses = u.uses
FROM (SELECT offer_id, count(*) AS uses FROM order_offers WHERE NOT cancelled
      GROUP BY offer_id) u
WHERE offers.id = u.offer_id
"""

# What the writes keep per member and UTC day: orders and money of the member orders
# not cancelled, points earned (less what refunds took back); on a quarter of the days
# 40% of the day's points were spent, on 5% of them 10% expired (so no balance ever
# goes below zero).
CUSTOMER_DAYS_SQL = """
INSERT INTO customer_days (site_id, customer_id, day, points_earned, spent_minor, orders,
                           points_redeemed, points_expired, points_change)
SELECT $1, customer_id, day, earned, spent, orders, redeemed, expired,
       earned - redeemed - expired
FROM (
    SELECT customer_id, day, earned, spent, orders,
           CASE WHEN pg_temp.h(customer_id * 4096 + (day - date '2000-01-01'), 31) % 4 = 0
                THEN earned * 2 / 5 ELSE 0 END AS redeemed,
           CASE WHEN pg_temp.h(customer_id * 4096 + (day - date '2000-01-01'), 32) % 20 = 0
                THEN earned / 10 ELSE 0 END AS expired
    FROM (
        SELECT customer_id, (created_at AT TIME ZONE 'UTC')::date AS day,
               sum(points - taken_back)::bigint AS earned,
               coalesce(sum(total) FILTER (WHERE status <> 'CANCELLED'), 0)::bigint AS spent,
               count(*) FILTER (WHERE status <> 'CANCELLED') AS orders
        FROM bench_orders WHERE member GROUP BY 1, 2
    ) d
) r
ORDER BY customer_id, day
"""

# An account per member, equal to the sums of its days; the tier its points earned
# reach (the year is the tiers' 12-month window).
ACCOUNTS_SQL = """
INSERT INTO point_accounts (customer_id, site_id, available, pending, lifetime_earned,
    lifetime_redeemed, lifetime_expired, lifetime_spent_minor, last_order_at,
    rolling_expires_at, tier_id, tier_since, entry_count, updated_at)
SELECT c.id, $1, coalesce(d.change, 0), 0, coalesce(d.earned, 0), coalesce(d.redeemed, 0),
       coalesce(d.expired, 0), coalesce(d.spent, 0), d.last_at, NULL, t.id,
       CASE WHEN t.id IS NOT NULL THEN greatest(c.enrolled_at, $2::timestamptz) END,
       coalesce(d.days, 0), $2
FROM customers c
LEFT JOIN (
    SELECT customer_id, sum(points_change) AS change, sum(points_earned) AS earned,
           sum(points_redeemed) AS redeemed, sum(points_expired) AS expired,
           sum(spent_minor) AS spent, count(*) AS days,
           max(day)::timestamp AT TIME ZONE 'UTC' + interval '12 hours' AS last_at
    FROM customer_days GROUP BY customer_id
) d ON d.customer_id = c.id
LEFT JOIN LATERAL (
    SELECT id FROM tiers WHERE site_id = $1 AND threshold <= coalesce(d.earned, 0)
    ORDER BY rank DESC LIMIT 1
) t ON true
WHERE c.site_id = $1 AND c.enrolled_at IS NOT NULL
ORDER BY c.id
"""

TIERS_SQL = """
INSERT INTO tiers (site_id, name, rank, metric, threshold, window_months, earn_multiplier,
                   benefits, created_at, updated_at)
SELECT $1, name, rank, 'POINTS_EARNED', threshold, 12, multiplier, NULL, $2, $2
FROM unnest($3::text[], $4::int[], $5::bigint[], $6::text[]) AS t(name, rank, threshold,
                                                                    multiplier)
"""

COUNTED = ("customers", "enrollment_events", "point_accounts", "tiers", "offers", "orders",
           "order_lines", "order_offers", "customer_days")  # fmt: skip


def pg_dsn(url: str) -> str:
    """The asyncpg DSN of an SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def offer_percents() -> list[int]:
    """Percent off of offers 1..20: 5, 10, 15, 20, 25, 5, ..."""
    return [5 + (n % 5) * 5 for n in range(OFFERS)]


@dataclass(slots=True)
class BenchData:
    """The generated site and what the measurements need of it."""

    url: str
    site_pk: int
    offer_pks: list[int]
    steps: dict[str, float] = field(default_factory=dict)  # step -> seconds
    counts: dict[str, int] = field(default_factory=dict)
    top_offer_pk: int = 0
    top_offer_uses: int = 0

    @property
    def generation_s(self) -> float:
        return sum(self.steps.values())


async def create_site(url: str) -> tuple[int, list[int]]:
    """The site (program on, 1 point per EUR, a point worth 0.01 EUR) and its 20
    published promotions, through the services and the offer repository."""
    db = create_database(url)
    created = EARLIEST - timedelta(days=30)
    try:
        site = await sites.create_site(
            db, code=SITE_CODE, name="Bench insight", currency=CURRENCY, actor=ADMIN,
            clock=lambda: created,
        )  # fmt: skip
        await sites.configure_program(
            db, site_id=site.id, actor=ADMIN, clock=lambda: created,
            changes=ProgramChanges(enabled=True, earn_rate=Decimal(1), point_value=Decimal("0.01")),
        )  # fmt: skip
        rows = []
        async with db.write_sessions() as session, session.begin():
            for n, percent in enumerate(offer_percents(), start=1):
                terms = OfferTerms(
                    kind=OfferKind.PROMOTION, name=f"Promotion {n}: {percent}% off",
                    value_type=OfferValueType.PERCENT, value=Decimal(percent),
                    scope=OfferScope.ORDER, valid_from=created,
                )  # fmt: skip
                terms.check(CURRENCY)
                row = OfferRow(
                    site_id=site.id, status="PUBLISHED", uses=0, created_at=created,
                    updated_at=created, published_at=created,
                )  # fmt: skip
                store_terms(row, terms, CURRENCY)
                session.add(row)
                rows.append(row)
            await session.flush()
            offer_pks = [row.id for row in rows]
        return site.id, offer_pks
    finally:
        await db.dispose()


async def generate(url: str, customers: int, orders: int) -> BenchData:
    """Migrate, then every row, step by step (each step timed), then VACUUM ANALYZE."""
    steps: dict[str, float] = {}

    @contextmanager
    def step(name: str) -> Iterator[None]:
        print(f"bench-insight: {name}...", flush=True)
        started = time.perf_counter()
        yield
        steps[name] = time.perf_counter() - started
        print(f"bench-insight: {name}: {steps[name]:.1f} s", flush=True)

    with step("migrations"):
        await upgrade(url)
    with step("site and offers"):
        site_pk, offer_pks = await create_site(url)
    conn = await asyncpg.connect(pg_dsn(url))
    try:
        # A bulk load of rows consistent by construction: no foreign-key triggers
        # (superuser only), no waiting for the WAL flush, room to sort and hash.
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("SET synchronous_commit = off")
        await conn.execute("SET work_mem = '256MB'")
        await conn.execute("SET maintenance_work_mem = '512MB'")
        await conn.execute("SET temp_buffers = '1GB'")
        await conn.execute(HASH)
        with step(f"{customers:,} customers, enrolment events, tiers"):
            await conn.execute(CUSTOMERS_SQL, site_pk, EARLIEST, customers)
            await conn.execute(ENROLMENTS_SQL)
            await conn.execute(
                TIERS_SQL, site_pk, EARLIEST, [t[0] for t in TIERS],
                list(range(1, len(TIERS) + 1)), [t[1] for t in TIERS], [t[2] for t in TIERS],
            )  # fmt: skip
        with step(f"plan of {orders:,} orders and their lines"):
            await conn.execute(ORDERS_PLAN_SQL, START, customers, orders)
            await conn.execute(LINES_PLAN_SQL, offer_percents())
            await conn.execute(TOTALS_SQL)
        with step("orders"):
            await conn.execute(ORDERS_SQL, site_pk, CURRENCY)
        with step("order_lines"):
            await conn.execute(ORDER_LINES_SQL, site_pk, list(DEPARTMENTS), list(AISLES))
        with step("order_offers"):
            await conn.execute(ORDER_OFFERS_SQL, site_pk, offer_pks)
            await conn.execute(OFFER_USES_SQL)
        with step("customer_days and point_accounts"):
            await conn.execute(CUSTOMER_DAYS_SQL, site_pk)
            await conn.execute(ACCOUNTS_SQL, site_pk, START + YEAR)
            for table in ("customers", "orders"):
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
        await conn.execute("DROP TABLE bench_plan, bench_lines, bench_orders")
        await conn.execute("RESET session_replication_role")
        with step("VACUUM ANALYZE"):
            await conn.execute("VACUUM ANALYZE")  # outside a transaction: asyncpg autocommits
    finally:
        await conn.close()
    data = BenchData(url=url, site_pk=site_pk, offer_pks=offer_pks, steps=steps)
    await describe(data)
    return data


async def describe(data: BenchData) -> None:
    """Row counts and the most used offer."""
    conn = await asyncpg.connect(pg_dsn(data.url))
    try:
        for table in COUNTED:
            data.counts[table] = int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
        top = await conn.fetchrow(
            "SELECT id, uses FROM offers WHERE site_id = $1 ORDER BY uses DESC, id LIMIT 1",
            data.site_pk,
        )
        data.top_offer_pk, data.top_offer_uses = int(top["id"]), int(top["uses"])
    finally:
        await conn.close()


async def existing(url: str) -> BenchData:
    """A database this script generated before (with --keep): its site and offers."""
    conn = await asyncpg.connect(pg_dsn(url))
    try:
        site_pk = await conn.fetchval("SELECT id FROM sites WHERE code = $1", SITE_CODE)
        if site_pk is None:
            raise SystemExit(f"bench-insight: no site {SITE_CODE!r} in {url}")
        offer_pks = [
            int(r["id"])
            for r in await conn.fetch(
                "SELECT id FROM offers WHERE site_id = $1 ORDER BY id", site_pk
            )
        ]
    finally:
        await conn.close()
    data = BenchData(url=url, site_pk=int(site_pk), offer_pks=offer_pks)
    await describe(data)
    return data


async def database_facts(url: str) -> dict[str, str]:
    """The server's version and the memory settings that matter here."""
    conn = await asyncpg.connect(pg_dsn(url))
    try:
        facts = {"version": str(await conn.fetchval("SHOW server_version"))}
        for name in ("shared_buffers", "work_mem", "effective_cache_size",
                     "max_parallel_workers_per_gather"):  # fmt: skip
            facts[name] = str(await conn.fetchval(f"SHOW {name}"))
        facts["size"] = str(
            await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
        )
        return facts
    finally:
        await conn.close()


# -- the queries -------------------------------------------------------------------------

STATS = """
query Stats($siteId: ID!, $from: Date!, $to: Date!) {
  programStats(siteId: $siteId, from: $from, to: $to) {
    members newMembers activeMembers pointsIssued pointsRedeemed pointsExpired
    pointsOutstanding liability { amount currencyCode } redemptionRate
    memberOrders { ...group }
    guestOrders { ...group }
    offers { offer { id name } orders uses discountGiven { amount } }
    tiers { tier { id name } members }
  }
}
fragment group on OrderStats {
  orders customers repeatCustomers repeatPurchaseRate revenue { amount }
  averageOrderValue { amount } discount { amount }
}
"""
PAGE = """
query Page($siteId: ID!) {
  customers(siteId: $siteId, first: 100) {
    nodes {
      id
      insight {
        orderCount firstOrderAt lastOrderAt averageDaysBetweenOrders
        averageOrderValue { amount } totalSpent { amount }
        topCategories { category quantity spent { amount } }
        topProducts { productId quantity spent { amount } }
      }
    }
  }
}
"""
SERIES = """
query Series($siteId: ID!, $from: Date!, $to: Date!, $metric: InsightMetric!) {
  programSeries(siteId: $siteId, from: $from, to: $to, metric: $metric) { day value }
}
"""
PERFORMANCE = """
query Perf($id: ID!) {
  offer(id: $id) {
    performance {
      redemptions uniqueCustomers discountGiven { amount } ordersInfluenced
      revenueInfluenced { amount }
    }
  }
}
"""


@dataclass(frozen=True, slots=True)
class Case:
    """A query measured: its label, text, variables, the check of its answer, and
    whether it counts for the aim."""

    label: str
    query: str
    variables: dict[str, Any]
    check: Callable[[dict[str, Any]], str]  # raises AssertionError; returns a summary
    aimed: bool = True


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def check_stats(days: int) -> Callable[[dict[str, Any]], str]:
    def check(data: dict[str, Any]) -> str:
        s = data["programStats"]
        member, guest = s["memberOrders"], s["guestOrders"]
        expect(member["orders"] > 0 and guest["orders"] > 0, "no member or guest orders")
        expect(member["customers"] > 0 and s["activeMembers"] > 0, "no active members")
        expect(s["members"] > 0 and s["pointsIssued"] > 0, "no members or no points issued")
        expect(s["pointsOutstanding"] >= 0, "negative points outstanding")
        expect(Decimal(member["revenue"]["amount"]) > 0, "no member revenue")
        expect(len(s["offers"]) > 0 and all(o["offer"] for o in s["offers"]), "no offers")
        expect(sum(t["members"] for t in s["tiers"]) == s["members"] or days < 365,
               "tier counts do not add up to the members")  # fmt: skip
        return (
            f"{s['members']:,} members ({s['newMembers']:,} new, {s['activeMembers']:,} "
            f"active); member orders {member['orders']:,} (revenue "
            f"{Decimal(member['revenue']['amount']):,.2f} {CURRENCY}, repeat rate "
            f"{member['repeatPurchaseRate']}), guest orders {guest['orders']:,}; points "
            f"issued {s['pointsIssued']:,}, redeemed {s['pointsRedeemed']:,}, outstanding "
            f"{s['pointsOutstanding']:,} (liability {s['liability']['amount']} "
            f"{CURRENCY}); {len(s['offers'])} offers used; "
            f"{len(s['tiers'])} tier rows"
        )

    return check


def check_page(data: dict[str, Any]) -> str:
    nodes = data["customers"]["nodes"]
    expect(len(nodes) == 100, f"{len(nodes)} customers on the page, not 100")
    insights = [n["insight"] for n in nodes]
    buyers = [i for i in insights if i["orderCount"] > 0]
    expect(len(buyers) >= 50, f"only {len(buyers)} of the 100 customers have orders")
    expect(all(i["topCategories"] and i["topProducts"] for i in buyers), "empty favourites")
    orders = sum(i["orderCount"] for i in insights)
    return (
        f"100 customers, {len(buyers)} with orders, {orders:,} orders in all "
        f"(at most {max(i['orderCount'] for i in insights)} for one)"
    )


def check_series(days: int) -> Callable[[dict[str, Any]], str]:
    def check(data: dict[str, Any]) -> str:
        series = data["programSeries"]
        expect(len(series) == days, f"{len(series)} days, not {days}")
        values = [Decimal(d["value"]) for d in series]
        expect(all(v > 0 for v in values), "a day without a value")
        return f"{days} days, {min(values):,} to {max(values):,}"

    return check


def check_performance(uses: int) -> Callable[[dict[str, Any]], str]:
    def check(data: dict[str, Any]) -> str:
        p = data["offer"]["performance"]
        expect(p["redemptions"] == uses, f"{p['redemptions']} redemptions, offers.uses {uses}")
        expect(p["uniqueCustomers"] > 0 and p["ordersInfluenced"] > 0, "no customers or orders")
        return (
            f"{p['redemptions']:,} redemptions by {p['uniqueCustomers']:,} customers, "
            f"discount {Decimal(p['discountGiven']['amount']):,.2f} {CURRENCY}, revenue "
            f"{Decimal(p['revenueInfluenced']['amount']):,.2f} {CURRENCY}"
        )

    return check


def cases(data: BenchData) -> list[Case]:
    site = to_global_id("Site", data.site_pk)
    first, last = (d.isoformat() for d in MONTH)
    month_days = (MONTH[1] - MONTH[0]).days + 1
    month = {"siteId": site, "from": first, "to": last}
    year_first = (END_DAY - timedelta(days=364)).isoformat()
    return [
        Case(f"programStats, {MONTH[0]:%B %Y}", STATS, month, check_stats(month_days)),
        Case("customers(first: 100) with insight", PAGE, {"siteId": site}, check_page),
        Case(
            f"programSeries ORDERS, {MONTH[0]:%B %Y}",
            SERIES,
            {**month, "metric": "ORDERS"},
            check_series(month_days),
        ),
        Case(
            f"programSeries POINTS_OUTSTANDING, {MONTH[0]:%B %Y}",
            SERIES,
            {**month, "metric": "POINTS_OUTSTANDING"},
            check_series(month_days),
        ),
        Case(
            "offer(id) performance, the most used offer",
            PERFORMANCE,
            {"id": to_global_id("Offer", data.top_offer_pk)},
            check_performance(data.top_offer_uses),
        ),
        Case(
            "programStats, the whole year (365 days)",
            STATS,
            {"siteId": site, "from": year_first, "to": END_DAY.isoformat()},
            check_stats(365),
            aimed=False,
        ),
    ]


def post(client: httpx.Client, case: Case, token: str) -> tuple[dict[str, Any], int]:
    """The answer's data and its size in bytes; fails on any error."""
    response = client.post(
        "/graphql",
        json={"query": case.query, "variables": case.variables},
        headers={"authorization": f"Bearer {token}"},
        timeout=300,
    )
    body = response.json() if response.headers.get("content-type", "").startswith(
        "application/json"
    ) else {}  # fmt: skip
    if response.status_code != 200 or body.get("errors") or not body.get("data"):
        raise RuntimeError(f"{case.label}: HTTP {response.status_code}: {response.text[:2000]}")
    return body["data"], len(response.content)


@dataclass(frozen=True, slots=True)
class Timing:
    """A query's measurements (ms) and what it answered."""

    case: Case
    first_ms: float
    times: list[float]
    size: int
    summary: str

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p95(self) -> float:
        if len(self.times) < 2:
            return self.times[0]
        return statistics.quantiles(self.times, n=20, method="inclusive")[18]

    @property
    def worst(self) -> float:
        return max(self.times)


def measure(base: str, token: str, data: BenchData, runs: int, warm: int) -> list[Timing]:
    """Each case: the first request (timed, and its answer checked), the other
    warm-ups, then ``runs`` requests one at a time on one connection."""
    results = []
    with httpx.Client(base_url=base) as client:
        client.get("/healthz")  # the connection, open before the clock starts
        for case in cases(data):
            started = time.perf_counter()
            answer, size = post(client, case, token)
            first = (time.perf_counter() - started) * 1000
            try:
                summary = case.check(answer)
            except AssertionError as problem:
                raise RuntimeError(f"{case.label}: implausible answer: {problem}") from None
            for _ in range(max(0, warm - 1)):
                post(client, case, token)
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                post(client, case, token)
                times.append((time.perf_counter() - started) * 1000)
            timing = Timing(case, first, times, size, summary)
            print(
                f"bench-insight: {case.label}: median {timing.median:.1f} ms, p95 "
                f"{timing.p95:.1f} ms, worst {timing.worst:.1f} ms (first {first:.0f} ms); "
                f"{summary}",
                flush=True,
            )
            results.append(timing)
    return results


# -- the report --------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """The commit measured, the CPU and the memory."""
    commit, cpu = commit_and_cpu()
    memory = next(
        (int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
         if line.startswith("MemTotal:")), 0,
    )  # fmt: skip
    return {"commit": commit, "cpu": cpu, "memory": f"{memory / 1024 / 1024:.0f} GiB"}


def report(
    data: BenchData,
    timings: list[Timing],
    *,
    info: dict[str, str],
    pg: dict[str, str],
    loads: tuple[str, str],
    runs: int,
    warm: int,
    reused: bool,
) -> str:
    versions = ", ".join(
        f"{n} {version(n)}"
        for n in ("uvicorn", "starlette", "strawberry-graphql", "graphql-core", "sqlalchemy",
                  "asyncpg", "httpx")
    )  # fmt: skip
    counts = data.counts
    generation = (
        "not measured (a database generated by an earlier run, --database)"
        if reused
        else f"{data.generation_s:.0f} s ("
        + "; ".join(f"{name}: {seconds:.1f} s" for name, seconds in data.steps.items())
        + ")"
    )
    lines = [
        HEADING,
        "",
        "Written by `scripts/bench-insight`; run it again to replace this section.",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; commit {info['commit']}",
        f"- Machine: {os.cpu_count()} CPUs (nproc), {info['cpu']}, {info['memory']} of "
        f"memory; Python {platform.python_version()}; load average (1/5/15 min) {loads[0]} "
        f"(before) / {loads[1]} (after)",
        f"- PostgreSQL {pg['version']}, local server, default settings (shared_buffers "
        f"{pg['shared_buffers']}, work_mem {pg['work_mem']}, effective_cache_size "
        f"{pg['effective_cache_size']}, max_parallel_workers_per_gather "
        f"{pg['max_parallel_workers_per_gather']}); the bench database {pg['size']}",
        f"- Data: one site; {counts['customers']:,} customers (70% enrolled, half of them "
        f"before the year, the rest during it), {counts['point_accounts']:,} point accounts "
        f"in 3 tiers or none, {counts['offers']} published promotions (5-25% off); "
        f"{counts['orders']:,} orders evenly over the 365 days ending {END_DAY} (70% by "
        f"members, 10% by customers not enrolled, 20% by anonymous guests; 2% cancelled, "
        f"2% refunded, ~2% partly refunded), {counts['order_lines']:,} order lines (1-3 per "
        f"order, {PRODUCTS:,} products, {len(DEPARTMENTS) * len(AISLES)} category paths), "
        f"{counts['order_offers']:,} order offers (30% of orders), "
        f"{counts['customer_days']:,} customer days, {counts['enrollment_events']:,} "
        f"enrolment events. No ledger entries or lots: insight reads customer_days and "
        f"point_accounts. Deterministic (hashes of the row number), so every run has the "
        f"same data.",
        f"- Generation: {generation}; bulk `INSERT ... SELECT ... FROM generate_series`, "
        f"then `VACUUM ANALYZE` (so index-only scans work, as on a database that has been "
        f"running)",
        f"- Measured over HTTP: `loyalty-gql serve`, 1 worker, LOYALTY_LOG_LEVEL=warning, "
        f"admin token; httpx on 127.0.0.1 (sharing the CPUs with the server and PostgreSQL), "
        f"one request at a time on one connection. Per query: the first request (answer "
        f"checked for plausible numbers), {max(0, warm - 1)} more warm-ups, then {runs} "
        f"measured requests. p95: interpolated between the {runs} runs.",
        f"- Software: {versions}",
        "",
        "| query | median | p95 | worst | first request | response |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for t in timings:
        label = t.case.label if t.case.aimed else f"{t.case.label} (not in the aim)"
        lines.append(
            f"| {label} | {t.median:.1f} ms | {t.p95:.1f} ms | {t.worst:.1f} ms | "
            f"{t.first_ms:.0f} ms | {t.size / 1024:.1f} KiB |"
        )
    aimed = [t for t in timings if t.case.aimed]
    over_median = [t.case.label for t in aimed if t.median >= AIM_MS]
    over_p95 = [t.case.label for t in aimed if t.p95 >= AIM_MS and t.median < AIM_MS]
    verdict = "meets it (median and p95)"
    if over_median or over_p95:
        verdict = "misses it: " + "; ".join(
            [f"{label} (median)" for label in over_median]
            + [f"{label} (p95 only)" for label in over_p95]
        )
    lines += [
        "",
        f"Aim: each query (but the whole year) under {AIM_MS:.0f} ms on PostgreSQL: this run "
        f"{verdict}.",
        "",
        "What they answered (the check before the runs):",
        "",
    ]
    lines += [f"- {t.case.label}: {t.summary}" for t in timings]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", help="PostgreSQL server URL (a fresh database is made on it)")
    parser.add_argument(
        "--database", help="a database an earlier run kept (--keep): measure it, no generation"
    )
    parser.add_argument("--customers", type=int, default=100_000, help="a multiple of 10")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20, help="measured requests per query")
    parser.add_argument("--warm", type=int, default=3, help="unmeasured requests first")
    parser.add_argument("--keep", action="store_true", help="keep the generated database")
    parser.add_argument("--no-http", action="store_true", help="generate only")
    parser.add_argument("--output", default=str(ROOT / "docs" / "BENCHMARKS.md"),
                        help="FILE, or - for standard output only")  # fmt: skip
    args = parser.parse_args()
    if not args.postgres and not args.database:
        parser.error("--postgres URL (or --database URL) is needed: insight is measured on "
                     "PostgreSQL")  # fmt: skip
    if args.customers % 10 or args.customers < 10:
        parser.error("--customers: a multiple of 10")
    signal.signal(signal.SIGTERM, stop_on_term)
    for name in [k for k in os.environ if k.startswith("LOYALTY_JWT_")]:
        del os.environ[name]  # the server gets the development key; so does our token

    info = machine()  # the commit measured: read before the run, not after
    loads_before = load_average()
    drop = None
    with tempfile.TemporaryDirectory(prefix="bench-insight.") as folder:
        try:
            if args.database:
                data = asyncio.run(existing(args.database))
            else:
                url, drop = asyncio.run(fresh_database(args.postgres, Path(folder), "insight"))
                print(f"bench-insight: database {make_url(url).database}", flush=True)
                data = asyncio.run(generate(url, args.customers, args.orders))
                print(f"bench-insight: generated in {data.generation_s:.0f} s; "
                      + ", ".join(f"{t} {n:,}" for t, n in data.counts.items()),
                      flush=True)  # fmt: skip
            if args.no_http:
                return
            pg = asyncio.run(database_facts(data.url))
            token = issue_token(
                Settings(env="development", database_url=data.url), role=Role.ADMIN,
                sites=[SITE_CODE], subject="bench-insight",
            )  # fmt: skip
            with server(data.url, Path(folder) / "server.log", "bench-insight") as base:
                timings = measure(base, token, data, args.runs, args.warm)
        finally:
            if drop is not None:
                if args.keep:
                    print(f"bench-insight: kept {url}", flush=True)
                else:
                    asyncio.run(drop())
    section = report(
        data, timings, info=info, pg=pg, loads=(loads_before, load_average()),
        runs=args.runs, warm=args.warm, reused=bool(args.database),
    )  # fmt: skip
    print(section)
    if args.output != "-":
        write_section(Path(args.output), section)
        print(f"bench-insight: wrote {args.output}")


if __name__ == "__main__":
    main()
