"""refunds give back points paid and vouchers: what each refund gave back

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import loyalty_gql.db.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "orders",
        sa.Column("refunded_payment_minor", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "orders",
        sa.Column("points_given_back", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "orders",
        sa.Column("spend_uncounted_minor", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "order_refunds",
        sa.Column("points_given_back", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "order_offers",
        sa.Column("given_back_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("order_offers") as batch:
        batch.drop_column("given_back_at")
    with op.batch_alter_table("order_refunds") as batch:
        batch.drop_column("points_given_back")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("spend_uncounted_minor")
        batch.drop_column("points_given_back")
        batch.drop_column("refunded_payment_minor")
