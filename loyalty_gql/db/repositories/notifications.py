"""Notification templates per site and event, and the outbox events they render."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func, select

from loyalty_gql.db.models import NotificationTemplateRow, OutboxEventRow
from loyalty_gql.db.paging import Window, windowed
from loyalty_gql.db.session import Session


async def template_for_event(
    session: Session, site_id: int, event: str, *, lock: bool = False, locale: str = ""
) -> NotificationTemplateRow | None:
    """The site's stored template for ``event`` (in ``locale``; "" is the site's own),
    optionally locked for update."""
    query = select(NotificationTemplateRow).where(
        NotificationTemplateRow.site_id == site_id,
        NotificationTemplateRow.event == event,
        NotificationTemplateRow.locale == locale,
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


async def outbox_events_by_ids(session: Session, ids: Sequence[int]) -> dict[int, OutboxEventRow]:
    """Outbox events keyed by id, in one query."""
    rows = await session.scalars(select(OutboxEventRow).where(OutboxEventRow.id.in_(ids)))
    return {row.id: row for row in rows}


async def site_events_page(
    session: Session,
    site_id: int,
    window: Window,
    *,
    kinds: Sequence[str] | None = None,
    customer_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[OutboxEventRow]:
    """A window of a site's outbox events, newest first, filtered (along the site's, the
    site and kind's or the customer's index)."""
    query = select(OutboxEventRow).where(OutboxEventRow.site_id == site_id)
    if kinds:
        query = query.where(OutboxEventRow.kind.in_(kinds))
    if customer_id is not None:
        query = query.where(OutboxEventRow.customer_id == customer_id)
    if since is not None:
        query = query.where(OutboxEventRow.created_at >= since)
    if until is not None:
        query = query.where(OutboxEventRow.created_at < until)
    return list(await session.scalars(windowed(query, OutboxEventRow.id, window, descending=True)))


async def site_events_by_ids(
    session: Session, site_id: int, ids: Sequence[int], kinds: Collection[str] | None
) -> list[OutboxEventRow]:
    """The site's outbox events among ``ids`` (of ``kinds`` when given), in the order of
    ``ids``; ids of other sites' events are left out."""
    if not ids:
        return []
    query = select(OutboxEventRow).where(
        OutboxEventRow.site_id == site_id, OutboxEventRow.id.in_(sorted(set(ids)))
    )
    if kinds is not None:
        query = query.where(OutboxEventRow.kind.in_(sorted(kinds)))
    found = {row.id: row for row in await session.scalars(query)}
    return [found[i] for i in dict.fromkeys(ids) if i in found]


async def site_events_after(
    session: Session, site_id: int, after_id: int, kinds: Collection[str] | None, limit: int
) -> list[OutboxEventRow]:
    """The site's outbox events with ids above ``after_id``, oldest first."""
    query = (
        select(OutboxEventRow)
        .where(OutboxEventRow.site_id == site_id, OutboxEventRow.id > after_id)
        .order_by(OutboxEventRow.id)
        .limit(limit)
    )
    if kinds is not None:
        query = query.where(OutboxEventRow.kind.in_(sorted(kinds)))
    return list(await session.scalars(query))


async def newest_event_id(session: Session) -> int:
    """The id of the newest outbox event of any site (0 when there is none): where a
    subscriber's catch-up reads start (the primary key answers it, whatever the site)."""
    newest = await session.scalar(select(func.max(OutboxEventRow.id)))
    return int(newest or 0)
