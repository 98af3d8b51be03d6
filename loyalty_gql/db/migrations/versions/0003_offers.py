"""offers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 10:41:03.445645
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import loyalty_gql.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "offers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("image_url", sa.String(length=2000), nullable=True),
        sa.Column("value_type", sa.String(length=16), nullable=False),
        sa.Column("value", loyalty_gql.db.types.DecimalText(length=40), nullable=True),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column(
            "targets",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("loyalty_price", sa.BigInteger(), nullable=True),
        sa.Column("reward_points", sa.BigInteger(), nullable=False),
        sa.Column("valid_from", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("valid_until", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("max_uses", sa.BigInteger(), nullable=True),
        sa.Column("max_uses_per_customer", sa.BigInteger(), nullable=True),
        sa.Column("uses", sa.BigInteger(), nullable=False),
        sa.Column("minimum_order_minor", sa.BigInteger(), nullable=False),
        sa.Column(
            "customer_groups",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "tier_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("exclusive", sa.Boolean(), nullable=False),
        sa.Column("stacking_group", sa.String(length=64), nullable=True),
        sa.Column("punches_required", sa.Integer(), nullable=True),
        sa.Column("punch_minimum_quantity", sa.Integer(), nullable=False),
        sa.Column("membership_fee_points", sa.BigInteger(), nullable=True),
        sa.Column("coupon_code", sa.String(length=40), nullable=True),
        sa.Column("exchange_product_id", sa.String(length=100), nullable=True),
        sa.Column("exchange_price_minor", sa.BigInteger(), nullable=True),
        sa.Column("copied_from_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('REWARD', 'COUPON', 'PUNCHCARD', 'PROMOTION', 'CLUBCARD')",
            name=op.f("ck_offers_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('DRAFT', 'PUBLISHED', 'UNPUBLISHED', 'DELETED')",
            name=op.f("ck_offers_status"),
        ),
        sa.CheckConstraint(
            "max_uses IS NULL OR uses <= max_uses", name=op.f("ck_offers_uses_within_limit")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_offers_site_id_sites"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
    )
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.create_index("ix_offers_site_id", ["site_id", "id"], unique=False)
        batch_op.create_index(
            "ix_offers_site_status_kind", ["site_id", "status", "kind"], unique=False
        )
        batch_op.create_index(
            "uq_offers_site_coupon_code",
            ["site_id", "coupon_code"],
            unique=True,
            sqlite_where=sa.text("coupon_code IS NOT NULL"),
            postgresql_where=sa.text("coupon_code IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_offers_site_coupon_code",
            sqlite_where=sa.text("coupon_code IS NOT NULL"),
            postgresql_where=sa.text("coupon_code IS NOT NULL"),
        )
        batch_op.drop_index("ix_offers_site_status_kind")
        batch_op.drop_index("ix_offers_site_id")

    op.drop_table("offers")
