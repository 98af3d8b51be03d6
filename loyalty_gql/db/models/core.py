"""What every area shares: idempotency records, the audit trail, the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from loyalty_gql.db.models.base import Base, BigId
from loyalty_gql.db.types import JSONDoc, UTCDateTime


class IdempotencyRecordRow(Base):
    """The stored outcome of a write mutation, replayed for a retry with the same key."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_records_scope_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(200))
    operation: Mapped[str] = mapped_column(String(100))
    request_hash: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditTrailRow(Base):
    """Who changed a site's settings, when, and to what."""

    __tablename__ = "settings_changes"
    __table_args__ = (Index("ix_settings_changes_site", "site_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class OutboxEventRow(Base):
    """An event written with the change that caused it; a worker delivers it."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        UniqueConstraint("site_id", "dedupe_key", name="uq_outbox_events_site_dedupe"),
        Index("ix_outbox_events_undelivered", "delivered_at", "id"),
        Index("ix_outbox_events_channels_undispatched", "channels_dispatched_at", "id"),
        Index("ix_outbox_events_customer", "customer_id", "id"),
        # the `events` query: a site's events newest first, all or of some types
        Index("ix_outbox_events_site", "site_id", "id"),
        Index("ix_outbox_events_site_kind", "site_id", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    dedupe_key: Mapped[str] = mapped_column(String(250))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # when the event was turned into e-mail and push deliveries (#19); delivered_at is
    # the webhooks' mark
    channels_dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
