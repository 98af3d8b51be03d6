"""Tables. Names are the shop's words; every row belongs to one site."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from loyalty_gql.db.types import DecimalText, JSONDoc, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base with stable constraint names for migrations."""

    metadata = MetaData(naming_convention=NAMING)


class SiteRow(Base):
    """A shop served by this deployment, with its program settings."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    program_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    currency: Mapped[str] = mapped_column(String(3))
    earn_rate: Mapped[Decimal] = mapped_column(DecimalText)
    points_rounding: Mapped[str] = mapped_column(String(16))
    participation: Mapped[str] = mapped_column(String(32))
    order_points_pending: Mapped[bool] = mapped_column(Boolean, default=True)
    validity_policy: Mapped[str] = mapped_column(String(16))
    validity_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    threshold_reward: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    newsletter_signup_points: Mapped[int] = mapped_column(Integer, default=0)
    product_review_points: Mapped[int] = mapped_column(Integer, default=0)
    referral_points: Mapped[int] = mapped_column(Integer, default=0)
    custom_activities: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc)
    expiry_warning_days: Mapped[list[int]] = mapped_column(JSONDoc)
    exchange_limits: Mapped[dict[str, Any]] = mapped_column(JSONDoc, server_default=text("'{}'"))
    settings_version: Mapped[int] = mapped_column(Integer, default=1)
    point_value: Mapped[Decimal | None] = mapped_column(DecimalText, nullable=True)
    # bumped with every change of the site's offers or stacking groups, so each
    # process knows when its cached index of live offers is stale
    offers_version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    # the language and region money and dates are written in for notifications
    locale: Mapped[str] = mapped_column(String(35), default="en", server_default=text("'en'"))


class CustomerRow(Base):
    """A customer the shop registered, unique on (site, external id)."""

    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("site_id", "external_id", name="uq_customers_site_external_id"),
        Index("ix_customers_site_id_id", "site_id", "id"),
        Index("ix_customers_site_email", "site_id", "email"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    external_id: Mapped[str] = mapped_column(String(128))
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    groups: Mapped[list[str]] = mapped_column(JSONDoc)
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EnrollmentEventRow(Base):
    """Each time a customer joined or left the program, and who did it."""

    __tablename__ = "enrollment_events"
    __table_args__ = (
        CheckConstraint("kind IN ('ENROLLED', 'LEFT')", name="kind"),
        Index("ix_enrollment_events_customer", "customer_id", "id"),
        # insight: who joined or left a site in a period, or since a day
        Index("ix_enrollment_events_site_at", "site_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


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


class OutboxEventRow(Base):
    """An event written with the change that caused it; a worker delivers it."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        UniqueConstraint("site_id", "dedupe_key", name="uq_outbox_events_site_dedupe"),
        Index("ix_outbox_events_undelivered", "delivered_at", "id"),
        Index("ix_outbox_events_customer", "customer_id", "id"),
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


class ReferralRow(Base):
    """A customer who brought another; the referrer earns on the friend's first order."""

    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("referred_id", name="uq_referrals_referred"),
        Index("ix_referrals_referrer", "referrer_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    referrer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    referred_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rewarded_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="RESTRICT"), nullable=True
    )


