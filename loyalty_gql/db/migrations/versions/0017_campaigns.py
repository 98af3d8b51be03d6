"""campaigns and campaign_awards; sites.campaigns_version, orders.campaign_points

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02

Campaigns are a site's earning rules (domain/campaigns.py); each award is unique on
(campaign, source key), so an event is awarded once. The budget is spent by a
conditional UPDATE and kept within by a CHECK. `sites.campaigns_version` is bumped by
every campaign change (the per-process index is rebuilt; 0: pricing skips campaigns
without a statement); `orders.campaign_points` lets an order's later steps skip them.
`orders.referral_id` and `referrals.rewarded_order_id` name the order that rewarded a
referral (plain ids: a foreign key each way would make the two tables a cycle).

Written as 0015 on a branch; it landed after 0016 (referral codes), so it follows it and
0015 is unused.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import loyalty_gql.db.types

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
                  nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("trigger", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("exclusive", sa.Boolean(), nullable=False),
        sa.Column("conditions", loyalty_gql.db.types.JSONDoc, nullable=False),
        sa.Column("effect", loyalty_gql.db.types.JSONDoc, nullable=False),
        sa.Column("limits", loyalty_gql.db.types.JSONDoc, nullable=False),
        sa.Column("budget_points", sa.BigInteger(), nullable=True),
        sa.Column("budget_spent", sa.BigInteger(), nullable=False),
        sa.Column("created_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('DRAFT', 'LIVE', 'DELETED')", name=op.f("ck_campaigns_status")),
        sa.CheckConstraint("budget_spent >= 0", name=op.f("ck_campaigns_budget_spent_not_negative")),
        sa.CheckConstraint(
            "budget_points IS NULL OR budget_spent <= budget_points",
            name=op.f("ck_campaigns_budget_within"),
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_campaigns_site_id_sites"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )  # fmt: skip
    op.create_index("ix_campaigns_site_status", "campaigns", ["site_id", "status", "id"])
    op.create_table(
        "campaign_awards",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
                  nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("ledger_entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("activate_entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=True),
        sa.Column("voucher_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=True),
        sa.Column("trigger", sa.String(length=24), nullable=False),
        sa.Column("source_key", sa.String(length=250), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("points_taken_back", sa.BigInteger(), nullable=False),
        sa.Column("qualifying", loyalty_gql.db.types.JSONDoc, nullable=True),
        sa.Column("cancelled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("awarded_at", loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"],
                                name=op.f("fk_campaign_awards_site_id_sites"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"],
                                name=op.f("fk_campaign_awards_campaign_id_campaigns"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"],
                                name=op.f("fk_campaign_awards_customer_id_customers"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"],
                                name=op.f("fk_campaign_awards_order_id_orders"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["ledger_entry_id"], ["ledger_entries.id"],
                                name=op.f("fk_campaign_awards_ledger_entry_id_ledger_entries"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["activate_entry_id"], ["ledger_entries.id"],
                                name=op.f("fk_campaign_awards_activate_entry_id_ledger_entries"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["voucher_id"], ["vouchers.id"],
                                name=op.f("fk_campaign_awards_voucher_id_vouchers"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_awards")),
        sa.UniqueConstraint("campaign_id", "source_key", name="uq_campaign_awards_source"),
    )  # fmt: skip
    op.create_index(
        "ix_campaign_awards_customer",
        "campaign_awards",
        ["campaign_id", "customer_id", "awarded_at"],
    )
    op.create_index("ix_campaign_awards_order", "campaign_awards", ["order_id"])
    with op.batch_alter_table("sites") as batch:
        batch.add_column(
            sa.Column(
                "campaigns_version", sa.Integer(), server_default=sa.text("0"), nullable=False
            )
        )
    op.add_column(
        "orders",
        sa.Column("campaign_points", sa.BigInteger(), server_default="0", nullable=False),
    )
    # which order rewarded a referral (its referrer's base points and referral campaigns),
    # both ways: a link is rewarded once, and a cancelled order finds its link
    op.add_column("orders", sa.Column("referral_id", sa.BigInteger(), nullable=True))
    op.add_column("referrals", sa.Column("rewarded_order_id", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE referrals SET rewarded_order_id = (SELECT o.id FROM orders o"
        " WHERE o.referral_entry_id = referrals.rewarded_entry_id)"
        " WHERE rewarded_entry_id IS NOT NULL"
    )
    op.execute(
        "UPDATE orders SET referral_id = (SELECT r.id FROM referrals r"
        " WHERE r.rewarded_entry_id = orders.referral_entry_id)"
        " WHERE referral_entry_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("referrals") as batch:
        batch.drop_column("rewarded_order_id")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("referral_id")
        batch.drop_column("campaign_points")
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("campaigns_version")
    op.drop_index("ix_campaign_awards_order", table_name="campaign_awards")
    op.drop_index("ix_campaign_awards_customer", table_name="campaign_awards")
    op.drop_table("campaign_awards")
    op.drop_index("ix_campaigns_site_status", table_name="campaigns")
    op.drop_table("campaigns")
