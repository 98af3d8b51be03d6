"""Scores, written in the transaction of what causes them: points earned (and their
reversals), amount spent (an order's completion, and what refunds and cancellations
take back of it), challenges completed.

A site without live boards (``sites.live_leaderboards`` 0, on the site row every writer
already holds) costs nothing: no statement. Otherwise a change is three statements: the
site's live boards, one upsert of the customer's score on every board of the metric
(each in the period holding ``at`` in the site's timezone), and one upsert of the
changed bucket counts, sorted by key (docs/ARCHITECTURE.md "Leaderboards").
"""

from __future__ import annotations

from datetime import datetime

from loyalty_gql.db.models import LeaderboardRow, SiteRow
from loyalty_gql.db.repositories import leaderboards as repo
from loyalty_gql.domain.gamification.leaderboards import (
    Leaderboard,
    Metric,
    PeriodKind,
    Prize,
    period_of,
)
from loyalty_gql.domain.gamification.rewards import Reward, RewardKind
from loyalty_gql.domain.sites import site_zone
from loyalty_gql.services.core.uow import UnitOfWork


def board_of(row: LeaderboardRow) -> Leaderboard:
    """The domain board of a row."""
    return Leaderboard(
        id=row.id,
        name=row.name,
        metric=Metric(row.metric),
        period=PeriodKind(row.period),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        size=row.size,
        neighbours=row.neighbours,
        prizes=tuple(prize_of(p) for p in row.prizes or []),
        min_score=row.min_score,
    )


def prize_of(stored: dict[str, object]) -> Prize:
    """A prize as stored: ``{"from_rank", "to_rank", "points", "offer_id"}``."""
    rewards: list[Reward] = []
    points = int(str(stored.get("points") or 0))
    if points:
        rewards.append(Reward(RewardKind.POINTS, points=points))
    if stored.get("offer_id") is not None:
        rewards.append(Reward(RewardKind.VOUCHER, offer_id=int(str(stored["offer_id"]))))
    return Prize(int(str(stored["from_rank"])), int(str(stored["to_rank"])), tuple(rewards))


async def add_to_score(  # noqa: PLR0917 - the score's key, its change, its moment
    uow: UnitOfWork, site: SiteRow, customer_id: int, metric: Metric, delta: int, at: datetime
) -> None:
    """Add ``delta`` to the customer's score on every live board of ``metric``, in the
    period holding ``at``. A score that falls to 0 or below leaves the board."""
    if not site.live_leaderboards or not delta:
        return
    zone = site_zone(site.timezone)
    deltas: dict[repo.ScoreKey, int] = {}
    for row in await repo.live_boards(uow.session, site.id):
        if row.metric != metric.value:
            continue
        bounds = period_of(board_of(row), at, zone)
        if bounds is not None:
            deltas[row.id, bounds.key, customer_id] = delta
    if not deltas:
        return
    scores = await repo.add_to_scores(uow.session, deltas)
    counts: dict[repo.CountKey, int] = {}
    gone = []
    for key, score in scores.items():
        old = score - deltas[key]  # 0: there was no row
        repo.count_deltas(key[0], key[1], max(old, 0), max(score, 0), counts)
        if score <= 0:
            gone.append(key)
    if gone:
        await repo.drop_scores(uow.session, gone)
    await repo.add_to_counts(uow.session, counts)


async def count_points_earned(
    uow: UnitOfWork, site: SiteRow, customer_id: int, points: int, at: datetime
) -> None:
    """Points earned (negative: an earning reversed, counted in the earning's period)."""
    await add_to_score(uow, site, customer_id, Metric.POINTS_EARNED, points, at)


async def count_amount_spent(
    uow: UnitOfWork, site: SiteRow, customer_id: int, minor: int, at: datetime
) -> None:
    """Money spent, in minor units (negative: taken back), in the period of ``at`` (the
    order's completion)."""
    await add_to_score(uow, site, customer_id, Metric.AMOUNT_SPENT, minor, at)


async def count_challenge_completed(
    uow: UnitOfWork, site: SiteRow, customer_id: int, at: datetime, completions: int = 1
) -> None:
    """A challenge completion of the customer at ``at`` (``completions`` -1: one the shop
    reversed). For the challenges service: call it in the transaction that records the
    completion, after the customer's account lock, once per recorded completion."""
    await add_to_score(uow, site, customer_id, Metric.CHALLENGES_COMPLETED, completions, at)
