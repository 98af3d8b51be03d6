"""Badges and challenges (issue #18): badge types, the badges customers hold, challenges,
the facts that count towards them, each customer's progress and the completions."""

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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from loyalty_gql.db.models.base import Base, BigId
from loyalty_gql.db.types import JSONDoc, UTCDateTime


class BadgeTypeRow(Base):
    """A badge of a site; ``code`` never changes (offers and customers name it)."""

    __tablename__ = "badge_types"
    __table_args__ = (
        UniqueConstraint("site_id", "code", name="uq_badge_types_site_code"),
        CheckConstraint(
            "visibility IN ('HIDDEN_UNTIL_EARNED', 'VISIBLE_LOCKED')", name="visibility"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    visibility: Mapped[str] = mapped_column(String(24))
    how_to_earn: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CustomerBadgeRow(Base):
    """A badge granted to a customer: one row per (customer, badge type); revoking sets
    ``revoked_at``, granting again clears it (the latest grant's source is kept)."""

    __tablename__ = "customer_badges"
    __table_args__ = (
        UniqueConstraint("customer_id", "badge_type_id", name="uq_customer_badges_once"),
        CheckConstraint("source IN ('CHALLENGE', 'ADMIN', 'CAMPAIGN')", name="source"),
        Index("ix_customer_badges_holders", "badge_type_id", "revoked_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    badge_type_id: Mapped[int] = mapped_column(ForeignKey("badge_types.id", ondelete="RESTRICT"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(16))
    # the challenge's id, the campaign's key; null for an admin
    source_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    granted_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    revoke_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class ChallengeRow(Base):
    """A challenge of a site: its goal, window, audience and rewards (JSON lists)."""

    __tablename__ = "challenges"
    __table_args__ = (
        UniqueConstraint("site_id", "code", name="uq_challenges_site_code"),
        CheckConstraint(
            "goal_kind IN ('COUNT', 'AMOUNT', 'DISTINCT_PRODUCTS', 'STREAK')", name="goal_kind"
        ),
        CheckConstraint("recurrence IN ('ONCE', 'REPEATEDLY')", name="recurrence"),
        Index("ix_challenges_site_published", "site_id", "published"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    goal_kind: Mapped[str] = mapped_column(String(24))
    counts: Mapped[str] = mapped_column(String(16))  # ORDER or ACTIVITY (COUNT)
    activity_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    categories: Mapped[list[str]] = mapped_column(JSONDoc)
    streak_unit: Mapped[str | None] = mapped_column(String(8), nullable=True)
    target: Mapped[int] = mapped_column(BigInteger)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rolling_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    audience_groups: Mapped[list[str]] = mapped_column(JSONDoc)
    audience_tier_ids: Mapped[list[int]] = mapped_column(JSONDoc)
    # each: kind, points, offer_id, badge_code
    rewards: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc)
    recurrence: Mapped[str] = mapped_column(String(16))
    max_completions: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reverse_on_cancel: Mapped[bool] = mapped_column(Boolean, default=False)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChallengeFactRow(Base):
    """An order or activity that counted towards a challenge for a customer; ``counts``
    turns false when the order is cancelled or refunded in full (its progress goes back)."""

    __tablename__ = "challenge_facts"
    __table_args__ = (
        UniqueConstraint("challenge_id", "customer_id", "fact_key", name="uq_challenge_facts_once"),
        Index("ix_challenge_facts_customer_key", "customer_id", "fact_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="RESTRICT"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    fact_key: Mapped[str] = mapped_column(String(200))  # order:<id> or activity:<entry id>
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    counts: Mapped[bool] = mapped_column(Boolean, default=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # each: product_id, category, paid_minor
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc)
    activity_code: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ChallengeProgressRow(Base):
    """Where a customer stood in a challenge at their last counting fact (the milestones
    already announced are read from it)."""

    __tablename__ = "challenge_progress"

    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="RESTRICT"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), primary_key=True
    )
    value: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    completed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChallengeCompletionRow(Base):
    """Completion number ``number`` of (challenge, customer): unique, so concurrent
    orders reward it exactly once; ``reversed_at`` when the shop took it back."""

    __tablename__ = "challenge_completions"
    __table_args__ = (
        UniqueConstraint(
            "challenge_id", "customer_id", "number", name="uq_challenge_completions_once"
        ),
        Index("ix_challenge_completions_challenge", "challenge_id", "reversed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="RESTRICT"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    number: Mapped[int] = mapped_column(Integer)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # the fact that completed it: the next round starts after it (facts of one instant)
    fact_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    ledger_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="RESTRICT"), nullable=True
    )
    voucher_ids: Mapped[list[int]] = mapped_column(JSONDoc)
    badge_codes: Mapped[list[str]] = mapped_column(JSONDoc)
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
