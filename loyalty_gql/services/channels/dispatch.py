"""Turning outbox events into e-mail and push deliveries, once per event, channel and
address, each with the exact message every attempt sends."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.errors import MessageError
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import (
    ChannelSettingsRow,
    CustomerRow,
    OutboxEventRow,
    PushSubscriptionRow,
    SiteRow,
)
from loyalty_gql.db.repositories import channels as stored
from loyalty_gql.db.repositories.customers import customers_by_ids
from loyalty_gql.db.repositories.sites import sites_by_ids
from loyalty_gql.db.session import Session
from loyalty_gql.domain.channels import (
    Category,
    Channel,
    category_of,
    may_send,
    message_id,
    push_topic,
    unsubscribe_token,
)
from loyalty_gql.domain.webhooks.deliveries import DeliveryStatus
from loyalty_gql.services import notifications
from loyalty_gql.services.channels import email, push
from loyalty_gql.services.channels.config import ChannelConfig
from loyalty_gql.services.core.common import Clock
from loyalty_gql.services.core.uow import UnitOfWork

log = logging.getLogger(__name__)


async def dispatch(
    db: Database, *, clock: Clock, config: ChannelConfig, batch_size: int = 200
) -> int:
    """Turn undispatched outbox events into deliveries; returns the events handled."""
    handled = 0
    while True:
        async with UnitOfWork(db) as uow:
            now = clock()
            events = await stored.undispatched_events(
                uow.session, limit=batch_size, lock=uow.is_postgres
            )
            if not events:
                return handled
            rows = await _deliveries_for(uow.session, events, now, config)
            if rows:
                await stored.add_deliveries(uow.session, rows)
            for event in events:
                event.channels_dispatched_at = now
            await uow.commit()
            handled += len(events)


@dataclass(frozen=True, slots=True)
class _Recipient:
    """Who an event is about, and what they chose."""

    customer: CustomerRow
    opted_out: set[tuple[str, str]]
    subscriptions: list[PushSubscriptionRow]

    def accepts(self, channel: Channel, category: Category) -> bool:
        opted = {Category(c) for ch, c in self.opted_out if ch == channel}
        return may_send(
            category, marketing_consent=self.customer.marketing_consent, opted_out=opted
        )


async def _deliveries_for(
    session: Session, events: list[OutboxEventRow], now: datetime, config: ChannelConfig
) -> list[dict[str, Any]]:
    site_ids = list({e.site_id: None for e in events})
    settings = {
        site_id: row
        for site_id, row in (await stored.settings_of_sites(session, site_ids)).items()
        if row.email_enabled or row.push_enabled
    }
    wanted = [e for e in events if e.customer_id is not None and e.site_id in settings]
    if not wanted:
        return []
    sites = await sites_by_ids(session, list(settings))
    customer_ids = list({e.customer_id: None for e in wanted if e.customer_id is not None})
    customers = await customers_by_ids(session, customer_ids)
    opt_outs = await stored.opt_outs_of_customers(session, customer_ids)
    subscriptions = await stored.subscriptions_of_customers(session, customer_ids)
    templates: dict[tuple[int, str], Mapping[str, notifications.Template]] = {}
    rows: list[dict[str, Any]] = []
    for event in wanted:
        customer = customers.get(event.customer_id or 0)
        if customer is None:
            continue
        recipient = _Recipient(
            customer, opt_outs.get(customer.id, set()), subscriptions.get(customer.id, [])
        )
        site, setting = sites[event.site_id], settings[event.site_id]
        # a customer without a locale reads the site's own words (in the site's locale)
        words = (site.id, customer.locale or "")
        if words not in templates:
            templates[words] = await notifications.stored_templates(
                session, site.id, customer.locale
            )
        where = _Site(site, setting, templates[words])
        try:
            rows += await _messages(session, event, where, recipient, now=now, config=config)
        except Exception:  # one event that cannot be composed must not hold up the outbox
            log.exception("composing %s %s for the customer failed", event.kind, event.id)
    return rows


@dataclass(frozen=True, slots=True)
class _Site:
    """An event's site, its channel settings and its templates in the customer's locale."""

    site: SiteRow
    setting: ChannelSettingsRow
    templates: Mapping[str, notifications.Template]


async def _messages(
    session: Session,
    event: OutboxEventRow,
    where: _Site,
    recipient: _Recipient,
    *,
    now: datetime,
    config: ChannelConfig,
) -> list[dict[str, Any]]:
    site, setting, templates = where.site, where.setting, where.templates
    category = category_of(event.kind)
    customer = recipient.customer
    by_email = (
        setting.email_enabled
        and event.kind in setting.email_events
        and bool(customer.email)
        and recipient.accepts(Channel.EMAIL, category)
    )
    by_push = (
        setting.push_enabled
        and event.kind in setting.push_events
        and bool(recipient.subscriptions)
        and recipient.accepts(Channel.PUSH, category)
    )
    if not (by_email or by_push):
        return []
    locale = customer.locale or site.locale
    try:
        rendered = await notifications.render_event(
            session, site, event, customer, stored=templates, locale=locale
        )
    except Exception:  # a broken template must not stop the other events
        log.exception("rendering %s %s for the customer failed", event.kind, event.id)
        return []
    # every row has the same keys: the rows go in one multi-row INSERT
    base = {"site_id": site.id, "event_id": event.id, "customer_id": customer.id,
            "event": event.kind, "category": category, "status": DeliveryStatus.PENDING,
            "attempts": 0, "next_attempt_at": now, "created_at": now,
            "subscription_id": None, "last_error": None}  # fmt: skip
    rows = []
    if by_email and customer.email:
        sender = setting.email_from or config.default_sender
        mid = message_id(event.id, Channel.EMAIL, email.sender_domain(sender))
        token = unsubscribe_token(config.link_secret, customer.id, category)
        row = {**base, "channel": Channel.EMAIL, "target": customer.email, "message_id": mid}
        try:
            message = email.compose(
                sender=sender, to=customer.email, rendered=rendered, message_id=mid,
                unsubscribe_url=config.unsubscribe_url(token), at=now,
            )  # fmt: skip
        except (ValueError, MessageError) as error:  # an address SMTP cannot carry, say
            row |= {"status": DeliveryStatus.DEAD, "body": {},
                    "last_error": f"cannot compose the e-mail: {error}"[:1000]}  # fmt: skip
        else:
            row["body"] = {"from": sender, "to": customer.email, "message": message}
        rows.append(row)
    if by_push:
        link = _link(setting.push_link, event, site, customer, locale)
        content = push.payload(rendered.push_title, rendered.push_body, link)
        rows += [
            {**base, "channel": Channel.PUSH, "target": subscription.endpoint,
             "subscription_id": subscription.id, "message_id": push_topic(event.id),
             "body": content}
            for subscription in recipient.subscriptions
        ]  # fmt: skip
    return rows


def _link(
    source: str, event: OutboxEventRow, site: SiteRow, customer: CustomerRow, locale: str
) -> str:
    if not source:
        return ""
    values = notifications.variables(
        event.kind, event.payload or {}, customer.name, customer.email, site.name, locale,
        site.currency,
    )  # fmt: skip
    try:
        return notifications.render_line(source, values)
    except Exception:  # a broken link template leaves the message without a link
        log.exception("rendering the push link of site %s failed", site.id)
        return ""
