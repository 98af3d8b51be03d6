"""Reading a site's channel settings and its e-mail and push delivery log (admins), and
the key a customer's browser subscribes with."""

from __future__ import annotations

from typing import Annotated

import strawberry

from loyalty_gql.api.channels.types import ChannelDelivery, ChannelSettings
from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.api.core.node import ForbiddenError
from loyalty_gql.api.core.pagination import (
    AFTER_ARG,
    BEFORE_ARG,
    FIRST_ARG,
    LAST_ARG,
    Connection,
    connect,
    page_of,
)
from loyalty_gql.api.core.permissions import IsAdmin, SignedIn
from loyalty_gql.api.core.resolving import AppInfo, admin_site
from loyalty_gql.db.repositories.channels import deliveries_page
from loyalty_gql.domain.channels import Channel
from loyalty_gql.domain.webhooks.deliveries import DeliveryStatus
from loyalty_gql.services import channels as service

SITE_ID = "Global ID of the site."


@strawberry.type
class ChannelQueries:
    """Reading channel settings and deliveries."""

    @strawberry.field(
        description="The site's e-mail and Web Push settings.", permission_classes=[IsAdmin]
    )
    async def channel_settings(
        self,
        info: AppInfo,
        site_id: Annotated[strawberry.ID, strawberry.argument(description=SITE_ID)],
    ) -> ChannelSettings:
        """The settings (the defaults when none were stored)."""
        ctx = info.context
        site_pk = admin_site(info, site_id)
        async with ctx.db.read_sessions() as session:
            row = await service.channel_settings(session, site_pk)
        key = service.application_server_key(row, ctx.settings.vapid_private_key)
        return ChannelSettings.from_row(row, key)

    @strawberry.field(
        description="The e-mail and push delivery log, newest first (webhooks have "
        "webhookDeliveries).",
        permission_classes=[IsAdmin],
    )
    async def channel_deliveries(
        self,
        info: AppInfo,
        *,
        site_id: Annotated[strawberry.ID, strawberry.argument(description=SITE_ID)],
        channel: Annotated[
            Channel | None, strawberry.argument(description="Only this channel; all if omitted.")
        ] = None,
        status: Annotated[
            DeliveryStatus | None, strawberry.argument(description="Only these; all if omitted.")
        ] = None,
        first: FIRST_ARG = None,
        after: AFTER_ARG = None,
        last: LAST_ARG = None,
        before: BEFORE_ARG = None,
    ) -> Connection[ChannelDelivery]:
        """A page of deliveries."""
        ctx = info.context
        site_pk = admin_site(info, site_id)
        page = page_of(
            "channelDeliveries", first=first, last=last, after=after, before=before,
            default=ctx.settings.default_page_size, maximum=ctx.settings.max_page_size,
        )  # fmt: skip
        async with ctx.db.read_sessions() as session:
            rows = await deliveries_page(
                session, site_pk, page.window(), channel=channel, status=status
            )
        return connect(
            Connection, rows, page, "channelDeliveries",
            key=lambda r: [r.id], node=ChannelDelivery.from_row,
        )  # fmt: skip

    @strawberry.field(
        description="The public VAPID key (applicationServerKey) a browser subscribes to "
        "the site's pushes with; null while the site has none.",
        permission_classes=[SignedIn],
    )
    async def web_push_key(
        self,
        info: AppInfo,
        site_id: Annotated[strawberry.ID, strawberry.argument(description=SITE_ID)],
    ) -> str | None:
        """The site's public key."""
        ctx = info.context
        site_pk = parse_id(site_id, "Site")
        if not ctx.access.sees_site(site_pk):
            raise ForbiddenError("Not permitted on this site.")
        async with ctx.db.read_sessions() as session:
            row = await service.channel_settings(session, site_pk)
        return service.application_server_key(row, ctx.settings.vapid_private_key)
