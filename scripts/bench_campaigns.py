"""Campaigns in process: how long evaluating a site's live campaigns takes for one order.

Run through scripts/bench-campaigns. Builds N live campaigns of every trigger, effect and
condition (most scoped to products or categories, as shops run them), a 50-line order,
and times ``CampaignIndex.candidates`` plus ``evaluate`` (the index itself is built once
per site and offers version, like the checkout's offer index). Writes its section of
docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from bench_ledger import write_section

from loyalty_gql.domain.campaigns import (
    AmountScope,
    Campaign,
    CampaignIndex,
    Conditions,
    Effect,
    EffectKind,
    Event,
    LimitPeriod,
    Limits,
    Member,
    OrderLine,
    Trigger,
    Usage,
    evaluate,
)

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## Campaigns (scripts/bench-campaigns)"
PRODUCTS = 20_000
CATEGORIES = 400
LINES = 50
NOW = datetime(2026, 12, 5, 14, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Berlin")


def campaigns(n: int, rng: random.Random, *, unscoped_share: float) -> list[Campaign]:
    """``n`` live campaigns: a mix of triggers, effects, conditions and limits."""
    made = []
    for i in range(1, n + 1):
        roll = rng.random()
        trigger = Trigger.ORDER if roll < 0.9 else rng.choice(list(Trigger)[1:])
        conditions = Conditions(
            starts_at=NOW - timedelta(days=rng.randint(1, 30)),
            ends_at=NOW + timedelta(days=rng.randint(1, 30)),
            tier_ids=frozenset({rng.randint(1, 3)}) if rng.random() < 0.2 else frozenset(),
            weekdays=frozenset(rng.sample(range(7), 3)) if rng.random() < 0.2 else frozenset(),
        )
        if trigger is Trigger.ORDER:
            scoped = rng.random() >= unscoped_share
            conditions = Conditions(
                products=frozenset(f"p{rng.randrange(PRODUCTS)}" for _ in range(rng.randint(1, 20)))
                if scoped and rng.random() < 0.6 else frozenset(),
                categories=frozenset({f"c{rng.randrange(CATEGORIES)}"})
                if scoped else frozenset(),
                minimum_order_minor=rng.choice([None, 2000, 50_000]),
                nth_order=1 if rng.random() < 0.05 else None,
                channels=frozenset({"app"}) if rng.random() < 0.1 else frozenset(),
                starts_at=conditions.starts_at,
                ends_at=conditions.ends_at,
                tier_ids=conditions.tier_ids,
                weekdays=conditions.weekdays,
            )  # fmt: skip
            effect = rng.choice(
                [
                    Effect(EffectKind.FIXED_POINTS, points=rng.randint(10, 500)),
                    Effect(EffectKind.POINTS_PER_AMOUNT, per_amount=Decimal("0.5"),
                           scope=AmountScope.QUALIFYING_LINES),
                    Effect(EffectKind.MULTIPLIER, multiplier=Decimal(2),
                           scope=AmountScope.QUALIFYING_LINES),
                    Effect(EffectKind.MULTIPLIER, multiplier=Decimal(3)),
                ]
            )  # fmt: skip
        else:
            effect = Effect(EffectKind.FIXED_POINTS, points=rng.randint(10, 500))
        limits = Limits(
            per_customer=rng.choice([None, 1, 3]),
            period=rng.choice(list(LimitPeriod)),
            budget_points=rng.choice([None, 100_000]),
            cap_per_order=rng.choice([None, 1000]),
        )
        made.append(
            Campaign(i, f"campaign {i}", trigger, effect, conditions, limits,
                     exclusive=rng.random() < 0.02, priority=rng.randint(0, 10))
        )  # fmt: skip
    return made


def basket(rng: random.Random) -> Event:
    lines = tuple(
        OrderLine(f"l{i}", f"p{rng.randrange(PRODUCTS)}", f"c{rng.randrange(CATEGORIES)}",
                  rng.randint(1, 3), rng.randint(500, 20_000), earns_points=rng.random() > 0.05)
        for i in range(LINES)
    )  # fmt: skip
    earning = sum(line.paid_minor for line in lines if line.earns_points)
    return Event(
        Trigger.ORDER, NOW, ZONE, Member(frozenset({"newsletter"}), tier_id=2, orders_before=4),
        lines=lines, base_points=earning // 10, earn_rate=Decimal(10), channel="web",
    )  # fmt: skip


def measure(n: int, unscoped_share: float, rounds: int, seed: int = 7) -> dict[str, float]:
    rng = random.Random(seed)
    index = CampaignIndex.of(campaigns(n, rng, unscoped_share=unscoped_share))
    events = [basket(rng) for _ in range(20)]
    usage = {i: Usage(customer_uses=i % 2, budget_left=50_000) for i in range(1, n + 1, 3)}
    times: list[float] = []
    touched: list[int] = []
    for r in range(rounds):
        event = events[r % len(events)]
        started = time.perf_counter()
        outcome = evaluate(index, event, usage)
        times.append(time.perf_counter() - started)
        touched.append(len(outcome.awards) + len(outcome.misses))
    times.sort()
    return {
        "median_ms": statistics.median(times) * 1000,
        "p99_ms": times[int(len(times) * 0.99) - 1] * 1000,
        "touched": statistics.mean(touched),
    }


def report(rows: list[tuple[int, float, dict[str, float]]], rounds: int) -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
        check=False,
    ).stdout.strip()  # fmt: skip
    lines = [
        HEADING,
        "",
        "Written by `scripts/bench-campaigns`; run it again to replace this section.",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; commit {commit}",
        f"- Machine: {os.cpu_count()} CPUs; Python {platform.python_version()}; load "
        f"average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- In process: `CampaignIndex.candidates` and `evaluate` (domain/campaigns.py) for "
        f"a {LINES}-line order of a member; live campaigns of every trigger (90% on orders), "
        f"effect, condition and limit, order campaigns scoped to 1-20 of {PRODUCTS:,} "
        f"products and one of {CATEGORIES} categories unless unscoped; {rounds:,} "
        "evaluations, 20 different baskets in turn; the index is built once per site and "
        "offers version",
        "",
        "| live campaigns | unscoped order campaigns | touched by the order (mean) | median "
        "| p99 |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for n, share, result in rows:
        lines.append(
            f"| {n:,} | {share:.0%} | {result['touched']:.0f} | {result['median_ms']:.3f} ms | "
            f"{result['p99_ms']:.3f} ms |"
        )
    lines += [
        "",
        "The cost follows the campaigns the order touches (its trigger, and a product or "
        "category of the basket, or no scope at all), not the number of live campaigns.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--output", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    args = parser.parse_args()
    plan = [(1000, 0.02), (1000, 0.10), (10_000, 0.002), (10_000, 0.02), (100, 1.0)]
    rows = [(n, share, measure(n, share, args.rounds)) for n, share in plan]
    section = report(rows, args.rounds)
    print(section)
    if args.output != "-":
        write_section(Path(args.output), section)


if __name__ == "__main__":
    main()
