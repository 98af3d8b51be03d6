"""The `loyalty-gql` command: serve, migrate, seed-demo, token, export-schema, jobs,
worker, verify, birthdays, leaderboard-prizes."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import date
from pathlib import Path
from typing import Any

from loyalty_gql.config import get_settings


def main(argv: list[str] | None = None) -> int:
    """Run one sub-command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="loyalty-gql", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP service (uvicorn)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.add_argument("--access-log", action="store_true", help="log every request")

    commands.add_parser("migrate", help="apply database migrations (LOYALTY_DATABASE_URL)")
    commands.add_parser("seed-demo", help="create the demo site and customers if missing")

    token = commands.add_parser("token", help="print a signed JWT for development")
    token.add_argument("--role", choices=["admin", "service", "customer"], required=True)
    token.add_argument("--site", action="append", required=True, help="site code (repeatable)")
    token.add_argument("--customer", help="the customer's external id (customer role)")
    token.add_argument("--subject", help="who the token is for (default: by role)")
    token.add_argument("--ttl", type=int, default=30 * 24 * 3600, help="seconds valid")

    jobs = commands.add_parser("jobs", help="run a background job once")
    jobs.add_argument("job", choices=["expire", "expiry-warnings", "tier-review"])
    jobs.add_argument("--batch-size", type=int, default=200)

    worker = commands.add_parser(
        "worker",
        help="run webhook delivery, expiry, expiry warnings and tier review until SIGTERM",
    )
    worker.add_argument("--once", action="store_true", help="run each job once, then exit")
    worker.add_argument("--deliver-every", type=float, default=1.0, help="seconds (1)")
    worker.add_argument("--expire-every", type=float, default=300.0, help="seconds (300)")
    worker.add_argument("--warn-every", type=float, default=3600.0, help="seconds (3600)")
    worker.add_argument("--tiers-every", type=float, default=3600.0, help="seconds (3600)")
    worker.add_argument("--prizes-every", type=float, default=300.0, help="seconds (300)")
    worker.add_argument(
        "--birthdays-every", type=float, default=3600.0, help="seconds (3600): birthday campaigns"
    )
    worker.add_argument(
        "--lease-seconds",
        type=float,
        default=60.0,
        help="how long a claimed webhook, e-mail or push batch stays this worker's (60; "
        "more than LOYALTY_CHANNEL_TIMEOUT + 2)",
    )
    commands.add_parser("verify", help="check every account against its ledger and lots")

    birthdays = commands.add_parser(
        "birthdays", help="hand today's birthdays (each site's timezone) to birthday campaigns"
    )
    birthdays.add_argument(
        "--date", type=_iso_date, help="YYYY-MM-DD: this date on every site instead of today"
    )
    birthdays.add_argument("--batch-size", type=int, default=500)

    commands.add_parser(
        "leaderboard-prizes", help="give the prizes of every leaderboard period that ended"
    )

    export = commands.add_parser("export-schema", help="print or write the GraphQL SDL")
    export.add_argument("--output", type=Path)

    args = parser.parse_args(argv)
    handler = {
        "serve": _serve,
        "migrate": _migrate,
        "seed-demo": _seed,
        "token": _token,
        "export-schema": _export,
        "jobs": _jobs,
        "verify": _verify,
        "worker": _worker,
        "birthdays": _birthdays,
        "leaderboard-prizes": _leaderboard_prizes,
    }[args.command]
    return handler(args)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "loyalty_gql.api.app:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers or settings.workers,
        loop="uvloop",
        http="httptools",
        access_log=args.access_log,
        log_level=settings.log_level,
        proxy_headers=False,
    )
    return 0


def _migrate(_: argparse.Namespace) -> int:
    from loyalty_gql.db.migrate import upgrade_sync

    upgrade_sync(get_settings().database_url)
    print("database is at the latest revision")
    return 0


def _database_options() -> dict[str, Any]:
    """How the commands open the database: its URL, and Redis for the change feed."""
    settings = get_settings()
    return {
        "url": settings.database_url,
        "redis_url": settings.redis_url,
        "redis_prefix": settings.redis_prefix,
        "change_feed": settings.change_feed,
    }


def _seed(_: argparse.Namespace) -> int:
    from loyalty_gql.db.engine import create_database
    from loyalty_gql.seed import seed_demo

    async def run() -> bool:
        db = create_database(**_database_options())
        try:
            return await seed_demo(db)
        finally:
            await db.dispose()

    print("demo data created" if asyncio.run(run()) else "demo data already there")
    return 0


