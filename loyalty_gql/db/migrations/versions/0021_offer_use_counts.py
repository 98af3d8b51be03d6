"""offers without a usage limit count the uses of orders on shards (#15)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04

Concurrent orders of the same products each added one to the offer's row and then held
its lock until they committed, so on a busy day they queued for it. Orders now add the
uses of an offer without a limit to one of its shards (``offer_use_counts``, the shard
picked by the order's id); the offer's uses are its row's plus its shards'. The counts
so far stay on the offers' rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "offer_use_counts",
        sa.Column("offer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("uses", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offers.id"],
            name=op.f("fk_offer_use_counts_offer_id_offers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("offer_id", "shard", name=op.f("pk_offer_use_counts")),
    )


def downgrade() -> None:
    # the shards' uses go back onto the offers' rows
    op.execute(
        "UPDATE offers SET uses = uses + (SELECT coalesce(sum(c.uses), 0) "
        "FROM offer_use_counts c WHERE c.offer_id = offers.id)"
    )
    op.drop_table("offer_use_counts")
