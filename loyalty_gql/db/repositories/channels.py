"""E-mail and Web Push: sites' settings, subscriptions, opt-outs, deliveries and attempts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update

from loyalty_gql.db.dialect import insert_for
from loyalty_gql.db.models import (
    ChannelDeliveryRow,
    ChannelOptOutRow,
    ChannelSettingsRow,
    OutboxEventRow,
    PushSubscriptionRow,
)
from loyalty_gql.db.paging import Window, windowed
from loyalty_gql.db.repositories.webhooks import Attempt
from loyalty_gql.db.session import Session
from loyalty_gql.domain.webhooks.deliveries import DeliveryStatus


async def settings_of_site(
    session: Session, site_id: int, *, lock: bool = False
) -> ChannelSettingsRow | None:
    """The site's channel settings (none stored: every channel off)."""
    query = select(ChannelSettingsRow).where(ChannelSettingsRow.site_id == site_id)
    if lock:
        query = query.with_for_update()
    row: ChannelSettingsRow | None = await session.scalar(query)
    return row


async def settings_of_sites(
    session: Session, site_ids: Iterable[int]
) -> dict[int, ChannelSettingsRow]:
    """Channel settings keyed by site."""
    rows = await session.scalars(
        select(ChannelSettingsRow).where(ChannelSettingsRow.site_id.in_(list(site_ids)))
    )
    return {row.site_id: row for row in rows}


async def undispatched_events(session: Session, *, limit: int, lock: bool) -> list[OutboxEventRow]:
    """The oldest outbox events not yet turned into e-mail and push deliveries; with
    ``lock`` (PostgreSQL) locked, skipping those another worker holds."""
    query = (
        select(OutboxEventRow)
        .where(OutboxEventRow.channels_dispatched_at.is_(None))
        .order_by(OutboxEventRow.id)
        .limit(limit)
    )
    if lock:
        query = query.with_for_update(skip_locked=True)
    return list(await session.scalars(query))


async def opt_outs_of_customers(
    session: Session, customer_ids: Sequence[int]
) -> dict[int, set[tuple[str, str]]]:
    """(channel, category) pairs each customer opted out of."""
    found: dict[int, set[tuple[str, str]]] = {}
    if not customer_ids:
        return found
    rows = await session.scalars(
        select(ChannelOptOutRow).where(ChannelOptOutRow.customer_id.in_(customer_ids))
    )
    for row in rows:
        found.setdefault(row.customer_id, set()).add((row.channel, row.category))
    return found


async def add_opt_out(session: Session, values: dict[str, Any]) -> None:
    """Record an opt-out (column values); one already there stays as it is."""
    insert = insert_for(session)
    await session.execute(insert(ChannelOptOutRow).values(**values).on_conflict_do_nothing())


async def subscriptions_of_customers(
    session: Session, customer_ids: Sequence[int]
) -> dict[int, list[PushSubscriptionRow]]:
    """Each customer's push subscriptions, oldest first."""
    found: dict[int, list[PushSubscriptionRow]] = {}
    if not customer_ids:
        return found
    rows = await session.scalars(
        select(PushSubscriptionRow)
        .where(PushSubscriptionRow.customer_id.in_(customer_ids))
        .order_by(PushSubscriptionRow.id)
    )
    for row in rows:
        found.setdefault(row.customer_id, []).append(row)
    return found


async def subscription_of(
    session: Session, customer_id: int, endpoint: str
) -> PushSubscriptionRow | None:
    """The customer's subscription at ``endpoint``."""
    row: PushSubscriptionRow | None = await session.scalar(
        select(PushSubscriptionRow).where(
            PushSubscriptionRow.customer_id == customer_id,
            PushSubscriptionRow.endpoint == endpoint,
        )
    )
    return row


async def remove_subscription(session: Session, subscription_id: int) -> None:
    """Forget a subscription (gone at the push service, or removed by the customer)."""
    await session.execute(
        delete(PushSubscriptionRow)
        .where(PushSubscriptionRow.id == subscription_id)
        .execution_options(synchronize_session=False)
    )


async def add_deliveries(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert deliveries (column values), skipping any an event has for its channel and
    address already."""
    insert = insert_for(session)
    await session.execute(insert(ChannelDeliveryRow).values(rows).on_conflict_do_nothing())


async def due_deliveries(
    session: Session, now: datetime, *, limit: int, lock: bool
) -> list[ChannelDeliveryRow]:
    """Up to ``limit`` pending deliveries due by ``now`` whose lease (if any) ran out,
    earliest first; with ``lock`` (PostgreSQL) locked, skipping those another worker holds."""
    query = (
        select(ChannelDeliveryRow)
        .where(
            ChannelDeliveryRow.status == DeliveryStatus.PENDING,
            ChannelDeliveryRow.next_attempt_at <= now,
            or_(
                ChannelDeliveryRow.lease_until.is_(None),
                ChannelDeliveryRow.lease_until <= now,
            ),
        )
        .order_by(ChannelDeliveryRow.next_attempt_at, ChannelDeliveryRow.id)
        .limit(limit)
    )
    if lock:
        query = query.with_for_update(skip_locked=True)
    return list(await session.scalars(query))


async def record_attempt(
    session: Session, delivery_id: int, lease_until: datetime, attempt: Attempt
) -> None:
    """Write an attempt's outcome onto the delivery, only while the lease ``lease_until``
    is still the delivery's."""
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
        update(ChannelDeliveryRow)
        .where(ChannelDeliveryRow.id == delivery_id, ChannelDeliveryRow.lease_until == lease_until)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def delivery_by_id(session: Session, delivery_id: int) -> ChannelDeliveryRow | None:
    """One delivery."""
    return await session.get(ChannelDeliveryRow, delivery_id)


async def deliveries_page(
    session: Session,
    site_id: int,
    window: Window,
    *,
    channel: str | None = None,
    status: DeliveryStatus | None = None,
) -> list[ChannelDeliveryRow]:
    """A window of the site's e-mail and push deliveries, newest first."""
    query = select(ChannelDeliveryRow).where(ChannelDeliveryRow.site_id == site_id)
    if channel is not None:
        query = query.where(ChannelDeliveryRow.channel == channel)
    if status is not None:
        query = query.where(ChannelDeliveryRow.status == status)
    return list(
        await session.scalars(windowed(query, ChannelDeliveryRow.id, window, descending=True))
    )


async def release(session: Session, delivery_id: int, lease_until: datetime) -> None:
    """Give back a claimed delivery this worker will not send (while the lease is still
    ours): its attempt is not counted."""
    await session.execute(
        update(ChannelDeliveryRow)
        .where(ChannelDeliveryRow.id == delivery_id, ChannelDeliveryRow.lease_until == lease_until)
        .values(lease_until=None, attempts=ChannelDeliveryRow.attempts - 1)
        .execution_options(synchronize_session=False)
    )


async def subscriptions_by_ids(
    session: Session, ids: Sequence[int]
) -> dict[int, PushSubscriptionRow]:
    """Push subscriptions keyed by id (removed ones are missing)."""
    if not ids:
        return {}
    rows = await session.scalars(select(PushSubscriptionRow).where(PushSubscriptionRow.id.in_(ids)))
    return {row.id: row for row in rows}


async def remove_opt_out(session: Session, customer_id: int, channel: str, category: str) -> None:
    """Take back an opt-out (none there: nothing changes)."""
    await session.execute(
        delete(ChannelOptOutRow)
        .where(
            ChannelOptOutRow.customer_id == customer_id,
            ChannelOptOutRow.channel == channel,
            ChannelOptOutRow.category == category,
        )
        .execution_options(synchronize_session=False)
    )
