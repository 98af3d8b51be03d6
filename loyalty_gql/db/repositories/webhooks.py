"""Webhook endpoints, the deliveries of outbox events to them, and their attempts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update

from loyalty_gql.db.dialect import insert_for
from loyalty_gql.db.models import OutboxEventRow, WebhookDeliveryRow, WebhookEndpointRow
from loyalty_gql.db.paging import Window, windowed
from loyalty_gql.db.session import Session
from loyalty_gql.domain.webhooks.deliveries import DeliveryStatus


async def endpoint_by_id(session: Session, endpoint_id: int) -> WebhookEndpointRow | None:
    """One endpoint."""
    return await session.get(WebhookEndpointRow, endpoint_id)


async def endpoints_by_ids(session: Session, ids: Sequence[int]) -> dict[int, WebhookEndpointRow]:
    """Endpoints keyed by id."""
    rows = await session.scalars(select(WebhookEndpointRow).where(WebhookEndpointRow.id.in_(ids)))
    return {row.id: row for row in rows}


async def delivery_by_id(session: Session, delivery_id: int) -> WebhookDeliveryRow | None:
    """One delivery."""
    return await session.get(WebhookDeliveryRow, delivery_id)


async def endpoint_ids_of_site(session: Session, site_id: int) -> list[int]:
    """The ids of every endpoint of the site, enabled or not."""
    return list(
        await session.scalars(
            select(WebhookEndpointRow.id).where(WebhookEndpointRow.site_id == site_id)
        )
    )


async def endpoints_of_site(session: Session, site_id: int) -> list[WebhookEndpointRow]:
    """The site's endpoints, oldest first."""
    rows = await session.scalars(
        select(WebhookEndpointRow)
        .where(WebhookEndpointRow.site_id == site_id)
        .order_by(WebhookEndpointRow.id)
    )
    return list(rows)


async def enabled_endpoints_of_sites(
    session: Session, site_ids: Iterable[int]
) -> list[WebhookEndpointRow]:
    """The switched-on endpoints of these sites."""
    rows = await session.scalars(
        select(WebhookEndpointRow).where(
            WebhookEndpointRow.site_id.in_(site_ids), WebhookEndpointRow.enabled.is_(True)
        )
    )
    return list(rows)


async def deliveries_page(
    session: Session, site_id: int, window: Window, *, status: DeliveryStatus | None
) -> list[WebhookDeliveryRow]:
    """A window of the site's deliveries (in ``status`` if given), newest first."""
    query = select(WebhookDeliveryRow).where(WebhookDeliveryRow.site_id == site_id)
    if status is not None:
        query = query.where(WebhookDeliveryRow.status == status)
    return list(
        await session.scalars(windowed(query, WebhookDeliveryRow.id, window, descending=True))
    )


async def undispatched_events(session: Session, *, limit: int, lock: bool) -> list[OutboxEventRow]:
    """The oldest outbox events not yet turned into deliveries; with ``lock`` (PostgreSQL)
    locked for update, skipping those another worker holds."""
    query = (
        select(OutboxEventRow)
        .where(OutboxEventRow.delivered_at.is_(None))
        .order_by(OutboxEventRow.id)
        .limit(limit)
    )
    if lock:
        query = query.with_for_update(skip_locked=True)
    return list(await session.scalars(query))


async def add_deliveries(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert deliveries (column values), skipping any an endpoint has for its event."""
    insert = insert_for(session)
    await session.execute(insert(WebhookDeliveryRow).values(rows).on_conflict_do_nothing())


async def due_deliveries(
    session: Session, now: datetime, *, limit: int, lock: bool
) -> list[tuple[WebhookDeliveryRow, WebhookEndpointRow]]:
    """Up to ``limit`` pending deliveries due by ``now`` whose lease (if any) ran out, to
    switched-on endpoints, earliest first, each with its endpoint; with ``lock``
    (PostgreSQL) the deliveries are locked, skipping those another worker holds."""
    query = (
        select(WebhookDeliveryRow, WebhookEndpointRow)
        .join(WebhookEndpointRow, WebhookEndpointRow.id == WebhookDeliveryRow.endpoint_id)
        .where(
            WebhookDeliveryRow.status == DeliveryStatus.PENDING,
            WebhookDeliveryRow.next_attempt_at <= now,
            WebhookEndpointRow.enabled.is_(True),  # a switched-off endpoint waits
            or_(
                WebhookDeliveryRow.lease_until.is_(None),
                WebhookDeliveryRow.lease_until <= now,
            ),
        )
        .order_by(WebhookDeliveryRow.next_attempt_at, WebhookDeliveryRow.id)
        .limit(limit)
    )
    if lock:
        query = query.with_for_update(skip_locked=True, of=WebhookDeliveryRow)
    return [(delivery, endpoint) for delivery, endpoint in await session.execute(query)]


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one delivery attempt leaves on the delivery: its count and answer, and either
    the delivery's end (``status``, with ``delivered_at`` when it arrived) or when it is
    tried again (``next_attempt_at``)."""

    attempts: int
    status_code: int | None
    error: str | None
    status: DeliveryStatus | None = None
    delivered_at: datetime | None = None
    next_attempt_at: datetime | None = None


async def record_attempt(
    session: Session, delivery_id: int, lease_until: datetime, attempt: Attempt
) -> None:
    """Write an attempt's outcome onto the delivery, only while the lease ``lease_until``
    is still the delivery's: after it ran out another worker owns it."""
    values: dict[str, Any] = {
        "attempts": attempt.attempts,
        "lease_until": None,
        "last_status_code": attempt.status_code,
        "last_error": attempt.error,
    }
    if attempt.status is not None:
        values["status"] = attempt.status
    if attempt.delivered_at is not None:
        values["delivered_at"] = attempt.delivered_at
    if attempt.next_attempt_at is not None:
        values["next_attempt_at"] = attempt.next_attempt_at
    await session.execute(
        update(WebhookDeliveryRow)
        .where(WebhookDeliveryRow.id == delivery_id, WebhookDeliveryRow.lease_until == lease_until)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
