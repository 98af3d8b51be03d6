"""Leaderboards: a site's boards, the customers' scores per period, the score counts
the ranks are read from, and the prizes given at a period's end."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from loyalty_gql.db.models.base import Base, BigId
from loyalty_gql.db.types import JSONDoc, UTCDateTime


class LeaderboardRow(Base):
    """A leaderboard of a site (docs/ARCHITECTURE.md, "Leaderboards")."""

    __tablename__ = "leaderboards"
    __table_args__ = (
        UniqueConstraint("site_id", "code", name="uq_leaderboards_site_code"),
        CheckConstraint(
            "metric IN ('POINTS_EARNED', 'AMOUNT_SPENT', 'CHALLENGES_COMPLETED')", name="metric"
        ),
        CheckConstraint("period IN ('WEEK', 'MONTH', 'ALL_TIME', 'CUSTOM')", name="period"),
        CheckConstraint("status IN ('DRAFT', 'LIVE')", name="status"),
        Index("ix_leaderboards_site_id", "site_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(24))
    period: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    size: Mapped[int] = mapped_column(Integer)
    neighbours: Mapped[int] = mapped_column(Integer)
    # the prizes: a list of from_rank, to_rank and points
    prizes: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc)
    min_score: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer)
    # the prize job: the periods ending up to here were awarded (null: none yet)
    awarded_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LeaderboardScoreRow(Base):
    """A customer's score on a board in one period; a row exists while it is above 0."""

    __tablename__ = "leaderboard_scores"
    __table_args__ = (
        # the display order (score DESC, customer_id DESC) read backwards: the top N and
        # the keyset reads around the viewer are range reads
        Index(
            "ix_leaderboard_scores_order", "leaderboard_id", "period_key", "score", "customer_id"
        ),
    )

    leaderboard_id: Mapped[int] = mapped_column(
        ForeignKey("leaderboards.id", ondelete="RESTRICT"), primary_key=True
    )
    period_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), primary_key=True
    )
    score: Mapped[int] = mapped_column(BigInteger)


class LeaderboardScoreCountRow(Base):
    """How many customers of a board's period hold a score in a bucket: level 0, 1, 2
    buckets are ``score >> 0``, ``>> 8``, ``>> 16``; a rank sums at most ~510 of them."""

    __tablename__ = "leaderboard_score_counts"

    leaderboard_id: Mapped[int] = mapped_column(
        ForeignKey("leaderboards.id", ondelete="RESTRICT"), primary_key=True
    )
    period_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customers: Mapped[int] = mapped_column(BigInteger)


class LeaderboardAwardRow(Base):
    """A prize given at a period's end: once per (board, period, customer)."""

    __tablename__ = "leaderboard_awards"
    __table_args__ = (
        UniqueConstraint(
            "leaderboard_id", "period_key", "customer_id", name="uq_leaderboard_awards_once"
        ),
        Index("ix_leaderboard_awards_customer", "customer_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    leaderboard_id: Mapped[int] = mapped_column(ForeignKey("leaderboards.id", ondelete="RESTRICT"))
    period_key: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(BigInteger)
    points: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    ledger_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="RESTRICT"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
