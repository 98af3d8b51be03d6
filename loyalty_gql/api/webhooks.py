"""Webhook endpoints and the delivery log (site admins)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, TypeVar

import strawberry
from sqlalchemy import select

from loyalty_gql.api.context import Context
from loyalty_gql.api.core.errors import UserError
from loyalty_gql.api.core.ids import to_global_id
from loyalty_gql.api.core.node import ForbiddenError, Node
from loyalty_gql.api.core.pagination import (
    AFTER,
    FIRST,
    Connection,
    build_connection,
    decode_id_cursor,
    page_size,
)
from loyalty_gql.api.core.permissions import PUBLIC, WITHIN_PARENT, CanSeeSite, IsAdmin
from loyalty_gql.api.core.resolving import (
    AppInfo,
    NodeKind,
    SiteOwned,
    admin_site,
    managed,
    visible_node,
)
from loyalty_gql.api.sites.mutations import IDEMPOTENCY_KEY, INPUT
from loyalty_gql.db.models import WebhookDeliveryRow, WebhookEndpointRow
from loyalty_gql.services import webhooks as service

SITE_ID = "Global ID of the site."
TARGET_URL = (
    "The receiver's http(s) URL, without credentials. Its host must be a public address:"
    " not loopback, localhost, a private or link-local network (unless the server allows"
    " private targets); a name is checked again against its DNS answers at every attempt."
)


@strawberry.enum(description="Where a webhook delivery stands.")
class DeliveryStatus(Enum):
    """PENDING until the receiver answers 2xx (DELIVERED) or attempts run out (DEAD)."""

    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    DEAD = "DEAD"


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
    endpoint_id: strawberry.ID = strawberry.field(
        description="Global ID of the endpoint.", permission_classes=[CanSeeSite]
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

    @classmethod
    def from_row(cls, row: WebhookDeliveryRow) -> WebhookDelivery:
        """The delivery in ``row``."""
        return cls(
            id=to_global_id("WebhookDelivery", row.id), pk=row.id, site_pk=row.site_id,
            endpoint_id=to_global_id("WebhookEndpoint", row.endpoint_id), event=row.event,
            webhook_id=row.webhook_id, status=DeliveryStatus(row.status), attempts=row.attempts,
            next_attempt_at=row.next_attempt_at if row.status == "PENDING" else None,
            last_status_code=row.last_status_code, last_error=row.last_error, body=row.body,
            created_at=row.created_at, delivered_at=row.delivered_at,
        )  # fmt: skip


@strawberry.input(description="A new webhook endpoint.")
class CreateWebhookEndpointInput:
    """The site, URL and events."""

    site_id: strawberry.ID = strawberry.field(description=SITE_ID)
    url: str = strawberry.field(description=TARGET_URL)
    events: list[str] = strawberry.field(
        default_factory=list, description="Event kinds to send; empty: every event."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="Changes to a webhook endpoint; omitted fields stay.")
class UpdateWebhookEndpointInput:
    """Which endpoint and what changes."""

    endpoint_id: strawberry.ID = strawberry.field(description="Global ID of the endpoint.")
    url: str | None = strawberry.field(default=None, description=f"A new URL. {TARGET_URL}")
    events: list[str] | None = strawberry.field(default=None, description="New event kinds.")
    enabled: bool | None = strawberry.field(default=None, description="Switch it on or off.")
    rotate_secret: bool = strawberry.field(default=False, description="Issue a new secret.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="A delivery to send again.")
class RetryWebhookDeliveryInput:
    """Which delivery."""

    delivery_id: strawberry.ID = strawberry.field(description="Global ID of the delivery.")


@strawberry.type(description="Result of a webhook endpoint mutation.")
class WebhookEndpointPayload:
    """The endpoint, or why nothing changed."""

    endpoint: WebhookEndpoint | None = strawberry.field(
        description="The endpoint.", metadata=WITHIN_PARENT
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing changed.", metadata=PUBLIC
    )


@strawberry.type(description="Result of retryWebhookDelivery.")
class RetryWebhookDeliveryPayload:
    """The delivery, due again."""

    delivery: WebhookDelivery | None = strawberry.field(
        description="The delivery.", metadata=WITHIN_PARENT
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why it was not retried.", metadata=PUBLIC
    )


async def _endpoint_row(ctx: Context, pk: int) -> WebhookEndpointRow | None:
    async with ctx.db.read_sessions() as session:
        return await session.get(WebhookEndpointRow, pk)


async def _delivery_row(ctx: Context, pk: int) -> WebhookDeliveryRow | None:
    async with ctx.db.read_sessions() as session:
        return await session.get(WebhookDeliveryRow, pk)


Owned = TypeVar("Owned", bound=SiteOwned)
ENDPOINT: NodeKind[WebhookEndpointRow] = NodeKind("WebhookEndpoint", _endpoint_row)
DELIVERY: NodeKind[WebhookDeliveryRow] = NodeKind("WebhookDelivery", _delivery_row)


async def _admin_node(info: AppInfo, global_id: str, kind: NodeKind[Owned]) -> Owned:
    """The row, if the caller administers its site (FORBIDDEN otherwise, found or not)."""
    row = await visible_node(info, global_id, kind, managed)
    if row is None:
        raise ForbiddenError("Only an admin of the site may do this.")
    return row


@strawberry.type
class WebhookQueries:
    """Reading endpoints and deliveries."""

    @strawberry.field(description="The site's webhook endpoints.", permission_classes=[IsAdmin])
    async def webhook_endpoints(
        self,
        info: AppInfo,
        site_id: Annotated[strawberry.ID, strawberry.argument(description=SITE_ID)],
    ) -> list[WebhookEndpoint]:
        """Endpoints, oldest first."""
        site_pk = admin_site(info, site_id)
        async with info.context.db.read_sessions() as session:
            rows = await session.scalars(
                select(WebhookEndpointRow)
                .where(WebhookEndpointRow.site_id == site_pk)
                .order_by(WebhookEndpointRow.id)
            )
            return [WebhookEndpoint.from_row(row) for row in rows]

    @strawberry.field(description="The delivery log, newest first.", permission_classes=[IsAdmin])
    async def webhook_deliveries(
        self,
        info: AppInfo,
        site_id: Annotated[strawberry.ID, strawberry.argument(description=SITE_ID)],
        status: Annotated[
            DeliveryStatus | None, strawberry.argument(description="Only these; all if omitted.")
        ] = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> Connection[WebhookDelivery]:
        """A page of deliveries."""
        settings = info.context.settings
        site_pk = admin_site(info, site_id)
        size = page_size(first, default=settings.default_page_size, maximum=settings.max_page_size)
        query = select(WebhookDeliveryRow).where(WebhookDeliveryRow.site_id == site_pk)
        if status is not None:
            query = query.where(WebhookDeliveryRow.status == status.value)
        before = decode_id_cursor(after)
        if before is not None:
            query = query.where(WebhookDeliveryRow.id < before)
        async with info.context.db.read_sessions() as session:
            rows = list(
                await session.scalars(query.order_by(WebhookDeliveryRow.id.desc()).limit(size + 1))
            )
        return build_connection(
            rows, size=size, after=after, key=lambda r: [r.id],
            node=WebhookDelivery.from_row,
        )  # fmt: skip


@strawberry.type
class WebhookMutations:
    """Managing endpoints and retrying deliveries."""

    @strawberry.mutation(
        description="Add a webhook endpoint (a signing secret is issued).",
        permission_classes=[IsAdmin],
    )
    async def create_webhook_endpoint(
        self,
        info: AppInfo,
        input: Annotated[CreateWebhookEndpointInput, strawberry.argument(description=INPUT)],
    ) -> WebhookEndpointPayload:
        """Create an endpoint."""
        ctx = info.context
        site_pk = admin_site(info, input.site_id)
        row = await service.create_endpoint(
            ctx.db, site_id=site_pk, url=input.url, events=input.events, actor=ctx.actor,
            clock=ctx.clock, idempotency_key=input.idempotency_key,
            allow_private=ctx.settings.webhook_allow_private,
        )  # fmt: skip
        return WebhookEndpointPayload(endpoint=WebhookEndpoint.from_row(row), user_errors=[])

    @strawberry.mutation(
        description="Change a webhook endpoint, switch it off, or rotate its secret.",
        permission_classes=[IsAdmin],
    )
    async def update_webhook_endpoint(
        self,
        info: AppInfo,
        input: Annotated[UpdateWebhookEndpointInput, strawberry.argument(description=INPUT)],
    ) -> WebhookEndpointPayload:
        """Update an endpoint."""
        ctx = info.context
        endpoint = await _admin_node(info, input.endpoint_id, ENDPOINT)
        row = await service.update_endpoint(
            ctx.db, endpoint_id=endpoint.id, url=input.url, events=input.events,
            enabled=input.enabled, rotate_secret=input.rotate_secret, actor=ctx.actor,
            clock=ctx.clock, idempotency_key=input.idempotency_key,
            allow_private=ctx.settings.webhook_allow_private,
        )  # fmt: skip
        return WebhookEndpointPayload(endpoint=WebhookEndpoint.from_row(row), user_errors=[])

    @strawberry.mutation(
        description="Send a delivery again now (a dead one gets fresh attempts).",
        permission_classes=[IsAdmin],
    )
    async def retry_webhook_delivery(
        self,
        info: AppInfo,
        input: Annotated[RetryWebhookDeliveryInput, strawberry.argument(description=INPUT)],
    ) -> RetryWebhookDeliveryPayload:
        """Retry a delivery."""
        ctx = info.context
        delivery = await _admin_node(info, input.delivery_id, DELIVERY)
        row = await service.retry_delivery(ctx.db, delivery_id=delivery.id, clock=ctx.clock)
        return RetryWebhookDeliveryPayload(delivery=WebhookDelivery.from_row(row), user_errors=[])
