"""Helpers resolvers share: the typed context, access checks on arguments, and the
objects an argument names by global ID, loaded and checked in one place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from graphql import GraphQLError
from strawberry.types import Info

from loyalty_gql.api.auth import Access, Role
from loyalty_gql.api.context import Context
from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.api.core.node import ForbiddenError
from loyalty_gql.db.models import CustomerRow, OfferRow, TierRow
from loyalty_gql.domain.checkout import Reason
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.services.core.idempotency import Idempotency

UNKNOWN_CODE = Reason.UNKNOWN_CODE.value

AppInfo = Info[Context, Any]
Row = TypeVar("Row")


class SiteOwned(Protocol):
    """A row of one site."""

    @property
    def site_id(self) -> int:
        """The site's primary key."""
        ...


@dataclass(frozen=True, slots=True)
class NodeKind(Generic[Row]):
    """A type of object named by global ID, and how to load its rows by primary key."""

    type_name: str
    load: Callable[[Context, int], Awaitable[Row | None]]


Check = Callable[[Access, Row], bool]
"""Whether the caller may act on a row."""

CUSTOMER: NodeKind[CustomerRow] = NodeKind(
    "Customer", lambda ctx, pk: ctx.loaders.customer_by_id.load(pk)
)
OFFER: NodeKind[OfferRow] = NodeKind("Offer", lambda ctx, pk: ctx.loaders.offer_by_id.load(pk))
TIER: NodeKind[TierRow] = NodeKind("Tier", lambda ctx, pk: ctx.loaders.tier_by_id.load(pk))


def managed(access: Access, row: SiteOwned) -> bool:
    """The caller administers the row's site."""
    return access.manages_site(row.site_id)


def served(access: Access, row: SiteOwned) -> bool:
    """The caller is the row's site's admin or shop backend."""
    return access.serves_site(row.site_id)


def seen_customer(access: Access, row: CustomerRow) -> bool:
    """The caller is the customer, or the staff of the customer's site."""
    return access.sees_customer(row.site_id, row.id)


async def visible_node(
    info: AppInfo, global_id: str, kind: NodeKind[Row], may: Check[Row]
) -> Row | None:
    """The row a global ID of ``kind`` names; None when there is none or ``may`` refuses."""
    row = await kind.load(info.context, parse_id(global_id, kind.type_name))
    return row if row is not None and may(info.context.access, row) else None


async def node_or_not_found(
    info: AppInfo, global_id: str, kind: NodeKind[Row], may: Check[Row], *, field: str
) -> Row:
    """The row a global ID of ``kind`` names, or NOT_FOUND at the input ``field`` when
    there is none or ``may`` refuses (the caller learns nothing of other sites)."""
    row = await visible_node(info, global_id, kind, may)
    if row is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, f"no such {kind.type_name.lower()}", field)
    return row


def retry_of(info: AppInfo, key: str | None) -> Idempotency:
    """The write a mutation asks for, named after the mutation (``grantPoints``), with the
    caller's idempotency key: what the service needs to run it once."""
    return Idempotency(operation=info.field_name, key=key)


def staff_site(info: AppInfo, site_id: str) -> int:
    """The site's primary key, if the caller is its admin or shop backend."""
    pk = parse_id(site_id, "Site")
    if not info.context.access.serves_site(pk):
        raise ForbiddenError("Not permitted on this site.")
    return pk


def admin_site(info: AppInfo, site_id: str) -> int:
    """The site's primary key, if the caller administers it."""
    pk = parse_id(site_id, "Site")
    if not info.context.access.manages_site(pk):
        raise ForbiddenError("Only an admin of this site may do this.")
    return pk


async def refuse_code_guessing(info: AppInfo) -> None:
    """Refuse to check codes for a caller who tried too many unknown ones this minute
    (THROTTLED; the endpoint answers 429 with Retry-After)."""
    ctx = info.context
    if ctx.throttle is None:
        return
    refused = await ctx.throttle.codes_refused(ctx.caller)
    if refused is not None:
        raise GraphQLError(
            f"More than {refused.limit} unknown codes tried in a minute; try again later.",
            extensions={"code": "THROTTLED", "retryAfter": refused.retry_after},
        )


async def count_unknown_codes(info: AppInfo, rejected: list[dict[str, Any]]) -> None:
    """Count the unknown codes among a quote's rejected offers against the caller."""
    ctx = info.context
    unknown = sum(1 for r in rejected if r["reason"] == UNKNOWN_CODE)
    if ctx.throttle is not None and unknown:
        await ctx.throttle.unknown_codes_tried(ctx.caller, unknown)


async def visible_customer(info: AppInfo, customer_id: str | None) -> int:
    """The customer a mutation acts on, or a NOT_FOUND error if the caller can't see it."""
    access = info.context.access
    if customer_id is None:
        if access.role is Role.CUSTOMER:
            if access.customer_id is not None:
                return access.customer_id
            # the token's subject is no customer of its site (yet): nothing in the input
            # is at fault, and updateMyProfile or setLeaderboardProfile have no customerId
            raise DomainError.single(ErrorCode.NOT_FOUND, "no customer of this site is signed in")
        raise DomainError.single(ErrorCode.REQUIRED, "name the customer", "customer_id")
    row = await node_or_not_found(info, customer_id, CUSTOMER, seen_customer, field="customerId")
    return row.id
