"""channels that reach the customer: e-mail and Web Push deliveries, settings per site,
push subscriptions, opt-outs, customers' and templates' locales (#19)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03

Outbox events get a second mark, channels_dispatched_at, for the e-mail and push
dispatch (delivered_at stays the webhooks'). Events written before this migration are
marked dispatched here: nobody is mailed about their past.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import loyalty_gql.db.types

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _at(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, loyalty_gql.db.types.UTCDateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="RESTRICT"
    )


def upgrade() -> None:
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.add_column(_at("channels_dispatched_at", nullable=True))
        batch_op.create_index(
            "ix_outbox_events_channels_undispatched", ["channels_dispatched_at", "id"]
        )
    events = sa.table(
        "outbox_events", sa.column("created_at", sa.DateTime), sa.column("channels_dispatched_at")
    )
    op.execute(events.update().values(channels_dispatched_at=events.c.created_at))
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=35), nullable=True))
    with op.batch_alter_table("notification_templates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("locale", sa.String(length=35), server_default=sa.text("''"), nullable=False)
        )
        batch_op.drop_constraint("uq_notification_templates_site_event", type_="unique")
        batch_op.create_unique_constraint(
            "uq_notification_templates_site_event_locale", ["site_id", "event", "locale"]
        )
    op.create_table(
        "channel_settings",
        sa.Column("site_id", ID, nullable=False),
        sa.Column("email_enabled", sa.Boolean(), nullable=False),
        sa.Column("email_from", sa.String(length=320), nullable=True),
        sa.Column("email_events", JSON, nullable=False),
        sa.Column("push_enabled", sa.Boolean(), nullable=False),
        sa.Column("push_events", JSON, nullable=False),
        sa.Column("push_link", sa.Text(), nullable=False),
        sa.Column("vapid_private_key", sa.Text(), nullable=True),
        sa.Column("vapid_subject", sa.String(length=320), nullable=True),
        _at("updated_at"),
        _fk("channel_settings", "site_id", "sites"),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_channel_settings")),
    )
    op.create_table(
        "push_subscriptions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("site_id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("endpoint", sa.String(length=2000), nullable=False),
        sa.Column("p256dh", sa.String(length=200), nullable=False),
        sa.Column("auth", sa.String(length=100), nullable=False),
        _at("created_at"),
        _fk("push_subscriptions", "customer_id", "customers"),
        _fk("push_subscriptions", "site_id", "sites"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint(
            "customer_id", "endpoint", name="uq_push_subscriptions_customer_endpoint"
        ),
    )
    op.create_table(
        "channel_opt_outs",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("site_id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        _at("created_at"),
        _fk("channel_opt_outs", "customer_id", "customers"),
        _fk("channel_opt_outs", "site_id", "sites"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_opt_outs")),
        sa.UniqueConstraint(
            "customer_id", "channel", "category", name="uq_channel_opt_outs_customer"
        ),
    )
    op.create_table(
        "channel_deliveries",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("site_id", ID, nullable=False),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=2000), nullable=False),
        sa.Column("subscription_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.String(length=250), nullable=False),
        sa.Column("body", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _at("next_attempt_at"),
        _at("lease_until", nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _at("created_at"),
        _at("delivered_at", nullable=True),
        sa.CheckConstraint(
            "status IN ('PENDING', 'DELIVERED', 'DEAD')", name=op.f("ck_channel_deliveries_status")
        ),
        sa.CheckConstraint(
            "channel IN ('EMAIL', 'PUSH')", name=op.f("ck_channel_deliveries_channel")
        ),
        _fk("channel_deliveries", "customer_id", "customers"),
        _fk("channel_deliveries", "event_id", "outbox_events"),
        _fk("channel_deliveries", "site_id", "sites"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_deliveries")),
        sa.UniqueConstraint("event_id", "channel", "target", name="uq_channel_deliveries_event"),
    )
    with op.batch_alter_table("channel_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_channel_deliveries_due", ["status", "next_attempt_at", "id"])
        batch_op.create_index("ix_channel_deliveries_site", ["site_id", "id"])


def downgrade() -> None:
    op.drop_table("channel_deliveries")
    op.drop_table("channel_opt_outs")
    op.drop_table("push_subscriptions")
    op.drop_table("channel_settings")
    with op.batch_alter_table("notification_templates", schema=None) as batch_op:
        batch_op.drop_constraint("uq_notification_templates_site_event_locale", type_="unique")
        batch_op.create_unique_constraint(
            "uq_notification_templates_site_event", ["site_id", "event"]
        )
        batch_op.drop_column("locale")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("locale")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_events_channels_undispatched")
        batch_op.drop_column("channels_dispatched_at")
