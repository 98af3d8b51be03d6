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


def _points_paid(quote: str) -> str:
    """The money an order's points paid, from its stored quote (JSON), or 0. Quotes are
    stored in snake_case since #13 and in camelCase before: either is read, so running
    this again (a downgrade and upgrade) on newer orders reads them right too."""
    if op.get_bind().dialect.name == "postgresql":
        return (
            f"COALESCE(({quote} -> 'pointsPayment' ->> 'amount')::bigint,"
            f" ({quote} -> 'points_payment' ->> 'amount')::bigint, 0)"
        )
    return (
        f"COALESCE(json_extract({quote}, '$.pointsPayment.amount'),"
        f" json_extract({quote}, '$.points_payment.amount'), 0)"
    )


DAY_AMOUNTS = (
    "points_earned",
    "spent_minor",
    "orders",
    "points_redeemed",
    "points_expired",
    "points_change",
)


def _add_days(column: str, rows: str) -> None:
    """Sum ``rows`` (site_id, customer_id, day, amount) into customer_days.``column``, in
    one pass (a day's row is created if missing)."""
    amounts = ", ".join("SUM(t.amount)" if name == column else "0" for name in DAY_AMOUNTS)
    op.execute(
        f"""
        INSERT INTO customer_days (site_id, customer_id, day, {", ".join(DAY_AMOUNTS)})
        SELECT t.site_id, t.customer_id, t.day, {amounts}
        FROM ({rows}) t
        WHERE true
        GROUP BY t.site_id, t.customer_id, t.day
        ON CONFLICT (customer_id, day) DO UPDATE SET {column} = excluded.{column}
        """
    )


def _backfill() -> None:
    """Fill the new columns from what is already recorded."""
    # an order's discount no longer counts the points it was paid with
    op.execute(f"UPDATE orders SET discount_minor = discount_minor - {_points_paid('quote')}")
    # Redeemed points count on the day of the entry they belong to: a reversal on the
    # day of the entry it reverses (as points_earned already does). Expired points on
    # the day they expired: a reversal's (points of an earning that had expired) on the
    # day its lot last expired.
    redeemed_day = _day("COALESCE(o.created_at, e.created_at)")
    _add_days(
        "points_redeemed",
        f"SELECT e.site_id, e.customer_id, {redeemed_day} AS day, e.redeemed_points AS amount "
        "FROM ledger_entries e "
        "LEFT JOIN ledger_entries o ON e.kind = 'REVERSED' AND o.id = e.reverses_entry_id "
        "WHERE e.redeemed_points <> 0",
    )
    lot_expired = (
        "SELECT MAX(x.created_at) FROM point_lots l "
        "JOIN lot_movements m ON m.lot_id = l.id "
        "JOIN ledger_entries x ON x.id = m.entry_id AND x.kind = 'EXPIRED' "
        "WHERE l.entry_id = e.reverses_entry_id"
    )
    expired_day = _day(
        f"CASE WHEN e.kind = 'REVERSED' THEN COALESCE(({lot_expired}), o.created_at) "
        "ELSE e.created_at END"
    )
    _add_days(
        "points_expired",
        f"SELECT e.site_id, e.customer_id, {expired_day} AS day, e.expired_points AS amount "
        "FROM ledger_entries e "
        "LEFT JOIN ledger_entries o ON e.kind = 'REVERSED' AND o.id = e.reverses_entry_id "
        "WHERE e.expired_points <> 0",
    )
    # The available balance's change counts on the day it happened.
    own_day = _day("e.created_at")
    _add_days(
        "points_change",
        f"SELECT e.site_id, e.customer_id, {own_day} AS day, e.points AS amount "
        "FROM ledger_entries e WHERE e.points <> 0",
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
    op.execute(f"UPDATE orders SET discount_minor = discount_minor + {_points_paid('quote')}")
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
