"""Orders: their lines, the offers and punches they used, refunds."""

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
    # the money value of the points payment that refunds covered, and the points paid
    # they gave back so far
    refunded_payment_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    points_given_back: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # the money refunds took off the customer's spend (orders refunded before refunds did
    # have 0: cancelling them uncounts all of it)
    spend_uncounted_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # points the order's campaigns gave (their entries and awards are the details): 0
    # lets completing, cancelling and refunding skip the campaigns without a statement
    campaign_points: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # the referral this order rewarded (its referrer's points), if any (a plain id: see
    # migration 0017)
    referral_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
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
    # when a refund gave the voucher back (what it paid for was refunded in full)
    given_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


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
    points_given_back: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
