"""The site's events (the outbox), readable by its staff: each a Node, in keyset pages."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from loyalty_gql.api.core.errors import BadRequestError
from loyalty_gql.api.core.ids import parse_id, to_global_id
from loyalty_gql.api.core.node import Node, build_node, builds_node
from loyalty_gql.api.core.pagination import (
    AFTER_ARG,
    BEFORE_ARG,
    FIRST_ARG,
    LAST_ARG,
    Connection,
    connect,
    page_of,
)
from loyalty_gql.api.core.permissions import WITHIN_PARENT, IsStaff
from loyalty_gql.api.core.resolving import AppInfo, staff_site
from loyalty_gql.db.models import OutboxEventRow
from loyalty_gql.db.repositories.notifications import site_events_page
from loyalty_gql.domain.spelling import camel_keys
from loyalty_gql.services.notifications import EVENTS

if TYPE_CHECKING:
    from loyalty_gql.api.customers.types import Customer

LazyCustomer = Annotated["Customer", strawberry.lazy("loyalty_gql.api.customers.types")]


@strawberry.type(
    description="Something that happened on a site, as written to its outbox with the change "
    "that caused it (and sent to its webhooks). Admins and the shop backend only: "
    "`events` and `node(id:)` give a site's events to its staff alone."
)
class Event(Node):
    """An outbox event."""

    pk: strawberry.Private[int]
    site_pk: strawberry.Private[int]
    customer_pk: strawberry.Private[int | None]
    type: str = strawberry.field(
        description="What happened: ORDER_RECORDED, REWARD_EARNED, TIER_CHANGED... (the "
        "events of notificationTemplates).",
        metadata=WITHIN_PARENT,
    )
    occurred_at: datetime = strawberry.field(
        description="When the change was committed.", metadata=WITHIN_PARENT
    )
    payload: JSON = strawberry.field(
        description="The event's data, keys in camelCase: the `data.payload` of its webhook body.",
        metadata=WITHIN_PARENT,
    )
    webhook_id: str = strawberry.field(
        description="The `webhook-id` header its deliveries carry (receivers dedupe on it).",
        metadata=WITHIN_PARENT,
    )
    dispatched_at: datetime | None = strawberry.field(
        description="When the worker turned it into webhook deliveries; null until then.",
        metadata=WITHIN_PARENT,
    )

    @strawberry.field(
        description="The customer it is about; null for events of the site as a whole.",
        metadata=WITHIN_PARENT,
    )
    async def customer(self, info: AppInfo) -> LazyCustomer | None:
        """The event's customer."""
        if self.customer_pk is None:
            return None
        row = await info.context.loaders.customer_by_id.load(self.customer_pk)
        return build_node("Customer", row) if row else None

    @classmethod
    def from_row(cls, row: OutboxEventRow) -> Event:
        """The event in ``row``."""
        return cls(
            id=to_global_id("Event", row.id),
            pk=row.id,
            site_pk=row.site_id,
            customer_pk=row.customer_id,
            type=row.kind,
            occurred_at=row.created_at,
            payload=camel_keys(row.payload),
            webhook_id=f"evt_{row.id}",
            dispatched_at=row.delivered_at,
        )


builds_node("Event", Event.from_row)


@strawberry.input(description="Which events to list.")
class EventFilter:
    """Filters of the event list; all of them must hold."""

    types: list[str] | None = strawberry.field(
        default=None, description="Only events of these types (ORDER_RECORDED...)."
    )
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this customer's events."
    )
    from_: datetime | None = strawberry.field(
        name="from", default=None, description="Written at or after this moment."
    )
    until: datetime | None = strawberry.field(default=None, description="Written before this.")


@strawberry.type
class EventQueries:
    """Reading the site's events."""

    @strawberry.field(
        description="The site's events, newest first (admins and the shop backend). "
        "Without totalCount: the list grows with every change, page through it.",
        permission_classes=[IsStaff],
    )
    async def events(
        self,
        info: AppInfo,
        site_id: Annotated[
            strawberry.ID, strawberry.argument(description="Global ID of the site.")
        ],
        *,
        filter: Annotated[
            EventFilter | None, strawberry.argument(description="Which events.")
        ] = None,
        first: FIRST_ARG = None,
        after: AFTER_ARG = None,
        last: LAST_ARG = None,
        before: BEFORE_ARG = None,
    ) -> Connection[Event]:
        """A page of the site's events."""
        ctx = info.context
        site_pk = staff_site(info, site_id)
        page = page_of(
            "events", first=first, last=last, after=after, before=before,
            default=ctx.settings.default_page_size, maximum=ctx.settings.max_page_size,
        )  # fmt: skip
        wanted = filter or EventFilter()
        unknown = sorted(set(wanted.types or ()) - set(EVENTS))
        if unknown:
            raise BadRequestError(
                f"unknown event types {', '.join(unknown)}; the types are {', '.join(EVENTS)}"
            )
        query: dict[str, Any] = {
            "kinds": wanted.types or None,
            "customer_id": parse_id(wanted.customer_id, "Customer") if wanted.customer_id else None,
            "since": wanted.from_,
            "until": wanted.until,
        }
        async with ctx.db.read_sessions() as session:
            rows = await site_events_page(session, site_pk, page.window(), **query)
        return connect(Connection, rows, page, "events", key=lambda r: [r.id], node=Event.from_row)
