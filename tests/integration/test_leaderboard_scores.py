"""Leaderboard scores through the services: concurrent earns keep the score counts exact
(PostgreSQL), challenge completions count, a custom board counts only within its dates
and is awarded after them, and the `leaderboard-prizes` command."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import PointAccountRow, SiteRow
from loyalty_gql.db.repositories import leaderboards as repo
from loyalty_gql.domain.gamification.leaderboards import Metric, PeriodKind
from loyalty_gql.services import leaderboards
from loyalty_gql.services.core.idempotency import Idempotency
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.leaderboard_prizes import award_prizes
from loyalty_gql.services.points import grant_points
from tests.conftest import DatabaseBackend
from tests.integration.ledger_helpers import ADMIN, shop
from tests.integration.test_cli import _cli
from tests.support.clock import Clock


async def _live_board(
    db: Database, clock: Clock, site_id: int, metric: Metric, period: PeriodKind, **terms: object
) -> int:
    board = await leaderboards.create_board(
        db, site_id=site_id, clock=clock, actor=ADMIN, retry=Idempotency("createLeaderboard"),
        terms=leaderboards.BoardTerms(code=f"b{metric.value}{period.value}", name="Board",
                                      metric=metric, period=period, **terms),  # type: ignore[arg-type]
    )  # fmt: skip
    await leaderboards.set_published(
        db, board_id=board.id, published=True, actor=ADMIN, clock=clock,
        retry=Idempotency("publishLeaderboard"),
    )  # fmt: skip
    return board.id


async def _grant(db: Database, clock: Clock, customer_id: int, points: int) -> None:
    await grant_points(
        db, customer_id=customer_id, points=points, reason="test", actor=ADMIN, clock=clock,
        retry=Idempotency("grantPoints"),
    )  # fmt: skip


async def _scores(db: Database, board_id: int, period: str) -> list[tuple[int, int]]:
    async with db.read_sessions() as session:
        lines = await repo.top(session, board_id, period, 100)
    return [(line.customer_id, line.score) for line in lines]


async def test_concurrent_earns_keep_the_scores_and_their_counts_exact(
    db: Database, clock: Clock
) -> None:
    # given: two live boards of points earned, 8 customers
    the_shop = await shop(db, clock, customers_count=8)
    week = await _live_board(db, clock, the_shop.site_id, Metric.POINTS_EARNED, PeriodKind.WEEK)
    await _live_board(db, clock, the_shop.site_id, Metric.POINTS_EARNED, PeriodKind.ALL_TIME)
    # when: 48 grants at once (on PostgreSQL they race; SQLite has one writer); a
    # negative grant spends points, it does not undo earning them
    grants = [
        (customer, 37 * (n % 5 + 1) if n % 3 else -10)
        for n, customer in enumerate(the_shop.customer_ids * 6)
    ]
    for customer in the_shop.customer_ids:
        await _grant(db, clock, customer, 100)
    await asyncio.gather(*(_grant(db, clock, c, p) for c, p in grants))
    # then: each score is the sum of its grants, and the counts agree with the scores
    scores = dict(await _scores(db, week, "2026-W03"))
    expected = {
        c: 100 + sum(p for who, p in grants if who == c and p > 0) for c in the_shop.customer_ids
    }
    assert scores == expected
    async with db.read_sessions() as session:
        assert await repo.count_mismatches(session) == []
        ranks = await repo.ranks(session, [(week, "2026-W03", s) for s in expected.values()])
    assert ranks == [1 + sum(o > s for o in expected.values()) for s in expected.values()]


async def test_challenge_completions_count_on_their_boards(db: Database, clock: Clock) -> None:
    # given
    the_shop = await shop(db, clock, customers_count=2)
    ann, bob = the_shop.customer_ids
    board = await _live_board(
        db, clock, the_shop.site_id, Metric.CHALLENGES_COMPLETED, PeriodKind.MONTH
    )
    # when: what the challenges service calls as it records completions
    async with UnitOfWork(db) as uow:
        site = await uow.session.get(SiteRow, the_shop.site_id)
        assert site is not None
        for customer, completions in ((ann, 1), (ann, 1), (bob, 1), (ann, -1), (bob, 1)):
            await leaderboards.count_challenge_completed(
                uow, site, customer, clock(), completions=completions
            )
        await uow.commit()
    # then
    assert await _scores(db, board, "2026-01") == [(bob, 2), (ann, 1)]


async def test_a_custom_board_counts_within_its_dates_and_is_awarded_after_them(
    db: Database, clock: Clock, backend: DatabaseBackend
) -> None:
    # given: a custom board from 20 to 25 January, 50 points for rank 1
    the_shop = await shop(db, clock, customers_count=2)
    ann, bob = the_shop.customer_ids
    starts = datetime(2026, 1, 20, tzinfo=UTC)
    board = await _live_board(
        db, clock, the_shop.site_id, Metric.POINTS_EARNED, PeriodKind.CUSTOM,
        starts_at=starts, ends_at=starts + timedelta(days=5),
        prizes=(leaderboards.PrizeTerms(1, 1, points=50),),
    )  # fmt: skip
    # when: points before, during and after the dates
    await _grant(db, clock, ann, 500)  # 15 January
    clock.now = starts + timedelta(hours=1)
    await _grant(db, clock, ann, 20)
    await _grant(db, clock, bob, 30)
    during = await award_prizes(db, clock=clock)
    clock.now = starts + timedelta(days=5)
    await _grant(db, clock, ann, 40)
    first = await _cli(backend, "leaderboard-prizes")
    second = await _cli(backend, "leaderboard-prizes")
    # then
    assert await _scores(db, board, "CUSTOM") == [(bob, 30), (ann, 20)]
    assert during.awards == 0
    assert (first.status, first.out) == (0, "1 prizes in 1 periods\n")
    assert (second.status, second.out) == (0, "0 prizes in 0 periods\n")
    async with db.read_sessions() as session:
        rows = await session.execute(select(PointAccountRow.customer_id, PointAccountRow.available))
        available = dict(rows.all())
    # bob won rank 1: 30 granted + the 50-point prize
    assert available == {ann: 560, bob: 80}
