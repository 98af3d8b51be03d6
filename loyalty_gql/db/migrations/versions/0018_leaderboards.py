"""leaderboards: boards, scores per period, score counts by levels, prizes given;
customers' display name and opt-in; sites' live board count, version and label key

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02

The storage of docs/ARCHITECTURE.md "Gamification (design)": a score row per (board,
period, customer) while above 0, indexed in display order, and the customers per score
bucket at three levels (score >> 0, >> 8, >> 16), so a rank is one statement summing a
bounded number of rows. Existing sites get a random key for the anonymous labels.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import loyalty_gql.db.types

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "live_leaderboards", sa.Integer(), server_default=sa.text("0"), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column(
                "leaderboards_version", sa.Integer(), server_default=sa.text("0"), nullable=False
            )
        )
        batch_op.add_column(sa.Column("leaderboard_label_key", sa.String(length=32), nullable=True))
    connection = op.get_bind()
    sites = sa.table("sites", sa.column("id", sa.BigInteger), sa.column("leaderboard_label_key"))
    for (site_id,) in connection.execute(sa.select(sites.c.id)).all():
        connection.execute(
            sites.update()
            .where(sites.c.id == site_id)
            .values(leaderboard_label_key=secrets.token_hex(16))
        )
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.alter_column(
            "leaderboard_label_key", existing_type=sa.String(length=32), nullable=False
        )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("display_name", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("leaderboard_opt_in", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "leaderboards",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("site_id", BigId, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("metric", sa.String(length=24), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("starts_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ends_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("neighbours", sa.Integer(), nullable=False),
        sa.Column(
            "prizes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("min_score", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("awarded_until", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("published_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "metric IN ('POINTS_EARNED', 'AMOUNT_SPENT', 'CHALLENGES_COMPLETED')",
            name=op.f("ck_leaderboards_metric"),
        ),
        sa.CheckConstraint(
            "period IN ('WEEK', 'MONTH', 'ALL_TIME', 'CUSTOM')", name=op.f("ck_leaderboards_period")
        ),
        sa.CheckConstraint("status IN ('DRAFT', 'LIVE')", name=op.f("ck_leaderboards_status")),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_leaderboards_site_id_sites"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leaderboards")),
        sa.UniqueConstraint("site_id", "code", name="uq_leaderboards_site_code"),
    )
    op.create_index("ix_leaderboards_site_id", "leaderboards", ["site_id", "id"])
    op.create_table(
        "leaderboard_scores",
        sa.Column("leaderboard_id", BigId, nullable=False),
        sa.Column("period_key", sa.String(length=16), nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("score", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["leaderboard_id"],
            ["leaderboards.id"],
            name=op.f("fk_leaderboard_scores_leaderboard_id_leaderboards"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_leaderboard_scores_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "leaderboard_id", "period_key", "customer_id", name=op.f("pk_leaderboard_scores")
        ),
    )
    op.create_index(
        "ix_leaderboard_scores_order",
        "leaderboard_scores",
        ["leaderboard_id", "period_key", "score", "customer_id"],
    )
    op.create_table(
        "leaderboard_score_counts",
        sa.Column("leaderboard_id", BigId, nullable=False),
        sa.Column("period_key", sa.String(length=16), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("customers", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["leaderboard_id"],
            ["leaderboards.id"],
            name=op.f("fk_leaderboard_score_counts_leaderboard_id_leaderboards"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "leaderboard_id",
            "period_key",
            "level",
            "bucket",
            name=op.f("pk_leaderboard_score_counts"),
        ),
    )
    op.create_table(
        "leaderboard_awards",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("site_id", BigId, nullable=False),
        sa.Column("leaderboard_id", BigId, nullable=False),
        sa.Column("period_key", sa.String(length=16), nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("ledger_entry_id", BigId, nullable=True),
        sa.Column("created_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_leaderboard_awards_site_id_sites"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["leaderboard_id"],
            ["leaderboards.id"],
            name=op.f("fk_leaderboard_awards_leaderboard_id_leaderboards"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_leaderboard_awards_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["ledger_entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_leaderboard_awards_ledger_entry_id_ledger_entries"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leaderboard_awards")),
        sa.UniqueConstraint(
            "leaderboard_id", "period_key", "customer_id", name="uq_leaderboard_awards_once"
        ),
    )
    op.create_index("ix_leaderboard_awards_customer", "leaderboard_awards", ["customer_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_leaderboard_awards_customer", table_name="leaderboard_awards")
    op.drop_table("leaderboard_awards")
    op.drop_table("leaderboard_score_counts")
    op.drop_index("ix_leaderboard_scores_order", table_name="leaderboard_scores")
    op.drop_table("leaderboard_scores")
    op.drop_index("ix_leaderboards_site_id", table_name="leaderboards")
    op.drop_table("leaderboards")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("leaderboard_opt_in")
        batch_op.drop_column("display_name")
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("leaderboard_label_key")
        batch_op.drop_column("leaderboards_version")
        batch_op.drop_column("live_leaderboards")
