"""`node(id:)` and `nodes(ids:)`: fetch any objects by their global IDs.

Both resolve each ID the same way, through the request's loaders, so `nodes` of many
IDs costs one statement per type (and per second hop, such as an offer's site), not
one per ID; an ID the caller may not see, or that names nothing, is null.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry

from loyalty_gql.api.campaigns.types import Campaign
from loyalty_gql.api.core.errors import BadRequestError
from loyalty_gql.api.core.ids import from_global_id
from loyalty_gql.api.core.node import Node
from loyalty_gql.api.core.permissions import SignedIn
from loyalty_gql.api.core.resolving import AppInfo
from loyalty_gql.api.customers.types import Customer, tier_progress_of
from loyalty_gql.api.notifications.events import Event
from loyalty_gql.api.offers.types import Offer
from loyalty_gql.api.orders.types import Order
from loyalty_gql.api.points.types import Balance, LedgerEntry
from loyalty_gql.api.sites.types import Site
from loyalty_gql.api.tiers.types import Tier


@strawberry.type
class NodeQueries:
    """The Relay node field."""

    @strawberry.field(
        description="Any object by global ID; null when not found or not visible to the caller.",
        permission_classes=[SignedIn],
    )
    async def node(
        self,
        info: AppInfo,
        id: Annotated[strawberry.ID, strawberry.argument(description="Global ID.")],
    ) -> Node | None:
        """One object of any type."""
        return await _resolve(info, *from_global_id(id))

    @strawberry.field(
        description="Objects of any types by global ID, in the order asked (at most the page "
        "cap, 100 by default); each null when not found or not visible to the caller.",
        permission_classes=[SignedIn],
    )
    async def nodes(
        self,
        info: AppInfo,
        ids: Annotated[
            list[strawberry.ID], strawberry.argument(description="Global IDs, any types mixed.")
        ],
    ) -> list[Node | None]:
        """Many objects, batched by type through the loaders."""
        cap = info.context.settings.max_page_size
        if len(ids) > cap:
            raise BadRequestError(
                f"`ids` may hold at most {cap} IDs, not {len(ids)}; ask in several requests"
            )
        named = [from_global_id(value) for value in ids]  # a malformed one refuses them all
        return list(await asyncio.gather(*(_resolve(info, *key) for key in named)))


async def _resolve(info: AppInfo, type_name: str, pk: int) -> Node | None:
    resolve = _RESOLVERS.get(type_name)
    return await resolve(info, pk) if resolve else None


async def _site(info: AppInfo, pk: int) -> Node | None:
    site = await info.context.loaders.site_by_id.load(pk)
    return Site.from_row(site) if site and info.context.access.sees_site(pk) else None


async def _customer(info: AppInfo, pk: int) -> Node | None:
    row = await info.context.loaders.customer_by_id.load(pk)
    if row is None or not info.context.access.sees_customer(row.site_id, row.id):
        return None
    return Customer.from_row(row)


async def _balance(info: AppInfo, pk: int) -> Node | None:
    """``Balance:<customer pk>``: the customer's balance."""
    if await _customer(info, pk) is None:
        return None
    account = await info.context.loaders.account_by_customer.load(pk)
    return Balance.of(account, pk, info.context.clock())


async def _expiry(info: AppInfo, pk: int) -> Node | None:
    """``Expiry:<customer pk>``: the customer's next expiry (null when nothing expires)."""
    balance = await _balance(info, pk)
    return await balance.soonest_expiry(info) if isinstance(balance, Balance) else None


async def _tier_progress(info: AppInfo, pk: int) -> Node | None:
    """``TierProgress:<customer pk>``: the customer's way to the next tier."""
    if await _customer(info, pk) is None:
        return None
    return await tier_progress_of(info, pk)


async def _entry(info: AppInfo, pk: int) -> Node | None:
    entry = await info.context.loaders.entry_by_id.load(pk)
    if entry is None or not info.context.access.sees_customer(entry.site_id, entry.customer_id):
        return None
    return LedgerEntry.from_row(entry)


async def _tier(info: AppInfo, pk: int) -> Node | None:
    tier = await info.context.loaders.tier_by_id.load(pk)
    return Tier.from_row(tier) if tier and info.context.access.sees_site(tier.site_id) else None


async def _offer(info: AppInfo, pk: int) -> Node | None:
    row = await info.context.loaders.offer_by_id.load(pk)
    if row is None or not info.context.access.serves_site(row.site_id):
        return None
    site = await info.context.loaders.site_by_id.load(row.site_id)
    return Offer.from_row(row, site.currency) if site else None


async def _campaign(info: AppInfo, pk: int) -> Node | None:
    row = await info.context.loaders.campaign_by_id.load(pk)
    if row is None or not info.context.access.manages_site(row.site_id):
        return None
    site = await info.context.loaders.site_by_id.load(row.site_id)
    return Campaign.from_row(row, site.currency) if site else None


async def _order(info: AppInfo, pk: int) -> Node | None:
    row = await info.context.loaders.order_by_id.load(pk)
    if row is None:
        return None
    access = info.context.access
    if row.customer_id is None and not access.serves_site(row.site_id):
        return None
    if row.customer_id is not None and not access.sees_customer(row.site_id, row.customer_id):
        return None
    return Order.from_row(row)


async def _event(info: AppInfo, pk: int) -> Node | None:
    row = await info.context.loaders.event_by_id.load(pk)
    if row is None or not info.context.access.serves_site(row.site_id):
        return None
    return Event.from_row(row)


_RESOLVERS: dict[str, Callable[[AppInfo, int], Awaitable[Node | None]]] = {
    "Site": _site,
    "Campaign": _campaign,
    "Customer": _customer,
    "Balance": _balance,
    "Expiry": _expiry,
    "TierProgress": _tier_progress,
    "LedgerEntry": _entry,
    "Tier": _tier,
    "Offer": _offer,
    "Order": _order,
    "Event": _event,
}
