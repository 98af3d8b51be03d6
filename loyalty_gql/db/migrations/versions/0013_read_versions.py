"""customers, sites: data_version, the counter every write of what they show bumps

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

The response cache of customer reads (api/response_cache.py) keeps an answer while
the customer's and the site's data_version are what they were when it was computed.
Every write transaction bumps them at commit for the customers and sites whose rows it
wrote (db/versions.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("customers", "sites"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "data_version", sa.BigInteger(), server_default=sa.text("0"), nullable=False
                )
            )


def downgrade() -> None:
    for table in ("customers", "sites"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("data_version")
