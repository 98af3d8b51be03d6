"""Webhook endpoints and deliveries as GraphQL types."""

from __future__ import annotations

from datetime import datetime

import strawberry

from loyalty_gql.api.core.ids import to_global_id
from loyalty_gql.api.core.node import Node
from loyalty_gql.api.core.permissions import CanSeeSite
from loyalty_gql.api.core.resolving import AppInfo
from loyalty_gql.db.models import WebhookDeliveryRow, WebhookEndpointRow
from loyalty_gql.domain.webhooks.deliveries import DeliveryStatus

SITE_ID = "Global ID of the site."
TARGET_URL = (
    "The receiver's http(s) URL, without credentials. Its host must be a public address:"
    " not loopback, localhost, a private or link-local network (unless the server allows"
    " private targets); a name is checked again against its DNS answers at every attempt."
)


strawberry.enum(DeliveryStatus, description="Where a webhook delivery stands.")


@strawberry.type(description="Where a site's events are sent.")
class WebhookEndpoint(Node):
    """An endpoint: its URL, the events it wants, and its signing secret."""

    pk: strawberry.Private[int]
    site_pk: strawberry.Private[int]
    url: str = strawberry.field(description="The receiver's URL.", permission_classes=[CanSeeSite])
    events: list[str] = strawberry.field(
        description="Event kinds sent to it; empty: every event.",
        permission_classes=[CanSeeSite],
    )
    enabled: bool = strawberry.field(
        description="Whether events are sent to it.", permission_classes=[CanSeeSite]
    )
    secret: str = strawberry.field(
        description="The Standard Webhooks signing secret (whsec_...), for the receiver.",
        permission_classes=[CanSeeSite],
    )
    created_at: datetime = strawberry.field(
        description="When it was added.", permission_classes=[CanSeeSite]
    )

    @classmethod
    def from_row(cls, row: WebhookEndpointRow) -> WebhookEndpoint:
        """The endpoint in ``row``."""
        return cls(
            id=to_global_id("WebhookEndpoint", row.id), pk=row.id, site_pk=row.site_id,
            url=row.url, events=list(row.events), enabled=row.enabled, secret=row.secret,
            created_at=row.created_at,
        )  # fmt: skip


@strawberry.type(description="One event sent (or to be sent) to one endpoint.")
class WebhookDelivery(Node):
    """A delivery and its attempts."""

    pk: strawberry.Private[int]
    site_pk: strawberry.Private[int]
    endpoint_pk: strawberry.Private[int]
    endpoint_id: strawberry.ID = strawberry.field(
        description="Global ID of the endpoint.",
        permission_classes=[CanSeeSite],
        deprecation_reason="Use endpoint { id }.",
    )
    event: str = strawberry.field(description="The event kind.", permission_classes=[CanSeeSite])
    webhook_id: str = strawberry.field(
        description="The webhook-id header: the same on every attempt.",
        permission_classes=[CanSeeSite],
    )
    status: DeliveryStatus = strawberry.field(
        description="Where the delivery stands.", permission_classes=[CanSeeSite]
    )
    attempts: int = strawberry.field(
        description="Attempts made so far.", permission_classes=[CanSeeSite]
    )
    next_attempt_at: datetime | None = strawberry.field(
        description="When the next attempt is due (pending deliveries).",
        permission_classes=[CanSeeSite],
    )
    last_status_code: int | None = strawberry.field(
        description="HTTP status of the last attempt, if there was an answer.",
        permission_classes=[CanSeeSite],
    )
    last_error: str | None = strawberry.field(
        description="Why the last attempt failed.", permission_classes=[CanSeeSite]
    )
    body: str = strawberry.field(
        description="The JSON sent (signed) on every attempt.", permission_classes=[CanSeeSite]
    )
    created_at: datetime = strawberry.field(
        description="When the event was dispatched to the endpoint.",
        permission_classes=[CanSeeSite],
    )
    delivered_at: datetime | None = strawberry.field(
        description="When the receiver accepted it.", permission_classes=[CanSeeSite]
    )

    @strawberry.field(description="The endpoint it is sent to.", permission_classes=[CanSeeSite])
    async def endpoint(self, info: AppInfo) -> WebhookEndpoint:
        """The endpoint, batched with the response's other deliveries' endpoints."""
        row = await info.context.loaders.endpoint_by_id.load(self.endpoint_pk)
        if row is None:  # pragma: no cover - endpoints are never deleted
            raise LookupError(self.endpoint_pk)
        return WebhookEndpoint.from_row(row)

    @classmethod
    def from_row(cls, row: WebhookDeliveryRow) -> WebhookDelivery:
        """The delivery in ``row``."""
        return cls(
            id=to_global_id("WebhookDelivery", row.id), pk=row.id, site_pk=row.site_id,
            endpoint_pk=row.endpoint_id,
            endpoint_id=to_global_id("WebhookEndpoint", row.endpoint_id), event=row.event,
            webhook_id=row.webhook_id, status=DeliveryStatus(row.status), attempts=row.attempts,
            next_attempt_at=row.next_attempt_at if row.status == DeliveryStatus.PENDING else None,
            last_status_code=row.last_status_code, last_error=row.last_error, body=row.body,
            created_at=row.created_at, delivered_at=row.delivered_at,
        )  # fmt: skip
