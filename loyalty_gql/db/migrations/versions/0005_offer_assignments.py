"""offer assignments

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 10:49:44.765630
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import loyalty_gql.db.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "offer_assignments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("offer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("punches", sa.Integer(), nullable=False),
        sa.Column("assigned_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_offer_assignments_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offers.id"],
            name=op.f("fk_offer_assignments_offer_id_offers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_offer_assignments_site_id_sites"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer_assignments")),
        sa.UniqueConstraint("offer_id", "customer_id", name="uq_offer_assignments_offer_customer"),
    )
    with op.batch_alter_table("offer_assignments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_offer_assignments_customer", ["customer_id", "offer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("offer_assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_offer_assignments_customer")

    op.drop_table("offer_assignments")
