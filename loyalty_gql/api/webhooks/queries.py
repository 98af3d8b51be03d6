"""Reading a site's webhook endpoints and its delivery log (site admins)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from loyalty_gql.api.core.pagination import (
    AFTER_ARG,
    BEFORE_ARG,
    FIRST_ARG,
    LAST_ARG,
    Connection,
    connect,
    page_of,
)
from loyalty_gql.api.core.permissions import IsAdmin
from loyalty_gql.api.core.resolving import AppInfo, admin_site
from loyalty_gql.api.webhooks.types import SITE_ID, WebhookDelivery, WebhookEndpoint
from loyalty_gql.db.repositories.webhooks import deliveries_page, endpoints_of_site
from loyalty_gql.domain.webhooks.deliveries import DeliveryStatus


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
            rows = await endpoints_of_site(session, site_pk)
        return [WebhookEndpoint.from_row(row) for row in rows]

    @strawberry.field(description="The delivery log, newest first.", permission_classes=[IsAdmin])
    async def webhook_deliveries(
        self,
        info: AppInfo,
        *,
        site_id: Annotated[strawberry.ID, strawberry.argument(description=SITE_ID)],
        status: Annotated[
            DeliveryStatus | None, strawberry.argument(description="Only these; all if omitted.")
        ] = None,
        first: FIRST_ARG = None,
        after: AFTER_ARG = None,
        last: LAST_ARG = None,
        before: BEFORE_ARG = None,
    ) -> Connection[WebhookDelivery]:
        """A page of deliveries."""
        ctx = info.context
        site_pk = admin_site(info, site_id)
        page = page_of(
            "webhookDeliveries", first=first, last=last, after=after, before=before,
            default=ctx.settings.default_page_size, maximum=ctx.settings.max_page_size,
        )  # fmt: skip
        async with ctx.db.read_sessions() as session:
            rows = await deliveries_page(session, site_pk, page.window(), status=status)
        return connect(
            Connection, rows, page, "webhookDeliveries",
            key=lambda r: [r.id], node=WebhookDelivery.from_row,
        )  # fmt: skip