def _token(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from loyalty_gql.api.auth import Role, issue_token

    role = Role(args.role)
    if role is Role.CUSTOMER and not args.customer:
        print("--customer is required for a customer token", file=sys.stderr)
        return 2
    if role is not Role.ADMIN and len(args.site) != 1:
        print(f"a {role.value} token names exactly one site", file=sys.stderr)
        return 2
    subject = args.customer if role is Role.CUSTOMER else args.subject or f"dev-{role.value}"
    try:
        token = issue_token(
            get_settings(), role=role, sites=args.site, subject=subject, ttl_seconds=args.ttl
        )
    except ValidationError as error:  # its text would quote the settings, keys included
        problems = "; ".join(str(e["msg"]) for e in error.errors(include_input=False))
        print(f"cannot sign a token: {problems}", file=sys.stderr)
        return 2
    except ValueError as error:  # a key that cannot sign (missing, malformed, mismatched)
        print(f"cannot sign a token: {error}", file=sys.stderr)
        return 2
    print(token)
    return 0


def _jobs(args: argparse.Namespace) -> int:
    from loyalty_gql.db.engine import create_database
    from loyalty_gql.services.core.common import system_clock
    from loyalty_gql.services.points.expiry import expire_points, warn_expiring
    from loyalty_gql.services.tiers import review_tiers

    async def run() -> str:
        db = create_database(**_database_options())
        try:
            if args.job == "expire":
                count = await expire_points(db, clock=system_clock, batch_size=args.batch_size)
                return f"{count} expiry entries written"
            if args.job == "expiry-warnings":
                return f"{await warn_expiring(db, clock=system_clock)} warnings written"
            changed = await review_tiers(db, clock=system_clock, batch_size=args.batch_size)
            return f"{changed} tier changes"
        finally:
            await db.dispose()

    print(asyncio.run(run()))
    return 0


def _worker(args: argparse.Namespace) -> int:
    import signal

    from loyalty_gql.db.engine import create_database
    from loyalty_gql.jobs.worker import Intervals, run_worker
    from loyalty_gql.services.core.common import system_clock

    logging.basicConfig(level=get_settings().log_level.upper())

    async def run() -> None:
        db = create_database(**_database_options())
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        intervals = Intervals(
            deliver=args.deliver_every, expire=args.expire_every, warnings=args.warn_every,
            tiers=args.tiers_every, birthdays=args.birthdays_every, lease=args.lease_seconds,
            prizes=args.prizes_every,
        )  # fmt: skip
        try:
            await run_worker(
                db, clock=system_clock, stop=stop, intervals=intervals, once=args.once,
                allow_private=get_settings().webhook_allow_private,
                channel_config=get_settings().channel_config(),
            )  # fmt: skip
        finally:
            await db.dispose()

    asyncio.run(run())
    return 0


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        msg = f"{text!r} is not a date (YYYY-MM-DD)"
        raise argparse.ArgumentTypeError(msg) from None


def _birthdays(args: argparse.Namespace) -> int:
    from loyalty_gql.db.engine import create_database
    from loyalty_gql.services.birthdays import run_birthdays
    from loyalty_gql.services.core.common import system_clock

    async def run() -> str:
        db = create_database(**_database_options())
        try:
            done = await run_birthdays(
                db, clock=system_clock, on_date=args.date, batch_size=args.batch_size
            )
            return f"{done.birthdays} birthdays on {done.sites} sites"
        finally:
            await db.dispose()

    print(asyncio.run(run()))
    return 0


def _leaderboard_prizes(_: argparse.Namespace) -> int:
    from loyalty_gql.db.engine import create_database
    from loyalty_gql.services.core.common import system_clock
    from loyalty_gql.services.leaderboard_prizes import award_prizes

    async def run() -> str:
        db = create_database(**_database_options())
        try:
            done = await award_prizes(db, clock=system_clock)
            return f"{done.awards} prizes in {done.periods} periods"
        finally:
            await db.dispose()

    print(asyncio.run(run()))
    return 0


def _verify(_: argparse.Namespace) -> int:
    from loyalty_gql.db.engine import create_database
    from loyalty_gql.services.gamification.verify import verify_gamification
    from loyalty_gql.services.leaderboards.verify import verify_leaderboards
    from loyalty_gql.services.points.verify import verify_ledger

    async def run() -> list[str]:
        db = create_database(**_database_options())
        try:
            ledger = [str(d) for d in await verify_ledger(db)]
            # and badges, challenges, leaderboards' counts
            return ledger + await verify_gamification(db) + await verify_leaderboards(db)
        finally:
            await db.dispose()

    differences = asyncio.run(run())
    for line in differences:
        print(line)
    if differences:
        print(f"{len(differences)} differences", file=sys.stderr)
        return 1
    print("every account agrees with its ledger and its lots")
    return 0


def _export(args: argparse.Namespace) -> int:
    from loyalty_gql.api.schema import printed_schema

    sdl = printed_schema()
    if args.output:
        args.output.write_text(sdl)
    else:
        sys.stdout.write(sdl)
    return 0


if __name__ == "__main__":
    sys.exit(main())
