"""Subscriptions: a customer's own updates and a site's events, as commits happen.

The change feed (db/changes.py) only says *that* something changed: a customer's new
data version, or the ids of the outbox events a commit wrote. Each subscriber then reads
the state again through the normal resolvers, with its own token and new loaders, so a
subscription shows exactly what the same query would, and nothing of anyone else.

Per customer the updates are coalesced by data version: one is sent when the customer's
version moved past the last one sent, so a subscriber never gets the same version twice
and never an older one after a newer. Each update reads its version and all its fields
in one snapshot, so the state it shows is exactly the customer's at that version.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncGenerator, Sequence
from enum import Enum
from typing import Annotated

import strawberry
from graphql import GraphQLError

from loyalty_gql.api.context import Context
from loyalty_gql.api.core.node import ForbiddenError
from loyalty_gql.api.core.permissions import WITHIN_PARENT, IsCustomer, IsStaff
from loyalty_gql.api.core.resolving import AppInfo, staff_site
from loyalty_gql.api.customers.types import Customer
from loyalty_gql.api.loaders import Loaders, SharedReads
from loyalty_gql.api.notifications.events import Event
from loyalty_gql.db.models import OutboxEventRow
from loyalty_gql.db.repositories.customers import snapshot_data_version
from loyalty_gql.db.repositories.notifications import (
    newest_event_id,
    site_events_after,
    site_events_by_ids,
)

log = logging.getLogger(__name__)

CATCH_UP_LIMIT = 1000
"""Events one catch-up read (after the feed lost messages) sends at most."""
REMEMBERED = 10_000
"""Ids of events sent that a site subscription remembers, so a catch-up never repeats one."""


@strawberry.enum(description="Why a viewer update was sent.")
class ViewerUpdateReason(Enum):
    """The first message of a subscription, or a change."""

    SUBSCRIBED = strawberry.enum_value(
        "SUBSCRIBED", description="The state when the subscription started (its first message)."
    )
    CHANGED = strawberry.enum_value(
        "CHANGED", description="A committed write changed the customer's data."
    )


@strawberry.type(description="The signed-in customer as it is now, after a change of theirs.")
class ViewerUpdate:
    """One update: the customer (select what a query would: balance, vouchers, tier...)."""

    reason: ViewerUpdateReason = strawberry.field(
        description="The first message, or a change.", metadata=WITHIN_PARENT
    )
    version: int = strawberry.field(
        description="The customer's data version this state was read at; it only grows.",
        metadata=WITHIN_PARENT,
    )
    customer: Customer = strawberry.field(
        description="The customer (normalises with the viewer of queries).",
        metadata=WITHIN_PARENT,
    )


def _feed_on(context: Context) -> None:
    """Refuse a subscription on a server whose commits tell nobody (LOYALTY_CHANGE_FEED)."""
    if not context.db.changes.enabled:
        raise GraphQLError(
            "Subscriptions are switched off on this server (LOYALTY_CHANGE_FEED=false).",
            extensions={"code": "SUBSCRIPTIONS_OFF"},
        )


def _fresh_reads(context: Context) -> None:
    """New loaders for the next message: nothing read for an earlier one is reused."""
    context.loaders = Loaders(context.db, context.clock)


@strawberry.type
class Subscription:
    """Updates pushed over WebSocket (graphql-transport-ws) as writes commit."""

    @strawberry.subscription(
        description="The signed-in customer, first as it is, then after every committed "
        "change of their data (points, vouchers, tier, offers, punch cards). Updates "
        "that land together may come as one.",
        permission_classes=[IsCustomer],
    )
    async def viewer_updates(self, info: AppInfo) -> AsyncGenerator[ViewerUpdate, None]:
        """The customer's updates (refusals come before the stream starts)."""
        context = info.context
        customer_id = context.access.customer_id
        if customer_id is None:
            raise ForbiddenError("The token's customer is not registered.")
        _feed_on(context)
        return _viewer_update_stream(context, customer_id)

    @strawberry.subscription(
        description="The site's events as they are committed (what webhooks deliver), "
        "oldest first.",
        permission_classes=[IsStaff],
    )
    async def site_events(
        self,
        info: AppInfo,
        site_id: Annotated[
            strawberry.ID, strawberry.argument(description="Global ID of the site.")
        ],
        types: Annotated[
            list[str] | None,
            strawberry.argument(
                description="Only these events (REWARD_EARNED, ...); all when null."
            ),
        ] = None,
    ) -> AsyncGenerator[Event, None]:
        """The site's events (the site is checked before the stream starts, so a refusal
        is the operation's error)."""
        site_pk = staff_site(info, site_id)
        _feed_on(info.context)
        kinds = None if types is None else frozenset(types)
        return _site_event_stream(info.context, site_pk, kinds)


async def _viewer_update_stream(
    context: Context, customer_id: int
) -> AsyncGenerator[ViewerUpdate, None]:
    """The customer's state, first as it is, then at each new data version."""
    async with context.db.changes.customer(customer_id) as inbox:
        sent = 0
        reason = ViewerUpdateReason.SUBSCRIBED
        while True:
            inbox.wake.clear()
            inbox.resync = False
            reads = SharedReads(context.db)
            try:
                async with reads() as session:
                    version = await snapshot_data_version(session, customer_id)
                if version is None:
                    return
                if reason is ViewerUpdateReason.SUBSCRIBED or version > sent:
                    # the message's fields read the same snapshot as its version
                    context.reads = reads
                    context.loaders = Loaders(context.db, context.clock, shared=reads)
                    row = await context.loaders.customer_by_id.load(customer_id)
                    if row is None:
                        return
                    sent = version
                    customer = Customer.from_row(row)
                    yield ViewerUpdate(reason=reason, version=sent, customer=customer)
                    reason = ViewerUpdateReason.CHANGED
            finally:
                context.reads = None
                await reads.close()
            if inbox.version <= sent and not inbox.resync:
                await inbox.wake.wait()


async def _site_event_stream(
    context: Context, site_pk: int, kinds: frozenset[str] | None
) -> AsyncGenerator[Event, None]:
    """The site's events as commits announce them."""
    async with context.db.changes.site(site_pk) as inbox:
        async with context.db.read_sessions() as session:
            newest = await newest_event_id(session)
        sent: OrderedDict[int, None] = OrderedDict()
        while True:
            await inbox.wake.wait()
            lost, inbox.lost = inbox.lost, False
            rows = await _site_events(context, site_pk, inbox.take(), kinds)
            if lost:
                log.info("site %s subscriber: catching up after lost messages", site_pk)
                async with context.db.read_sessions() as session:
                    missed = await site_events_after(
                        session, site_pk, newest, kinds, CATCH_UP_LIMIT
                    )
                rows = sorted({r.id: r for r in [*rows, *missed]}.values(), key=_by_id)
            for row in rows:
                if row.id in sent:
                    continue
                sent[row.id] = None
                if len(sent) > REMEMBERED:
                    sent.popitem(last=False)
                newest = max(newest, row.id)
                _fresh_reads(context)
                yield Event.from_row(row)


def _by_id(row: OutboxEventRow) -> int:
    return row.id


async def _site_events(
    context: Context, site_pk: int, ids: Sequence[int], kinds: frozenset[str] | None
) -> list[OutboxEventRow]:
    if not ids:
        return []
    async with context.db.read_sessions() as session:
        return await site_events_by_ids(session, site_pk, ids, kinds)
