"""Queries on the shop's ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from loyalty_gql.api.core.errors import BadRequestError
from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.api.core.pagination import (
    AFTER_ARG,
    BEFORE_ARG,
    FIRST_ARG,
    LAST_ARG,
    connect,
    page_of,
)
from loyalty_gql.api.core.permissions import IsStaff
from loyalty_gql.api.core.resolving import AppInfo, staff_site
from loyalty_gql.api.points.types import LedgerEntry, LedgerEntryConnection
from loyalty_gql.db.repositories.points.ledger import site_ledger_page
from loyalty_gql.domain.points import EntryKind


@strawberry.input(description="Which ledger entries to list.")
class LedgerFilter:
    """Filters of the shop's ledger."""

    kinds: list[EntryKind] | None = strawberry.field(default=None, description="Only these kinds.")
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this customer's entries."
    )
    since: datetime | None = strawberry.field(
        default=None, description="Written at or after this moment."
    )
    until: datetime | None = strawberry.field(default=None, description="Written before this.")


@strawberry.type
class PointsQueries:
    """Reading the ledger."""

    @strawberry.field(
        description="The whole shop's ledger, newest first (admins and the shop backend).",
        permission_classes=[IsStaff],
    )
    async def ledger_entries(
        self,
        info: AppInfo,
        *,
        site_id: Annotated[
            strawberry.ID, strawberry.argument(description="Global ID of the site.")
        ],
        first: FIRST_ARG = None,
        after: AFTER_ARG = None,
        filter: Annotated[
            LedgerFilter | None, strawberry.argument(description="Which entries.")
        ] = None,
        last: LAST_ARG = None,
        before: BEFORE_ARG = None,
    ) -> LedgerEntryConnection:
        """A page of the site's ledger."""
        settings = info.context.settings
        site_pk = staff_site(info, site_id)
        page = page_of(
            "ledgerEntries", first=first, last=last, after=after, before=before,
            default=settings.default_page_size, maximum=settings.max_page_size,
        )  # fmt: skip
        wanted = filter or LedgerFilter()
        for moment in (wanted.since, wanted.until):
            if moment is not None and moment.utcoffset() is None:
                raise BadRequestError("`since` and `until` need a UTC offset, e.g. ...T12:00:00Z")
        async with info.context.db.read_sessions() as session:
            rows = await site_ledger_page(
                session,
                site_pk,
                page.window(),
                kinds=[k.value for k in wanted.kinds] if wanted.kinds else None,
                customer_id=parse_id(wanted.customer_id, "Customer")
                if wanted.customer_id
                else None,
                since=wanted.since,
                until=wanted.until,
            )
        return connect(
            LedgerEntryConnection, rows, page, "ledgerEntries",
            key=lambda r: [r.id], node=LedgerEntry.from_row,
        )  # fmt: skip
