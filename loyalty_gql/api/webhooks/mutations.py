"""Managing webhook endpoints and retrying deliveries (site admins)."""

from __future__ import annotations

from typing import Annotated, TypeVar

import strawberry

from loyalty_gql.api.context import Context
from loyalty_gql.api.core.arguments import IDEMPOTENCY_KEY, INPUT
from loyalty_gql.api.core.errors import UserError
from loyalty_gql.api.core.node import ForbiddenError
from loyalty_gql.api.core.permissions import PUBLIC, WITHIN_PARENT, IsAdmin
from loyalty_gql.api.core.resolving import (
    AppInfo,
    NodeKind,
    SiteOwned,
    admin_site,
    managed,
    retry_of,
    visible_node,
)
from loyalty_gql.api.webhooks.types import SITE_ID, TARGET_URL, WebhookDelivery, WebhookEndpoint
from loyalty_gql.db.models import WebhookDeliveryRow, WebhookEndpointRow
from loyalty_gql.db.repositories.webhooks import delivery_by_id, endpoint_by_id
from loyalty_gql.services import webhooks as service


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
        return await endpoint_by_id(session, pk)


async def _delivery_row(ctx: Context, pk: int) -> WebhookDeliveryRow | None:
    async with ctx.db.read_sessions() as session:
        return await delivery_by_id(session, pk)


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
            clock=ctx.clock, retry=retry_of(info, input.idempotency_key),
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
            clock=ctx.clock, retry=retry_of(info, input.idempotency_key),
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
