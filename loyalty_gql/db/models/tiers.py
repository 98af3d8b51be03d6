"""Tiers of a site."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from loyalty_gql.db.models.base import Base, BigId
from loyalty_gql.db.types import DecimalText, UTCDateTime


class TierRow(Base):
    """A tier of a site's program."""

    __tablename__ = "tiers"
    __table_args__ = (
        CheckConstraint("metric IN ('POINTS_EARNED', 'AMOUNT_SPENT')", name="metric"),
        Index("ix_tiers_site", "site_id", "rank"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(100))
    rank: Mapped[int] = mapped_column(Integer)
    metric: Mapped[str] = mapped_column(String(16))
    threshold: Mapped[int] = mapped_column(BigInteger)
    window_months: Mapped[int | None] = mapped_column(Integer, nullable=True)
    earn_multiplier: Mapped[Decimal] = mapped_column(DecimalText)
    benefits: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
