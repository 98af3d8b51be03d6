"""Campaigns: a site's earning rules, and what each gave to whom."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from loyalty_gql.db.models.base import Base, BigId
from loyalty_gql.db.types import JSONDoc, UTCDateTime


class CampaignRow(Base):
    """A campaign of a site: its trigger, and its conditions, effect and limits as the
    documents of domain.campaigns' types. ``budget_spent`` is what its awards hold of
    ``budget_points`` now (take-backs give it back); a CHECK keeps it within."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("status IN ('DRAFT', 'LIVE', 'DELETED')", name="status"),
        CheckConstraint("budget_spent >= 0", name="budget_spent_not_negative"),
        CheckConstraint(
            "budget_points IS NULL OR budget_spent <= budget_points", name="budget_within"
        ),
        Index("ix_campaigns_site_status", "site_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(100))
    trigger: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    exclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    effect: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    limits: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    budget_points: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    budget_spent: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class CampaignAwardRow(Base):
    """Points one campaign gave one customer for one event (an order, an activity...),
    unique on (campaign, source key) so an event is awarded once; ``points_taken_back``
    is what refunds and cancellations took back of it (and gave back to the budget)."""

    __tablename__ = "campaign_awards"
    __table_args__ = (
        UniqueConstraint("campaign_id", "source_key", name="uq_campaign_awards_source"),
        Index("ix_campaign_awards_customer", "campaign_id", "customer_id", "awarded_at"),
        Index("ix_campaign_awards_order", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="RESTRICT"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="RESTRICT"), nullable=True
    )
    ledger_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="RESTRICT"), nullable=True
    )
    # the entry that made a pending award available (what take-backs reverse after it)
    activate_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="RESTRICT"), nullable=True
    )
    # the voucher a VOUCHER campaign gave (cancelled with the order while unused)
    voucher_id: Mapped[int | None] = mapped_column(
        ForeignKey("vouchers.id", ondelete="RESTRICT"), nullable=True
    )
    trigger: Mapped[str] = mapped_column(String(24))
    source_key: Mapped[str] = mapped_column(String(250))
    points: Mapped[int] = mapped_column(BigInteger)
    points_taken_back: Mapped[int] = mapped_column(BigInteger, default=0)
    # (line id, paid minor units) of the lines the points were counted on, for an award
    # on the matching lines only (null: the whole basket, taken back as base points are)
    qualifying: Mapped[list[Any] | None] = mapped_column(JSONDoc, nullable=True)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    awarded_at: Mapped[datetime] = mapped_column(UTCDateTime)
