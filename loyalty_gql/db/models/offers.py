"""Offers: rewards, coupons and their codes, punchcards, clubcards, promotions, exchanges
and stacking groups."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from loyalty_gql.db.models.base import Base, BigId
from loyalty_gql.db.types import DecimalText, JSONDoc, UTCDateTime


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
    # only for holders of one of these badges (codes; empty: no such limit)
    badge_codes: Mapped[list[str]] = mapped_column(
        JSONDoc, default=list, server_default=text("'[]'")
    )
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


class OfferUseCountRow(Base):
    """Part of an offer's count of uses in orders, for offers without a usage limit.

    Orders add their uses here, on the shard their order id picks, not on the offer's
    row: concurrent orders of the same products would otherwise queue for that one row
    until each commits (on PostgreSQL the long tail of a sale day's orders). An offer's
    uses are its row's ``uses`` plus the sum of its shards; a limited offer's uses stay
    on its row, where the limit is checked under the row's lock.
    """

    __tablename__ = "offer_use_counts"

    offer_id: Mapped[int] = mapped_column(
        ForeignKey("offers.id", ondelete="RESTRICT"), primary_key=True
    )
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
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
