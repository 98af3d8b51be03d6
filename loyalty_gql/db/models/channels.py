"""Channels that reach the customer: a site's settings, customers' push subscriptions
and opt-outs, and the deliveries of outbox events by e-mail and Web Push."""

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
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from loyalty_gql.db.models.base import Base, BigId
from loyalty_gql.db.types import JSONDoc, UTCDateTime


class ChannelSettingsRow(Base):
    """A site's e-mail and Web Push settings: on or off, which events, the sender, the
    VAPID keys (none: the deployment's) and the push message's link (jinja2)."""

    __tablename__ = "channel_settings"

    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="RESTRICT"), primary_key=True
    )
    email_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    email_from: Mapped[str | None] = mapped_column(String(320), nullable=True)
    email_events: Mapped[list[str]] = mapped_column(JSONDoc)
    push_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    push_events: Mapped[list[str]] = mapped_column(JSONDoc)
    push_link: Mapped[str] = mapped_column(Text, default="")
    vapid_private_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    vapid_subject: Mapped[str | None] = mapped_column(String(320), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PushSubscriptionRow(Base):
    """A browser's Web Push subscription the customer registered (RFC 8030 / 8291)."""

    __tablename__ = "push_subscriptions"
    __table_args__ = (
        UniqueConstraint("customer_id", "endpoint", name="uq_push_subscriptions_customer_endpoint"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    endpoint: Mapped[str] = mapped_column(String(2000))
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChannelOptOutRow(Base):
    """A customer unsubscribed from one category of messages on one channel."""

    __tablename__ = "channel_opt_outs"
    __table_args__ = (
        UniqueConstraint("customer_id", "channel", "category", name="uq_channel_opt_outs_customer"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    channel: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChannelDeliveryRow(Base):
    """One event's message to one address (a mailbox, a push subscription): what every
    attempt sends (fixed when the event was dispatched), under one Message-ID, and how
    its attempts went. Attempts are counted when a worker claims the delivery, before
    it sends."""

    __tablename__ = "channel_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "channel", "target", name="uq_channel_deliveries_event"),
        CheckConstraint("status IN ('PENDING', 'DELIVERED', 'DEAD')", name="status"),
        CheckConstraint("channel IN ('EMAIL', 'PUSH')", name="channel"),
        Index("ix_channel_deliveries_due", "status", "next_attempt_at", "id"),
        Index("ix_channel_deliveries_site", "site_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id", ondelete="RESTRICT"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    event: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(2000))
    subscription_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    message_id: Mapped[str] = mapped_column(String(250))
    body: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
