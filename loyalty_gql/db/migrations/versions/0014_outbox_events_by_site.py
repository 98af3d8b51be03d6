"""outbox_events: indexes by (site, id) and (site, kind, id) for the `events` query

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

`events(siteId:, filter:)` lists a site's events newest first, all of them or of some
types, in keyset pages either way; without these it scanned the whole outbox (its
other indexes lead with the delivery time or the customer).
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_events_site", "outbox_events", ["site_id", "id"])
    op.create_index("ix_outbox_events_site_kind", "outbox_events", ["site_id", "kind", "id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_events_site_kind", table_name="outbox_events")
    op.drop_index("ix_outbox_events_site", table_name="outbox_events")
