"""Defining leaderboards (admins): create, update, publish, unpublish, list.

A board's metric, period and dates can change only until it is first published: its
scores are counted from then on, by those terms (an unpublished board keeps them).
Publishing and unpublishing change the site's count of live boards (the writers' "any
board to score?" check) and its version.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import LeaderboardRow
from loyalty_gql.db.paging import Window
from loyalty_gql.db.repositories import leaderboards as repo
from loyalty_gql.db.repositories.offers.catalog import offer_by_id
from loyalty_gql.db.session import Session
from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem
from loyalty_gql.domain.gamification._text import code_problems
from loyalty_gql.domain.gamification.leaderboards import (
    Leaderboard,
    Metric,
    PeriodKind,
    leaderboard_problems,
)
from loyalty_gql.domain.offers import OfferKind
from loyalty_gql.domain.unset import UNSET, Unset
from loyalty_gql.services.core.common import Actor, Clock
from loyalty_gql.services.core.idempotency import Idempotency, run_once
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.leaderboards.scores import prize_of

MAX_CODE = 40
GIFTABLE = frozenset({OfferKind.REWARD.value, OfferKind.COUPON.value})


@dataclass(frozen=True, slots=True)
class PrizeTerms:
    """What ranks ``from_rank`` to ``to_rank`` get: points and/or a voucher of an offer."""

    from_rank: int
    to_rank: int
    points: int = 0
    offer_id: int | None = None

    def stored(self) -> dict[str, Any]:
        """As kept in the board's ``prizes``."""
        return {
            "from_rank": self.from_rank,
            "to_rank": self.to_rank,
            "points": self.points,
            "offer_id": self.offer_id,
        }


@dataclass(frozen=True, slots=True)
class BoardTerms:
    """A board as an admin defines it."""

    code: str
    name: str
    metric: Metric
    period: PeriodKind
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    size: int = 10
    neighbours: int = 2
    min_score: int = 1
    prizes: tuple[PrizeTerms, ...] = ()

    @classmethod
    def of(cls, row: LeaderboardRow) -> BoardTerms:
        """The terms a board has now."""
        return cls(
            code=row.code,
            name=row.name,
            metric=Metric(row.metric),
            period=PeriodKind(row.period),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            size=row.size,
            neighbours=row.neighbours,
            min_score=row.min_score,
            prizes=tuple(
                PrizeTerms(
                    int(p["from_rank"]),
                    int(p["to_rank"]),
                    int(p.get("points") or 0),
                    p.get("offer_id"),
                )
                for p in row.prizes or []
            ),
        )

    def given(self) -> dict[str, Any]:
        """Every term (the stored request fingerprint)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["prizes"] = [p.stored() for p in self.prizes]
        return out

    def board(self) -> Leaderboard:
        """The domain board, checked (INVALID_VALUE, REQUIRED... when wrong)."""
        board = Leaderboard(
            id=0,
            name=self.name.strip(),
            metric=self.metric,
            period=self.period,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            size=self.size,
            neighbours=self.neighbours,
            prizes=tuple(prize_of(p.stored()) for p in self.prizes),
            min_score=self.min_score,
        )
        problems = code_problems(self.code)
        if len(self.code) > MAX_CODE:
            problems.append(
                FieldProblem(("code",), ErrorCode.INVALID_VALUE, f"at most {MAX_CODE} characters")
            )
        problems += leaderboard_problems(board)
        if problems:
            raise DomainError(problems)
        return board


@dataclass(frozen=True, slots=True)
class BoardChanges:
    """updateLeaderboard's command; UNSET terms keep their value."""

    name: str | Unset = UNSET
    metric: Metric | Unset = UNSET
    period: PeriodKind | Unset = UNSET
    starts_at: datetime | Unset | None = UNSET
    ends_at: datetime | Unset | None = UNSET
    size: int | Unset = UNSET
    neighbours: int | Unset = UNSET
    min_score: int | Unset = UNSET
    prizes: tuple[PrizeTerms, ...] | Unset = UNSET

    def given(self) -> dict[str, Any]:
        """The terms to change."""
        changed = {f.name: getattr(self, f.name) for f in fields(self)}
        out = {name: value for name, value in changed.items() if value is not UNSET}
        if "prizes" in out:
            out["prizes"] = [p.stored() for p in out["prizes"]]
        return out


SCORED_TERMS = ("metric", "period", "starts_at", "ends_at")


async def _check_offers(session: Session, site_id: int, prizes: tuple[PrizeTerms, ...]) -> None:
    for index, prize in enumerate(prizes):
        if prize.offer_id is None:
            continue
        offer = await offer_by_id(session, prize.offer_id)
        if offer is None or offer.site_id != site_id or offer.kind not in GIFTABLE:
            raise DomainError.single(
                ErrorCode.NOT_FOUND,
                "no such reward or coupon offer in the site",
                "prizes",
                str(index),
                "offer_id",
            )


