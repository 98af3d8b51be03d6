"""Helpers resolvers share: the typed context and access checks on arguments."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.types import Info

from loyalty_gql.api.context import Context
from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.api.core.node import ForbiddenError
from loyalty_gql.domain.checkout import Reason

UNKNOWN_CODE = Reason.UNKNOWN_CODE.value

AppInfo = Info[Context, Any]


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
