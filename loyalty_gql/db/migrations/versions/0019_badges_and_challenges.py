"""badges and challenges: badge types, customers' badges, challenges, their facts,
progress and completions; customers' and offers' badge codes, sites' live challenges

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03

docs/ARCHITECTURE.md "Badges and challenges". A completion is unique per (challenge,
customer, number), so concurrent orders reward it exactly once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import loyalty_gql.db.types

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
When = loyalty_gql.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("live_challenges", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("badge_codes", JSON, server_default=sa.text("'[]'"), nullable=False)
        )
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("badge_codes", JSON, server_default=sa.text("'[]'"), nullable=False)
        )
    op.create_table(
        "badge_types",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("site_id", BigId, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("image_url", sa.String(length=2000), nullable=True),
        sa.Column("visibility", sa.String(length=24), nullable=False),
        sa.Column("how_to_earn", sa.Text(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.CheckConstraint(
            "visibility IN ('HIDDEN_UNTIL_EARNED', 'VISIBLE_LOCKED')",
            name=op.f("ck_badge_types_visibility"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_badge_types_site_id_sites"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_badge_types")),
        sa.UniqueConstraint("site_id", "code", name="uq_badge_types_site_code"),
    )
    op.create_table(
        "customer_badges",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("site_id", BigId, nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("badge_type_id", BigId, nullable=False),
        sa.Column("granted_at", When, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("granted_by", sa.String(length=200), nullable=False),
        sa.Column("revoked_at", When, nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "source IN ('CHALLENGE', 'ADMIN', 'CAMPAIGN')", name=op.f("ck_customer_badges_source")
        ),
        sa.ForeignKeyConstraint(
            ["badge_type_id"],
            ["badge_types.id"],
            name=op.f("fk_customer_badges_badge_type_id_badge_types"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_badges_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_customer_badges_site_id_sites"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_badges")),
        sa.UniqueConstraint("customer_id", "badge_type_id", name="uq_customer_badges_once"),
    )
    op.create_index(
        "ix_customer_badges_holders", "customer_badges", ["badge_type_id", "revoked_at"]
    )
    op.create_table(
        "challenges",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("site_id", BigId, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("goal_kind", sa.String(length=24), nullable=False),
        sa.Column("counts", sa.String(length=16), nullable=False),
        sa.Column("activity_code", sa.String(length=64), nullable=True),
        sa.Column("categories", JSON, nullable=False),
        sa.Column("streak_unit", sa.String(length=8), nullable=True),
        sa.Column("target", sa.BigInteger(), nullable=False),
        sa.Column("starts_at", When, nullable=True),
        sa.Column("ends_at", When, nullable=True),
        sa.Column("rolling_days", sa.Integer(), nullable=True),
        sa.Column("audience_groups", JSON, nullable=False),
        sa.Column("audience_tier_ids", JSON, nullable=False),
        sa.Column("rewards", JSON, nullable=False),
        sa.Column("recurrence", sa.String(length=16), nullable=False),
        sa.Column("max_completions", sa.BigInteger(), nullable=True),
        sa.Column("reverse_on_cancel", sa.Boolean(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.CheckConstraint(
            "goal_kind IN ('COUNT', 'AMOUNT', 'DISTINCT_PRODUCTS', 'STREAK')",
            name=op.f("ck_challenges_goal_kind"),
        ),
        sa.CheckConstraint(
            "recurrence IN ('ONCE', 'REPEATEDLY')", name=op.f("ck_challenges_recurrence")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_challenges_site_id_sites"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenges")),
        sa.UniqueConstraint("site_id", "code", name="uq_challenges_site_code"),
    )
    op.create_index("ix_challenges_site_published", "challenges", ["site_id", "published"])
    op.create_table(
        "challenge_facts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("challenge_id", BigId, nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("fact_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", When, nullable=False),
        sa.Column("counts", sa.Boolean(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("lines", JSON, nullable=False),
        sa.Column("activity_code", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_challenge_facts_challenge_id_challenges"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_challenge_facts_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_facts")),
        sa.UniqueConstraint(
            "challenge_id", "customer_id", "fact_key", name="uq_challenge_facts_once"
        ),
    )
    op.create_index(
        "ix_challenge_facts_customer_key", "challenge_facts", ["customer_id", "fact_key"]
    )
    op.create_table(
        "challenge_progress",
        sa.Column("challenge_id", BigId, nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("value", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("completed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_challenge_progress_challenge_id_challenges"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_challenge_progress_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("challenge_id", "customer_id", name=op.f("pk_challenge_progress")),
    )
    op.create_table(
        "challenge_completions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("site_id", BigId, nullable=False),
        sa.Column("challenge_id", BigId, nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("completed_at", When, nullable=False),
        sa.Column("fact_key", sa.String(length=200), nullable=True),
        sa.Column("ledger_entry_id", BigId, nullable=True),
        sa.Column("voucher_ids", JSON, nullable=False),
        sa.Column("badge_codes", JSON, nullable=False),
        sa.Column("reversed_at", When, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_challenge_completions_challenge_id_challenges"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_challenge_completions_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["ledger_entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_challenge_completions_ledger_entry_id_ledger_entries"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_challenge_completions_site_id_sites"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_completions")),
        sa.UniqueConstraint(
            "challenge_id", "customer_id", "number", name="uq_challenge_completions_once"
        ),
    )
    op.create_index(
        "ix_challenge_completions_challenge", "challenge_completions",
        ["challenge_id", "reversed_at"],
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_challenge_completions_challenge", table_name="challenge_completions")
    op.drop_table("challenge_completions")
    op.drop_table("challenge_progress")
    op.drop_index("ix_challenge_facts_customer_key", table_name="challenge_facts")
    op.drop_table("challenge_facts")
    op.drop_index("ix_challenges_site_published", table_name="challenges")
    op.drop_table("challenges")
    op.drop_index("ix_customer_badges_holders", table_name="customer_badges")
    op.drop_table("customer_badges")
    op.drop_table("badge_types")
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_column("badge_codes")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("badge_codes")
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("live_challenges")
