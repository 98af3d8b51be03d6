"""Notification templates per site and event, and the outbox events they render."""

from __future__ import annotations

from sqlalchemy import select

from loyalty_gql.db.models import NotificationTemplateRow, OutboxEventRow
from loyalty_gql.db.session import Session


async def template_for_event(
    session: Session, site_id: int, event: str, *, lock: bool = False
) -> NotificationTemplateRow | None:
    """The site's stored template for ``event``, optionally locked for update."""
    query = select(NotificationTemplateRow).where(
        NotificationTemplateRow.site_id == site_id, NotificationTemplateRow.event == event
    )
    if lock:
        query = query.with_for_update()
    row: NotificationTemplateRow | None = await session.scalar(query)
    return row


async def templates_of_site(session: Session, site_id: int) -> list[NotificationTemplateRow]:
    """Every template the site stored."""
    rows = await session.scalars(
        select(NotificationTemplateRow).where(NotificationTemplateRow.site_id == site_id)
    )
    return list(rows)


async def template_by_id(session: Session, template_id: int) -> NotificationTemplateRow | None:
    """One stored template."""
    return await session.get(NotificationTemplateRow, template_id)


async def outbox_event_by_id(session: Session, event_id: int) -> OutboxEventRow | None:
    """One outbox event."""
    return await session.get(OutboxEventRow, event_id)
