"""customers: referral codes and birth dates; sites: the referral cap and welcome offer

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-02

Every customer gets a personal referral code (8 characters of the voucher alphabet,
unique per site); existing customers get one here. Birth dates are a month and a day,
the year optional, indexed by (site, month, day) for the birthday job. Referrals are
counted per referrer and month for the cap, so their referrer index gains the time.
Nothing here depends on the campaigns tables.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None

# the alphabet of loyalty_gql.domain.codes, copied: a migration must not change later
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("referral_code", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("birth_month", sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column("birth_day", sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column("birth_year", sa.SmallInteger(), nullable=True))
    _backfill_referral_codes()
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.alter_column("referral_code", existing_type=sa.String(length=16), nullable=False)
        batch_op.create_unique_constraint(
            "uq_customers_site_referral_code", ["site_id", "referral_code"]
        )
        batch_op.create_check_constraint(
            op.f("ck_customers_birth_date_parts"),
            "(birth_month IS NULL) = (birth_day IS NULL)"
            " AND (birth_year IS NULL OR birth_month IS NOT NULL)",
        )
        batch_op.create_check_constraint(
            op.f("ck_customers_birth_date_range"),
            "birth_month IS NULL OR (birth_month BETWEEN 1 AND 12 AND birth_day BETWEEN 1 AND 31)",
        )
        batch_op.create_index(
            "ix_customers_site_birthday", ["site_id", "birth_month", "birth_day", "id"]
        )
    op.drop_index("ix_referrals_referrer", table_name="referrals")
    op.create_index("ix_referrals_referrer_created", "referrals", ["referrer_id", "created_at"])
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("referral_monthly_cap", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("referral_welcome_offer_id", sa.BigInteger(), nullable=True))


def _backfill_referral_codes() -> None:
    connection = op.get_bind()
    customers = sa.table(
        "customers",
        sa.column("id", sa.BigInteger),
        sa.column("site_id", sa.BigInteger),
        sa.column("referral_code", sa.String),
    )
    taken: set[tuple[int, str]] = set()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(customers.c.id, customers.c.site_id)
            .where(customers.c.id > last)
            .order_by(customers.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for customer_id, site_id in rows:
            code = _fresh_code(site_id, taken)
            connection.execute(
                customers.update().where(customers.c.id == customer_id).values(referral_code=code)
            )
        last = rows[-1][0]


def _fresh_code(site_id: int, taken: set[tuple[int, str]]) -> str:
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(8))
        if (site_id, code) not in taken:
            taken.add((site_id, code))
            return code


def downgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("referral_welcome_offer_id")
        batch_op.drop_column("referral_monthly_cap")
    op.drop_index("ix_referrals_referrer_created", table_name="referrals")
    op.create_index("ix_referrals_referrer", "referrals", ["referrer_id"])
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_site_birthday")
        batch_op.drop_constraint(op.f("ck_customers_birth_date_range"), type_="check")
        batch_op.drop_constraint(op.f("ck_customers_birth_date_parts"), type_="check")
        batch_op.drop_constraint(op.f("uq_customers_site_referral_code"), type_="unique")
        batch_op.drop_column("birth_year")
        batch_op.drop_column("birth_day")
        batch_op.drop_column("birth_month")
        batch_op.drop_column("referral_code")