async def create_board(
    db: Database, *, site_id: int, terms: BoardTerms, actor: Actor, clock: Clock,
    retry: Idempotency,
) -> LeaderboardRow:  # fmt: skip
    """A new board, a draft until published."""
    board = terms.board()
    now = clock()
    del actor

    async def work(uow: UnitOfWork) -> LeaderboardRow:
        if await repo.board_by_code(uow.session, site_id, terms.code) is not None:
            raise DomainError.single(
                ErrorCode.DUPLICATE, f"a leaderboard {terms.code!r} exists", "code"
            )
        await _check_offers(uow.session, site_id, terms.prizes)
        row = LeaderboardRow(
            site_id=site_id,
            code=terms.code,
            name=board.name,
            metric=board.metric.value,
            period=board.period.value,
            starts_at=board.starts_at,
            ends_at=board.ends_at,
            size=board.size,
            neighbours=board.neighbours,
            prizes=[p.stored() for p in terms.prizes],
            min_score=board.min_score,
            status="DRAFT",
            version=1,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(row)
        await uow.session.flush()
        return row

    return await run_once(
        db, scope=f"site:{site_id}", retry=retry, request={"site": site_id, **terms.given()},
        now=now, work=work, dump=lambda row: {"board": row.id}, load=_load,
    )  # fmt: skip


async def update_board(
    db: Database, *, board_id: int, changes: BoardChanges, actor: Actor, clock: Clock,
    retry: Idempotency,
) -> LeaderboardRow:  # fmt: skip
    """Change a board; its metric, period and dates only until first published."""
    now = clock()
    del actor

    async def work(uow: UnitOfWork) -> LeaderboardRow:
        row = await _board(uow.session, board_id, lock=uow.is_postgres)
        given = changes.given()
        if row.published_at is not None:  # its scores were counted by these terms
            for name in SCORED_TERMS:
                if name in given and given[name] != getattr(BoardTerms.of(row), name):
                    raise DomainError.single(
                        ErrorCode.INVALID_STATE,
                        "a published board's metric, period and dates stay; make a new one",
                        name,
                    )
        terms = replace(
            BoardTerms.of(row), **{k: getattr(changes, k) for k in given if k != "prizes"}
        )
        if not isinstance(changes.prizes, Unset):
            terms = replace(terms, prizes=changes.prizes)
        board = terms.board()
        await _check_offers(uow.session, row.site_id, terms.prizes)
        row.name, row.metric, row.period = board.name, board.metric.value, board.period.value
        row.starts_at, row.ends_at = board.starts_at, board.ends_at
        row.size, row.neighbours, row.min_score = board.size, board.neighbours, board.min_score
        row.prizes = [p.stored() for p in terms.prizes]
        row.version += 1
        row.updated_at = now
        await repo.bump_site(uow.session, row.site_id, 0)
        return row

    return await run_once(
        db, scope=f"leaderboard:{board_id}", retry=retry,
        request={"board": board_id, **changes.given()}, now=now, work=work,
        dump=lambda row: {"board": row.id}, load=_load,
    )  # fmt: skip


async def set_published(
    db: Database, *, board_id: int, published: bool, actor: Actor, clock: Clock,
    retry: Idempotency,
) -> LeaderboardRow:  # fmt: skip
    """Publish (scores count from now on, customers see it) or unpublish (scores stop,
    what was counted stays for a later publication). Again: no change."""
    now = clock()
    del actor

    async def work(uow: UnitOfWork) -> LeaderboardRow:
        row = await _board(uow.session, board_id, lock=uow.is_postgres)
        status = "LIVE" if published else "DRAFT"
        if row.status == status:
            return row
        row.status = status
        if published and row.published_at is None:
            row.published_at = now
        row.version += 1
        row.updated_at = now
        await repo.bump_site(uow.session, row.site_id, 1 if published else -1)
        return row

    return await run_once(
        db, scope=f"leaderboard:{board_id}", retry=retry,
        request={"board": board_id, "published": published}, now=now, work=work,
        dump=lambda row: {"board": row.id}, load=_load,
    )  # fmt: skip


async def board_site(session: Session, board_id: int) -> int | None:
    """The site of a board (None: no such board)."""
    row = await repo.board_by_id(session, board_id)
    return row.site_id if row else None


async def boards_page(session: Session, site_id: int, window: Window) -> list[LeaderboardRow]:
    """A site's boards in creation order, one keyset page."""
    return await repo.board_page(session, site_id, window)


async def _board(session: Session, board_id: int, *, lock: bool) -> LeaderboardRow:
    row = await repo.board_by_id(session, board_id, lock=lock)
    if row is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such leaderboard", "leaderboard_id")
    return row


async def _load(session: Session, stored: dict[str, Any]) -> LeaderboardRow:
    return await _board(session, int(stored["board"]), lock=False)
