"""points ledger, lots, outbox, vouchers, tiers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:38:20.118167
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import loyalty_gql.db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tiers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("threshold", sa.BigInteger(), nullable=False),
        sa.Column("window_months", sa.Integer(), nullable=True),
        sa.Column("earn_multiplier", loyalty_gql.db.types.DecimalText(length=40), nullable=False),
        sa.Column("benefits", sa.Text(), nullable=True),
        sa.Column("created_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "metric IN ('POINTS_EARNED', 'AMOUNT_SPENT')", name=op.f("ck_tiers_metric")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_tiers_site_id_sites"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiers")),
    )
    with op.batch_alter_table("tiers", schema=None) as batch_op:
        batch_op.create_index("ix_tiers_site", ["site_id", "rank"], unique=False)

    op.create_table(
        "customer_days",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("points_earned", sa.BigInteger(), nullable=False),
        sa.Column("spent_minor", sa.BigInteger(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_days_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_customer_days_site_id_sites"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_days")),
        sa.UniqueConstraint("customer_id", "day", name="uq_customer_days_customer_day"),
    )
    with op.batch_alter_table("customer_days", schema=None) as batch_op:
        batch_op.create_index("ix_customer_days_site_day", ["site_id", "day"], unique=False)

    op.create_table(
        "ledger_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("pending_points", sa.BigInteger(), nullable=False),
        sa.Column("earned_points", sa.BigInteger(), nullable=False),
        sa.Column("redeemed_points", sa.BigInteger(), nullable=False),
        sa.Column("expired_points", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("source_type", sa.String(length=24), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=True),
        sa.Column("activity_code", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("idempotency_key", sa.String(length=250), nullable=False),
        sa.Column(
            "reverses_entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_ledger_entries_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["reverses_entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_ledger_entries_reverses_entry_id_ledger_entries"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_ledger_entries_site_id_sites"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("site_id", "idempotency_key", name="uq_ledger_entries_site_key"),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_entries_activity",
            ["customer_id", "activity_code", "created_at"],
            unique=False,
        )
        batch_op.create_index("ix_ledger_entries_customer_id", ["customer_id", "id"], unique=False)
        batch_op.create_index("ix_ledger_entries_reverses", ["reverses_entry_id"], unique=False)
        batch_op.create_index("ix_ledger_entries_site_id", ["site_id", "id"], unique=False)

    op.create_table(
        "outbox_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("dedupe_key", sa.String(length=250), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_outbox_events_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_outbox_events_site_id_sites"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("site_id", "dedupe_key", name="uq_outbox_events_site_dedupe"),
    )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_events_customer", ["customer_id", "id"], unique=False)
        batch_op.create_index("ix_outbox_events_undelivered", ["delivered_at", "id"], unique=False)

    op.create_table(
        "point_accounts",
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("available", sa.BigInteger(), nullable=False),
        sa.Column("pending", sa.BigInteger(), nullable=False),
        sa.Column("lifetime_earned", sa.BigInteger(), nullable=False),
        sa.Column("lifetime_redeemed", sa.BigInteger(), nullable=False),
        sa.Column("lifetime_expired", sa.BigInteger(), nullable=False),
        sa.Column("lifetime_spent_minor", sa.BigInteger(), nullable=False),
        sa.Column("last_order_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "rolling_expires_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("tier_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("tier_since", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("entry_count", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("available >= 0", name=op.f("ck_point_accounts_available_not_negative")),
        sa.CheckConstraint("pending >= 0", name=op.f("ck_point_accounts_pending_not_negative")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_point_accounts_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_point_accounts_site_id_sites"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tier_id"],
            ["tiers.id"],
            name=op.f("fk_point_accounts_tier_id_tiers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_point_accounts")),
    )
    with op.batch_alter_table("point_accounts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_point_accounts_site_rolling", ["site_id", "rolling_expires_at"], unique=False
        )
        batch_op.create_index("ix_point_accounts_site_tier", ["site_id", "tier_id"], unique=False)

    op.create_table(
        "point_lots",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "remaining <= points", name=op.f("ck_point_lots_remaining_within_points")
        ),
        sa.CheckConstraint("remaining >= 0", name=op.f("ck_point_lots_remaining_not_negative")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_point_lots_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_point_lots_entry_id_ledger_entries"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_point_lots_site_id_sites"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_lots")),
    )
    with op.batch_alter_table("point_lots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_point_lots_customer_open",
            ["customer_id", "expires_at", "id"],
            unique=False,
            sqlite_where=sa.text("remaining > 0"),
            postgresql_where=sa.text("remaining > 0"),
        )
        batch_op.create_index("ix_point_lots_entry", ["entry_id"], unique=False)
        batch_op.create_index(
            "ix_point_lots_open_expiry",
            ["expires_at"],
            unique=False,
            sqlite_where=sa.text("remaining > 0"),
            postgresql_where=sa.text("remaining > 0"),
        )

    op.create_table(
        "referrals",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "referrer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "referred_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "rewarded_entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["referred_id"],
            ["customers.id"],
            name=op.f("fk_referrals_referred_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["referrer_id"],
            ["customers.id"],
            name=op.f("fk_referrals_referrer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["rewarded_entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_referrals_rewarded_entry_id_ledger_entries"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_referrals_site_id_sites"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
        sa.UniqueConstraint("referred_id", name="uq_referrals_referred"),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index("ix_referrals_referrer", ["referrer_id"], unique=False)

    op.create_table(
        "vouchers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=24), nullable=False),
        sa.Column("offer_id", sa.BigInteger(), nullable=True),
        sa.Column("value_type", sa.String(length=16), nullable=False),
        sa.Column("value", loyalty_gql.db.types.DecimalText(length=40), nullable=False),
        sa.Column("minimum_order_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("points_spent", sa.BigInteger(), nullable=False),
        sa.Column(
            "ledger_entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("issued_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("used_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('ACTIVE', 'USED', 'EXPIRED', 'CANCELLED')", name=op.f("ck_vouchers_status")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_vouchers_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["ledger_entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_vouchers_ledger_entry_id_ledger_entries"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_vouchers_site_id_sites"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vouchers")),
        sa.UniqueConstraint("site_id", "code", name="uq_vouchers_site_code"),
    )
    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.create_index("ix_vouchers_customer", ["customer_id", "id"], unique=False)

    op.create_table(
        "lot_movements",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_lot_movements_entry_id_ledger_entries"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"],
            ["point_lots.id"],
            name=op.f("fk_lot_movements_lot_id_point_lots"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lot_movements")),
    )
    with op.batch_alter_table("lot_movements", schema=None) as batch_op:
        batch_op.create_index("ix_lot_movements_entry", ["entry_id"], unique=False)
        batch_op.create_index("ix_lot_movements_lot", ["lot_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lot_movements", schema=None) as batch_op:
        batch_op.drop_index("ix_lot_movements_lot")
        batch_op.drop_index("ix_lot_movements_entry")

    op.drop_table("lot_movements")
    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.drop_index("ix_vouchers_customer")

    op.drop_table("vouchers")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_referrer")

    op.drop_table("referrals")
    with op.batch_alter_table("point_lots", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_point_lots_open_expiry",
            sqlite_where=sa.text("remaining > 0"),
            postgresql_where=sa.text("remaining > 0"),
        )
        batch_op.drop_index("ix_point_lots_entry")
        batch_op.drop_index(
            "ix_point_lots_customer_open",
            sqlite_where=sa.text("remaining > 0"),
            postgresql_where=sa.text("remaining > 0"),
        )

    op.drop_table("point_lots")
    with op.batch_alter_table("point_accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_point_accounts_site_tier")
        batch_op.drop_index("ix_point_accounts_site_rolling")

    op.drop_table("point_accounts")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_events_undelivered")
        batch_op.drop_index("ix_outbox_events_customer")

    op.drop_table("outbox_events")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_site_id")
        batch_op.drop_index("ix_ledger_entries_reverses")
        batch_op.drop_index("ix_ledger_entries_customer_id")
        batch_op.drop_index("ix_ledger_entries_activity")

    op.drop_table("ledger_entries")
    with op.batch_alter_table("customer_days", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_days_site_day")

    op.drop_table("customer_days")
    with op.batch_alter_table("tiers", schema=None) as batch_op:
        batch_op.drop_index("ix_tiers_site")

    op.drop_table("tiers")