class OfferRow(Base):
    """An offer of a site: reward, coupon, punchcard, promotion or clubcard.

    `uses` counts redemptions; it only grows by a conditional UPDATE, so a
    usage limit holds under any concurrency.
    """

    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('REWARD', 'COUPON', 'PUNCHCARD', 'PROMOTION', 'CLUBCARD')", name="kind"
        ),
        CheckConstraint(
            "status IN ('DRAFT', 'PUBLISHED', 'UNPUBLISHED', 'DELETED')", name="status"
        ),
        CheckConstraint("max_uses IS NULL OR uses <= max_uses", name="uses_within_limit"),
        Index("ix_offers_site_id", "site_id", "id"),
        Index("ix_offers_site_status_kind", "site_id", "status", "kind"),
        Index(
            "uq_offers_site_coupon_code",
            "site_id",
            "coupon_code",
            unique=True,
            sqlite_where=text("coupon_code IS NOT NULL"),
            postgresql_where=text("coupon_code IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    image_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    value_type: Mapped[str] = mapped_column(String(16))
    value: Mapped[Decimal | None] = mapped_column(DecimalText, nullable=True)
    scope: Mapped[str] = mapped_column(String(16))
    targets: Mapped[list[str]] = mapped_column(JSONDoc)
    loyalty_price: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reward_points: Mapped[int] = mapped_column(BigInteger, default=0)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    max_uses: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    max_uses_per_customer: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    uses: Mapped[int] = mapped_column(BigInteger, default=0)
    minimum_order_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    customer_groups: Mapped[list[str]] = mapped_column(JSONDoc)
    tier_ids: Mapped[list[int]] = mapped_column(JSONDoc)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    exclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    stacking_group: Mapped[str | None] = mapped_column(String(64), nullable=True)
    punches_required: Mapped[int | None] = mapped_column(Integer, nullable=True)
    punch_minimum_quantity: Mapped[int] = mapped_column(Integer, default=1)
    membership_fee_points: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    coupon_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    exchange_product_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    exchange_price_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    copied_from_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OfferCustomerUseRow(Base):
    """How often one customer used one offer (for per-customer limits)."""

    __tablename__ = "offer_customer_uses"

    offer_id: Mapped[int] = mapped_column(
        ForeignKey("offers.id", ondelete="RESTRICT"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), primary_key=True
    )
    uses: Mapped[int] = mapped_column(BigInteger, default=0)


class OfferAssignmentRow(Base):
    """An offer given to one customer (punchcard, clubcard, coupon or reward), once."""

    __tablename__ = "offer_assignments"
    __table_args__ = (
        UniqueConstraint("offer_id", "customer_id", name="uq_offer_assignments_offer_customer"),
        Index("ix_offer_assignments_customer", "customer_id", "offer_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="RESTRICT"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    punches: Mapped[int] = mapped_column(Integer, default=0)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CouponCodeRow(Base):
    """One unique code of a coupon offer, generated in batches."""

    __tablename__ = "coupon_codes"
    __table_args__ = (
        UniqueConstraint("site_id", "code", name="uq_coupon_codes_site_code"),
        Index("ix_coupon_codes_offer", "offer_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), nullable=True
    )
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ExchangeRow(Base):
    """Points exchanged for a product: listed shop-wide, confirmed when handed over."""

    __tablename__ = "exchanges"
    __table_args__ = (
        CheckConstraint("status IN ('PENDING', 'CONFIRMED')", name="status"),
        Index("ix_exchanges_site_status", "site_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="RESTRICT"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    voucher_id: Mapped[int] = mapped_column(ForeignKey("vouchers.id", ondelete="RESTRICT"))
    voucher_code: Mapped[str] = mapped_column(String(40))
    product_id: Mapped[str] = mapped_column(String(100))
    price_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    points: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    confirmed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


class StackingGroupRow(Base):
    """How the offers of one stacking group combine at checkout."""

    __tablename__ = "stacking_groups"
    __table_args__ = (
        UniqueConstraint("site_id", "name", name="uq_stacking_groups_site_name"),
        CheckConstraint("mode IN ('STACK', 'BEST_FOR_CUSTOMER', 'FIRST_BY_PRIORITY')", name="mode"),
        CheckConstraint("price_base IN ('ORIGINAL', 'DISCOUNTED')", name="price_base"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(24))
    price_base: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OrderRow(Base):
    """An order the shop recorded, unique on (site, the shop's order id).

    ``quote`` is the calculator's answer when it was recorded, returned as it
    was by every retry; the columns beside it are what later steps change.
    """

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("site_id", "external_id", name="uq_orders_site_external_id"),
        CheckConstraint(
            "status IN ('PLACED', 'COMPLETED', 'CANCELLED', 'REFUNDED')", name="status"
        ),
        Index("ix_orders_site_created", "site_id", "created_at", "id"),
        Index("ix_orders_customer_created", "customer_id", "created_at", "id"),
        # insight over a period reads only this index on PostgreSQL
        Index(
            "ix_orders_site_period",
            "site_id",
            "created_at",
            postgresql_include=[
                "status",
                "customer_id",
                "member_order",
                "total_minor",
                "refunded_minor",
                "discount_minor",
            ],
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    external_id: Mapped[str] = mapped_column(String(128))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_minor: Mapped[int] = mapped_column(BigInteger)
    # what offers and member prices took off (points paid are a payment, not a discount)
    discount_minor: Mapped[int] = mapped_column(BigInteger)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    points_base_minor: Mapped[int] = mapped_column(BigInteger)
    # whether the order counted for the customer's account (enrolled, program on)
    member_order: Mapped[bool] = mapped_column(Boolean, default=False)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    points_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    earn_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="RESTRICT"), nullable=True
    )
    activate_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="RESTRICT"), nullable=True
    )
    spend_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="RESTRICT"), nullable=True
    )
    referral_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="RESTRICT"), nullable=True
    )
    threshold_voucher_ids: Mapped[list[int]] = mapped_column(JSONDoc)
    previous_last_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    previous_rolling_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_points_base_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    points_taken_back: Mapped[int] = mapped_column(BigInteger, default=0)
    points_not_recovered: Mapped[int] = mapped_column(BigInteger, default=0)
    quote: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    request_hash: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OrderLineRow(Base):
    """A line of a recorded order, with what offers took off it and what was refunded."""

    __tablename__ = "order_lines"
    __table_args__ = (
        UniqueConstraint("order_id", "line_id", name="uq_order_lines_order_line"),
        Index("ix_order_lines_site_product", "site_id", "product_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="RESTRICT"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    line_id: Mapped[str] = mapped_column(String(100))
    product_id: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(1000))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    original_minor: Mapped[int] = mapped_column(BigInteger)
    discount_minor: Mapped[int] = mapped_column(BigInteger)
    final_minor: Mapped[int] = mapped_column(BigInteger)
    earns_points: Mapped[bool] = mapped_column(Boolean)
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)


class OrderOfferRow(Base):
    """An offer an order used: how much it took off, and what the use consumed."""

    __tablename__ = "order_offers"
    __table_args__ = (
        Index("ix_order_offers_order", "order_id"),
        # an offer's performance reads only this index on PostgreSQL
        Index(
            "ix_order_offers_offer",
            "offer_id",
            "order_id",
            postgresql_include=["customer_id", "discount_minor", "order_value_minor", "cancelled"],
        ),
        # insight: the offers a site's orders used in a period
        Index(
            "ix_order_offers_site_period",
            "site_id",
            "created_at",
            postgresql_include=["offer_id", "order_id", "discount_minor", "cancelled"],
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="RESTRICT"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    offer_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    origin: Mapped[str] = mapped_column(String(16))
    voucher_id: Mapped[int | None] = mapped_column(
        ForeignKey("vouchers.id", ondelete="RESTRICT"), nullable=True
    )
    coupon_code_id: Mapped[int | None] = mapped_column(
        ForeignKey("coupon_codes.id", ondelete="RESTRICT"), nullable=True
    )
    discount_minor: Mapped[int] = mapped_column(BigInteger)
    reward_points: Mapped[int] = mapped_column(BigInteger, default=0)
    counted_use: Mapped[bool] = mapped_column(Boolean)
    # copies of the order's, so insight reads an offer's uses without the orders
    customer_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # the order's total less its refunds, kept by refundOrder
    order_value_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class OrderPunchRow(Base):
    """What an order did to a punchcard: punches before and after."""

    __tablename__ = "order_punches"
    __table_args__ = (Index("ix_order_punches_order", "order_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="RESTRICT"))
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("offer_assignments.id", ondelete="RESTRICT")
    )
    before: Mapped[int] = mapped_column(Integer)
    after: Mapped[int] = mapped_column(Integer)


class OrderRefundRow(Base):
    """One refund of an order, unique on the shop's refund id."""

    __tablename__ = "order_refunds"
    __table_args__ = (
        UniqueConstraint("order_id", "refund_id", name="uq_order_refunds_order_refund"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="RESTRICT"))
    refund_id: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    points_base_minor: Mapped[int] = mapped_column(BigInteger)
    points: Mapped[int] = mapped_column(BigInteger)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NotificationTemplateRow(Base):
    """A site's words for one event: an email (subject, HTML, text) and a push message."""

    __tablename__ = "notification_templates"
    __table_args__ = (
        UniqueConstraint("site_id", "event", name="uq_notification_templates_site_event"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    event: Mapped[str] = mapped_column(String(40))
    email_subject: Mapped[str] = mapped_column(Text)
    email_html: Mapped[str] = mapped_column(Text)
    email_text: Mapped[str] = mapped_column(Text)
    push_title: Mapped[str] = mapped_column(Text)
    push_body: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookEndpointRow(Base):
    """Where a site wants its events sent, signed with its secret (Standard Webhooks)."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_site", "site_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    events: Mapped[list[str]] = mapped_column(JSONDoc)  # empty: every event
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookDeliveryRow(Base):
    """One event for one endpoint: its body (fixed when the event was dispatched, so
    every attempt sends the same bytes under the same webhook-id) and its attempts."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        CheckConstraint("status IN ('PENDING', 'DELIVERED', 'DEAD')", name="status"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at", "id"),
        Index("ix_webhook_deliveries_site", "site_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="RESTRICT")
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id", ondelete="RESTRICT"))
    event: Mapped[str] = mapped_column(String(40))
    webhook_id: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
