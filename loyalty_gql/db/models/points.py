"""Points: accounts, the ledger, lots and their movements, vouchers, the daily rollup."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from loyalty_gql.db.models.base import Base, BigId
from loyalty_gql.db.types import DecimalText, UTCDateTime


class PointAccountRow(Base):
    """A customer's balance, kept equal to the sums of their ledger entries.

    Changed only in the transaction that appends the entry, with the row locked.
    """

    __tablename__ = "point_accounts"
    __table_args__ = (
        CheckConstraint("available >= 0", name="available_not_negative"),
        CheckConstraint("pending >= 0", name="pending_not_negative"),
        Index("ix_point_accounts_site_rolling", "site_id", "rolling_expires_at"),
        Index("ix_point_accounts_site_tier", "site_id", "tier_id"),
    )

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), primary_key=True
    )
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    available: Mapped[int] = mapped_column(BigInteger, default=0)
    pending: Mapped[int] = mapped_column(BigInteger, default=0)
    lifetime_earned: Mapped[int] = mapped_column(BigInteger, default=0)
    lifetime_redeemed: Mapped[int] = mapped_column(BigInteger, default=0)
    lifetime_expired: Mapped[int] = mapped_column(BigInteger, default=0)
    lifetime_spent_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    last_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rolling_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    tier_id: Mapped[int | None] = mapped_column(
        ForeignKey("tiers.id", ondelete="SET NULL"), nullable=True
    )
    tier_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    entry_count: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerEntryRow(Base):
    """One append-only change of a customer's points; never updated or deleted.

    The *_points columns are this entry's change to the account's columns of the
    same meaning, so every account equals the sums of its entries.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("site_id", "idempotency_key", name="uq_ledger_entries_site_key"),
        Index("ix_ledger_entries_customer_id", "customer_id", "id"),
        Index("ix_ledger_entries_site_id", "site_id", "id"),
        Index("ix_ledger_entries_reverses", "reverses_entry_id"),
        Index("ix_ledger_entries_activity", "customer_id", "activity_code", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(BigInteger)
    pending_points: Mapped[int] = mapped_column(BigInteger, default=0)
    earned_points: Mapped[int] = mapped_column(BigInteger, default=0)
    redeemed_points: Mapped[int] = mapped_column(BigInteger, default=0)
    expired_points: Mapped[int] = mapped_column(BigInteger, default=0)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    source_type: Mapped[str] = mapped_column(String(24))
    source_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    activity_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor: Mapped[str] = mapped_column(String(200))
    idempotency_key: Mapped[str] = mapped_column(String(250))
    reverses_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="RESTRICT"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PointLotRow(Base):
    """Points from one earning: how many are left and when they expire."""

    __tablename__ = "point_lots"
    __table_args__ = (
        CheckConstraint("remaining >= 0", name="remaining_not_negative"),
        CheckConstraint("remaining <= points", name="remaining_within_points"),
        # A spend's scan: a customer's lots that still hold points, soonest expiry first.
        Index(
            "ix_point_lots_customer_open",
            "customer_id",
            "expires_at",
            "id",
            sqlite_where=text("remaining > 0"),
            postgresql_where=text("remaining > 0"),
        ),
        Index("ix_point_lots_entry", "entry_id"),
        # The expiry job's scan: only lots that still hold points.
        Index(
            "ix_point_lots_open_expiry",
            "expires_at",
            sqlite_where=text("remaining > 0"),
            postgresql_where=text("remaining > 0"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id", ondelete="RESTRICT"))
    points: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LotMovementRow(Base):
    """Points an entry took from a lot (negative) or gave back to it (positive)."""

    __tablename__ = "lot_movements"
    __table_args__ = (
        Index("ix_lot_movements_entry", "entry_id"),
        Index("ix_lot_movements_lot", "lot_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id", ondelete="RESTRICT"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("point_lots.id", ondelete="RESTRICT"))
    points: Mapped[int] = mapped_column(BigInteger)


class VoucherRow(Base):
    """A discount a customer owns (from the threshold reward, or bought with points)."""

    __tablename__ = "vouchers"
    __table_args__ = (
        UniqueConstraint("site_id", "code", name="uq_vouchers_site_code"),
        CheckConstraint("status IN ('ACTIVE', 'USED', 'EXPIRED', 'CANCELLED')", name="status"),
        Index("ix_vouchers_customer", "customer_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(24))
    offer_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    value_type: Mapped[str] = mapped_column(String(16))
    value: Mapped[Decimal] = mapped_column(DecimalText)
    minimum_order_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    points_spent: Mapped[int] = mapped_column(BigInteger, default=0)
    ledger_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="RESTRICT"), nullable=True
    )
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CustomerDayRow(Base):
    """Per customer and day: points and money, kept by the writes (tier windows, insight).

    ``points_earned``, ``points_redeemed`` and ``points_expired`` count on the day of
    the entry that gave, spent or expired them: a later reversal is counted back on
    that day, so a day shows what stuck. ``points_change`` is the change of the
    available balance on the day it happened, so balances at the end of any day
    follow from today's.
    """

    __tablename__ = "customer_days"
    __table_args__ = (
        UniqueConstraint("customer_id", "day", name="uq_customer_days_customer_day"),
        # insight's sums over a site's days read only this index on PostgreSQL
        Index(
            "ix_customer_days_site_day",
            "site_id",
            "day",
            postgresql_include=[
                "points_earned",
                "points_redeemed",
                "points_expired",
                "points_change",
            ],
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    day: Mapped[date] = mapped_column(Date)
    points_earned: Mapped[int] = mapped_column(BigInteger, default=0)
    spent_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    points_redeemed: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    points_expired: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    points_change: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
