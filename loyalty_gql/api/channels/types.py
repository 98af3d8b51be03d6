"""E-mail and Web Push as GraphQL types: a site's settings, deliveries, subscriptions."""

from __future__ import annotations

from datetime import datetime

import strawberry

from loyalty_gql.api.core.ids import to_global_id
from loyalty_gql.api.core.permissions import PUBLIC, WITHIN_PARENT

# for its declaration of DeliveryStatus's GraphQL enum, which this area shows too
from loyalty_gql.api.webhooks import types as _webhook_types  # noqa: F401
from loyalty_gql.db.models import ChannelDeliveryRow, ChannelSettingsRow, PushSubscriptionRow
from loyalty_gql.domain.channels import Category, Channel
from loyalty_gql.domain.webhooks.deliveries import DeliveryStatus

strawberry.enum(Channel, description="How a message reaches the customer.")
strawberry.enum(
    Category, description="Transactional (what the customer did) or marketing (needs consent)."
)


@strawberry.type(description="A site's e-mail and Web Push settings.")
class ChannelSettings:
    """Which channels are on, for which events, from whom, and the push link."""

    email_enabled: bool = strawberry.field(
        description="Whether e-mail is sent.", metadata=WITHIN_PARENT
    )
    email_from: str | None = strawberry.field(
        description="The sender (none: the deployment's LOYALTY_SMTP_FROM).", metadata=WITHIN_PARENT
    )
    email_events: list[str] = strawberry.field(
        description="Events sent by e-mail.", metadata=WITHIN_PARENT
    )
    push_enabled: bool = strawberry.field(
        description="Whether Web Push is sent.", metadata=WITHIN_PARENT
    )
    push_events: list[str] = strawberry.field(
        description="Events sent by push.", metadata=WITHIN_PARENT
    )
    push_link: str = strawberry.field(
        description="Where opening a push leads (jinja2 with the templates' variables).",
        metadata=WITHIN_PARENT,
    )
    vapid_subject: str | None = strawberry.field(
        description="Contact in the VAPID claims (none: the deployment's).", metadata=WITHIN_PARENT
    )
    application_server_key: str | None = strawberry.field(
        description="The public VAPID key browsers subscribe with (none: no key yet).",
        metadata=WITHIN_PARENT,
    )

    @classmethod
    def from_row(cls, row: ChannelSettingsRow, key: str | None) -> ChannelSettings:
        """The settings in ``row``, with the public key ``key``."""
        return cls(
            email_enabled=row.email_enabled, email_from=row.email_from,
            email_events=list(row.email_events), push_enabled=row.push_enabled,
            push_events=list(row.push_events), push_link=row.push_link,
            vapid_subject=row.vapid_subject, application_server_key=key,
        )  # fmt: skip


@strawberry.type(description="One event's message to one address, by e-mail or push.")
class ChannelDelivery:
    """A delivery and its attempts."""

    id: strawberry.ID = strawberry.field(
        description="Global ID of the delivery.", metadata=WITHIN_PARENT
    )
    channel: Channel = strawberry.field(description="E-mail or push.", metadata=WITHIN_PARENT)
    category: Category = strawberry.field(
        description="Transactional or marketing.", metadata=WITHIN_PARENT
    )
    event: str = strawberry.field(description="The event kind.", metadata=WITHIN_PARENT)
    event_id: strawberry.ID = strawberry.field(
        description="Global ID of the event (see events).", metadata=WITHIN_PARENT
    )
    customer_id: strawberry.ID = strawberry.field(
        description="Global ID of the customer.", metadata=WITHIN_PARENT
    )
    target: str = strawberry.field(
        description="The e-mail address or the push subscription's endpoint.",
        metadata=WITHIN_PARENT,
    )
    message_id: str = strawberry.field(
        description="Message-ID (e-mail) or Topic (push): the same on every attempt.",
        metadata=WITHIN_PARENT,
    )
    status: DeliveryStatus = strawberry.field(
        description="Where it stands.", metadata=WITHIN_PARENT
    )
    attempts: int = strawberry.field(
        description="Attempts started so far (counted when a worker claims it).",
        metadata=WITHIN_PARENT,
    )
    next_attempt_at: datetime | None = strawberry.field(
        description="When the next attempt is due (pending deliveries).", metadata=WITHIN_PARENT
    )
    last_status_code: int | None = strawberry.field(
        description="SMTP or HTTP status of the last answer, if any.", metadata=WITHIN_PARENT
    )
    last_error: str | None = strawberry.field(
        description="Why the last attempt failed.", metadata=WITHIN_PARENT
    )
    created_at: datetime = strawberry.field(
        description="When it was dispatched.", metadata=WITHIN_PARENT
    )
    delivered_at: datetime | None = strawberry.field(
        description="When the server accepted it.", metadata=WITHIN_PARENT
    )

    @classmethod
    def from_row(cls, row: ChannelDeliveryRow) -> ChannelDelivery:
        """The delivery in ``row``."""
        pending = row.status == DeliveryStatus.PENDING
        return cls(
            id=to_global_id("ChannelDelivery", row.id), channel=Channel(row.channel),
            category=Category(row.category), event=row.event,
            event_id=to_global_id("Event", row.event_id),
            customer_id=to_global_id("Customer", row.customer_id), target=row.target,
            message_id=row.message_id, status=DeliveryStatus(row.status), attempts=row.attempts,
            next_attempt_at=row.next_attempt_at if pending else None,
            last_status_code=row.last_status_code, last_error=row.last_error,
            created_at=row.created_at, delivered_at=row.delivered_at,
        )  # fmt: skip


@strawberry.type(description="A browser's Web Push subscription of the customer.")
class PushSubscription:
    """Where the customer's pushes go."""

    endpoint: str = strawberry.field(description="The push service's URL.", metadata=PUBLIC)
    created_at: datetime = strawberry.field(description="When it was registered.", metadata=PUBLIC)

    @classmethod
    def from_row(cls, row: PushSubscriptionRow) -> PushSubscription:
        """The subscription in ``row``."""
        return cls(endpoint=row.endpoint, created_at=row.created_at)
