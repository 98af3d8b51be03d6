"""Helpers resolvers share: the typed context and access checks on arguments."""

from __future__ import annotations

from typing import Any

from strawberry.types import Info

from loyalty_gql.api.context import Context
from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.api.core.node import ForbiddenError

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
