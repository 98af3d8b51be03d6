"""The period-end prize job (`loyalty-gql leaderboard-prizes`, and the worker): for every
board with prizes, each period that ended since the last run is awarded once.

One transaction per (board, period): the board row is locked (FOR UPDATE on
PostgreSQL; SQLite has one writer), the period is the one starting where the last
award stopped (``awarded_until``, or the period of the board's first publication), and
it is awarded only if it has ended. Ranks are read from the scores (ties at the last
prized rank rewarded whole, see domain/gamification/leaderboards.py); each award is
recorded under (board, period, customer) before its points and voucher are given, and
``awarded_until`` moves to the period's end in the same commit. A second run, or a
concurrent one waiting on the lock, finds nothing left to give.

A score that changes after its period was awarded (a late reversal) changes the board,
not the prizes given. A voucher whose offer is no longer live (or used up) is not given;
the award and its points stand. A period whose prizes cannot be given (a winner's
balance limit) is logged and tried again by the next run; the other boards go on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import LeaderboardRow, SiteRow
from loyalty_gql.db.repositories import leaderboards as repo
from loyalty_gql.db.repositories.customers import customer_by_id
from loyalty_gql.db.repositories.points.ledger import add_event_once
from loyalty_gql.db.repositories.sites import site_by_id
from loyalty_gql.domain.errors import DomainError
from loyalty_gql.domain.gamification.leaderboards import (
    CUSTOM_KEY,
    Leaderboard,
    PeriodBounds,
    PeriodKind,
    Score,
    competition_ranks,
    last_prized_rank,
    period_of,
    places,
    prize_awards,
)
from loyalty_gql.domain.gamification.rewards import RewardKind
from loyalty_gql.domain.points import SourceType
from loyalty_gql.domain.sites import site_zone
from loyalty_gql.services.core.common import Clock
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.leaderboards import board_of
from loyalty_gql.services.offers.gifts import give_offer_voucher
from loyalty_gql.services.points.ledger import Source, ledger_key, open_book

log = logging.getLogger(__name__)

MAX_PERIODS_PER_RUN = 60  # a board idle for longer catches up over the next runs


@dataclass(frozen=True, slots=True)
class PrizeRun:
    """What one run did: periods awarded, prizes given."""

    periods: int
    awards: int


def next_period(row: LeaderboardRow, board: Leaderboard, site: SiteRow) -> PeriodBounds | None:
    """The board's first period not awarded yet (None: none can be, ever)."""
    if board.period is PeriodKind.ALL_TIME or row.published_at is None:
        return None
    if board.period is PeriodKind.CUSTOM:
        if row.awarded_until is not None:
            return None
        return PeriodBounds(CUSTOM_KEY, board.starts_at, board.ends_at)
    return period_of(board, row.awarded_until or row.published_at, site_zone(site.timezone))


async def award_prizes(db: Database, *, clock: Clock) -> PrizeRun:
    """Award every ended, not yet awarded period of every board with prizes."""
    now = clock()
    async with db.read_sessions() as session:
        board_ids = await repo.boards_with_prizes(session, now)
    periods = awards = 0
    for board_id in board_ids:
        for _ in range(MAX_PERIODS_PER_RUN):
            try:
                async with UnitOfWork(db) as uow:
                    given = await _award_next(uow, board_id, now)
                    if given is None:
                        break
                    await uow.commit()
            except DomainError as error:  # e.g. a winner's balance limit: nothing given
                log.warning("leaderboard %s: prizes not given: %s", board_id, error)
                break  # the next run tries this period again; the other boards go on
            periods += 1
            awards += given
    return PrizeRun(periods, awards)


async def _award_next(uow: UnitOfWork, board_id: int, now: datetime) -> int | None:
    """Award the board's next period if it has ended: the prizes given (None: nothing
    to award now)."""
    session = uow.session
    row = await repo.board_by_id(session, board_id, lock=uow.is_postgres)
    if row is None or not row.prizes:
        return None
    site = await site_by_id(session, row.site_id)
    if site is None:  # pragma: no cover - foreign key
        return None
    board = board_of(row)
    period = next_period(row, board, site)
    if period is None or period.ends_at is None or period.ends_at > now:
        return None
    given = 0
    last = last_prized_rank(board)
    boundary = await repo.score_at(session, row.id, period.key, last)
    lines = await repo.at_least(session, row.id, period.key, max(boundary or 0, board.min_score))
    scores = [Score(line.customer_id, line.score, line.display_name) for line in lines]
    ranked = places(scores, competition_ranks([s.score for s in scores]), b"")
    for award in prize_awards(board, ranked):
        score = next(s.score for s in scores if s.customer_id == award.customer_id)
        points = sum(r.points for r in award.prize.rewards if r.kind is RewardKind.POINTS)
        award_id = await repo.add_award_once(
            session,
            {
                "site_id": site.id,
                "leaderboard_id": row.id,
                "period_key": period.key,
                "customer_id": award.customer_id,
                "rank": award.rank,
                "score": score,
                "points": points,
                "created_at": now,
            },
        )
        if award_id is None:  # given before (the board lock makes this the backstop)
            continue
        customer = await customer_by_id(session, award.customer_id)
        if customer is None:  # pragma: no cover - foreign key
            continue
        key = ledger_key("leaderboard", row.id, period.key, customer.id)
        entry_id = None
        if points:
            book = await open_book(uow, site, customer, now)
            source = Source(
                SourceType.LEADERBOARD,
                "system:leaderboard",
                f"{row.code}:{period.key}",
                reason=f"{row.name}: rank {award.rank}",
            )
            entry = await book.earn(points, source, key)
            entry_id = entry.id
        codes = []
        for reward in award.prize.rewards:
            if reward.kind is RewardKind.VOUCHER and reward.offer_id is not None:
                voucher = await give_offer_voucher(uow, site, customer, reward.offer_id, now)
                if voucher is not None:
                    codes.append(voucher.code)
        await repo.set_award_entry(session, award_id, entry_id)
        await add_event_once(
            session,
            site_id=site.id,
            customer_id=customer.id,
            kind="LEADERBOARD_REWARD",
            dedupe_key=key,
            payload={
                "leaderboard_id": row.id,
                "leaderboard_name": row.name,
                "period_key": period.key,
                "rank": award.rank,
                "score": score,
                "points": points,
                "voucher_code": codes[0] if codes else None,
            },
            now=now,
        )
        given += 1
    row.awarded_until = period.ends_at
    return given
