"""insight: ledger rollups per customer-day, order offers by period, indexes

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import loyalty_gql.db.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ORDER_INCLUDE = [
    "status",
    "customer_id",
    "member_order",
    "total_minor",
    "refunded_minor",
    "discount_minor",
]
OFFER_INCLUDE = ["offer_id", "order_id", "discount_minor", "cancelled"]
PERFORMANCE_INCLUDE = ["customer_id", "discount_minor", "order_value_minor", "cancelled"]
DAY_INCLUDE = ["points_earned", "points_redeemed", "points_expired", "points_change"]


def _day(column: str) -> str:
    """The UTC day of a timestamp column, as customer_days.day stores it."""
    if op.get_bind().dialect.name == "postgresql":
        return f"(({column}) AT TIME ZONE 'UTC')::date"
    return f"substr({column}, 1, 10)"


def upgrade() -> None:
    op.add_column(
        "customer_days",
        sa.Column("points_redeemed", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "customer_days",
        sa.Column("points_expired", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "customer_days",
        sa.Column("points_change", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.create_index(
        "ix_enrollment_events_site_at", "enrollment_events", ["site_id", "at"], unique=False
    )
    op.add_column("order_offers", sa.Column("customer_id", sa.BigInteger(), nullable=True))
    op.add_column(
        "order_offers",
        sa.Column("created_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "order_offers",
        sa.Column("cancelled", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "order_offers",
        sa.Column("order_value_minor", sa.BigInteger(), server_default="0", nullable=False),
    )
    _backfill()
    with op.batch_alter_table("order_offers") as batch:
        batch.alter_column(
            "created_at",
            existing_type=loyalty_gql.db.types.UTCDateTime(timezone=True),
            nullable=False,
        )
    op.create_index(
        "ix_order_offers_site_period",
        "order_offers",
        ["site_id", "created_at"],
        unique=False,
        postgresql_include=OFFER_INCLUDE,
    )
    op.drop_index("ix_order_offers_offer", table_name="order_offers")
    op.create_index(
        "ix_order_offers_offer",
        "order_offers",
        ["offer_id", "order_id"],
        unique=False,
        postgresql_include=PERFORMANCE_INCLUDE,
    )
    op.drop_index("ix_customer_days_site_day", table_name="customer_days")
    op.create_index(
        "ix_customer_days_site_day",
        "customer_days",
        ["site_id", "day"],
        unique=False,
        postgresql_include=DAY_INCLUDE,
    )
    op.create_index(
        "ix_orders_site_period",
        "orders",
        ["site_id", "created_at"],
        unique=False,
        postgresql_include=ORDER_INCLUDE,
    )


def _backfill() -> None:
    """Fill the new columns from what is already recorded."""
    # Redeemed and expired points count on the day of the entry they belong to: a
    # reversal on the day of the entry it reverses (as points_earned already does).
    flow_day = _day("COALESCE(o.created_at, e.created_at)")
    op.execute(
        f"""
        INSERT INTO customer_days (site_id, customer_id, day, points_earned, spent_minor,
                                   orders, points_redeemed, points_expired, points_change)
        SELECT e.site_id, e.customer_id, {flow_day}, 0, 0, 0,
               SUM(e.redeemed_points), SUM(e.expired_points), 0
        FROM ledger_entries e
        LEFT JOIN ledger_entries o ON e.kind = 'REVERSED' AND o.id = e.reverses_entry_id
        WHERE e.redeemed_points <> 0 OR e.expired_points <> 0
        GROUP BY 1, 2, 3
        ON CONFLICT (customer_id, day) DO UPDATE SET
            points_redeemed = excluded.points_redeemed,
            points_expired = excluded.points_expired
        """  # noqa: S608 - no input, only the dialect's day expression
    )
    # The available balance's change counts on the day it happened.
    own_day = _day("e.created_at")
    op.execute(
        f"""
        INSERT INTO customer_days (site_id, customer_id, day, points_earned, spent_minor,
                                   orders, points_redeemed, points_expired, points_change)
        SELECT e.site_id, e.customer_id, {own_day}, 0, 0, 0, 0, 0, SUM(e.points)
        FROM ledger_entries e
        WHERE e.points <> 0
        GROUP BY 1, 2, 3
        ON CONFLICT (customer_id, day) DO UPDATE SET points_change = excluded.points_change
        """  # noqa: S608 - no input, only the dialect's day expression
    )
    op.execute(
        """
        UPDATE order_offers SET
            customer_id = (SELECT o.customer_id FROM orders o WHERE o.id = order_offers.order_id),
            created_at = (SELECT o.created_at FROM orders o WHERE o.id = order_offers.order_id),
            cancelled = (SELECT o.status = 'CANCELLED' FROM orders o
                         WHERE o.id = order_offers.order_id),
            order_value_minor = (SELECT o.total_minor - o.refunded_minor FROM orders o
                                 WHERE o.id = order_offers.order_id)
        """
    )


def downgrade() -> None:
    op.drop_index("ix_orders_site_period", table_name="orders", postgresql_include=ORDER_INCLUDE)
    op.drop_index("ix_customer_days_site_day", table_name="customer_days")
    op.create_index("ix_customer_days_site_day", "customer_days", ["site_id", "day"])
    op.drop_index("ix_order_offers_offer", table_name="order_offers")
    op.create_index("ix_order_offers_offer", "order_offers", ["offer_id", "order_id"])
    op.drop_index(
        "ix_order_offers_site_period", table_name="order_offers", postgresql_include=OFFER_INCLUDE
    )
    with op.batch_alter_table("order_offers") as batch:
        batch.drop_column("order_value_minor")
        batch.drop_column("cancelled")
        batch.drop_column("created_at")
        batch.drop_column("customer_id")
    op.drop_index("ix_enrollment_events_site_at", table_name="enrollment_events")
    with op.batch_alter_table("customer_days") as batch:
        batch.drop_column("points_change")
        batch.drop_column("points_expired")
        batch.drop_column("points_redeemed")
