"""Reading customers: by id, by external id, and keyset pages."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from loyalty_gql.db.models import CustomerRow


async def customer_by_id(
    session: AsyncSession, customer_id: int, *, lock: bool = False
) -> CustomerRow | None:
    """One customer, optionally locked for update."""
    query = select(CustomerRow).where(CustomerRow.id == customer_id)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def customers_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, CustomerRow]:
    """Customers keyed by id, in one query."""
    rows = await session.scalars(select(CustomerRow).where(CustomerRow.id.in_(ids)))
    return {row.id: row for row in rows}


async def customers_by_external_ids(
    session: AsyncSession, keys: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], CustomerRow]:
    """Customers keyed by (site id, external id), in one query."""
    conditions = [
        (CustomerRow.site_id == site) & (CustomerRow.external_id == external)
        for site, external in keys
    ]
    rows = await session.scalars(select(CustomerRow).where(or_(*conditions)))
    return {(row.site_id, row.external_id): row for row in rows}


def customer_page_query(
    site_id: int, *, after_id: int | None, limit: int, search: str | None
) -> Select[CustomerRow]:
    """Customers of a site in id order after a cursor, optionally matching a search."""
    query = select(CustomerRow).where(CustomerRow.site_id == site_id)
    if after_id is not None:
        query = query.where(CustomerRow.id > after_id)
    if search:
        pattern = _like_prefix(search.strip().lower())
        query = query.where(
            or_(
                CustomerRow.email.like(pattern, escape="\\"),
                func.lower(CustomerRow.name).like(pattern, escape="\\"),
                CustomerRow.external_id == search.strip(),
            )
        )
    return query.order_by(CustomerRow.id).limit(limit)


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"
