"""sites: the timezone whose calendar days points expire on and are warned on

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

Existing sites get UTC. Stored expiries keep their moment: the calendar-day rule
applies to points earned (and orders placed) from now on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "timezone", sa.String(length=64), server_default=sa.text("'UTC'"), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("timezone")
