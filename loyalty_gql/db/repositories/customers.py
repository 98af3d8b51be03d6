"""Reading customers: by id, by external id, and keyset pages."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, func, or_, select, text

from loyalty_gql.db.models import CustomerRow
from loyalty_gql.db.paging import Window, windowed
from loyalty_gql.db.session import Session


async def customer_by_id(
    session: Session, customer_id: int, *, lock: bool = False
) -> CustomerRow | None:
    """One customer, optionally locked for update."""
    query = select(CustomerRow).where(CustomerRow.id == customer_id)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def snapshot_data_version(session: Session, customer_id: int) -> int | None:
    """Begin one snapshot for everything the (new, read) session reads next, and read the
    customer's data version in it: the session then reads the customer's data as it was
    at that version. REPEATABLE READ on PostgreSQL; on SQLite a read transaction (its
    readers otherwise send no BEGIN, and each statement reads a snapshot of its own)."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    else:
        await session.execute(text("BEGIN"))
    version = await session.scalar(
        select(CustomerRow.data_version).where(CustomerRow.id == customer_id)
    )
    return None if version is None else int(version)


async def customer_by_external_id(
    session: Session, site_id: int, external_id: str
) -> CustomerRow | None:
    """The site's customer with this external id, if registered."""
    return await session.scalar(
        select(CustomerRow).where(
            CustomerRow.site_id == site_id, CustomerRow.external_id == external_id
        )
    )


async def external_id_taken(session: Session, site_id: int, external_id: str) -> bool:
    """Whether a customer of the site already has this external id."""
    found = await session.scalar(
        select(CustomerRow.id).where(
            CustomerRow.site_id == site_id, CustomerRow.external_id == external_id
        )
    )
    return found is not None


async def customers_by_ids(session: Session, ids: Sequence[int]) -> dict[int, CustomerRow]:
    """Customers keyed by id, in one query."""
    rows = await session.scalars(select(CustomerRow).where(CustomerRow.id.in_(ids)))
    return {row.id: row for row in rows}


async def customers_by_external_ids(
    session: Session, keys: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], CustomerRow]:
    """Customers keyed by (site id, external id), in one query."""
    conditions = [
        (CustomerRow.site_id == site) & (CustomerRow.external_id == external)
        for site, external in keys
    ]
    rows = await session.scalars(select(CustomerRow).where(or_(*conditions)))
    return {(row.site_id, row.external_id): row for row in rows}


async def customer_page(
    session: Session, site_id: int, window: Window, *, search: str | None
) -> list[CustomerRow]:
    """A window of a site's customers in id order, optionally matching a search."""
    query = windowed(_customers_of(site_id, search), CustomerRow.id, window, descending=False)
    return list(await session.scalars(query))


async def count_customers(session: Session, site_id: int, *, search: str | None) -> int:
    """How many customers of a site match the search (all without one)."""
    query = _customers_of(site_id, search).with_only_columns(
        func.count(), maintain_column_froms=True
    )
    return int(await session.scalar(query) or 0)


def _customers_of(site_id: int, search: str | None) -> Select[CustomerRow]:
    query = select(CustomerRow).where(CustomerRow.site_id == site_id)
    if search:
        pattern = _like_prefix(search.strip().lower())
        query = query.where(
            or_(
                CustomerRow.email.like(pattern, escape="\\"),
                func.lower(CustomerRow.name).like(pattern, escape="\\"),
                CustomerRow.external_id == search.strip(),
            )
        )
    return query


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"


async def customer_by_referral_code(
    session: Session, site_id: int, code: str, *, lock: bool = False
) -> CustomerRow | None:
    """The site's customer whose referral code this is (``code`` in its stored, upper-case
    spelling), optionally locked for update: the cap on their friends counts under it."""
    query = select(CustomerRow).where(
        CustomerRow.site_id == site_id, CustomerRow.referral_code == code
    )
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def birthday_customers(
    session: Session,
    site_id: int,
    days: Sequence[tuple[int, int]],
    *,
    after_id: int,
    limit: int,
    enrolled_only: bool = True,
) -> list[CustomerRow]:
    """A batch of the site's customers born on one of ``days`` (month, day), in id order
    after ``after_id`` (keyset: pass the last id of the previous batch). Reads
    ``ix_customers_site_birthday`` (site, month, day, id) once per day asked."""
    born = or_(
        *(
            (CustomerRow.birth_month == month) & (CustomerRow.birth_day == day)
            for month, day in days
        )
    )
    query = (
        select(CustomerRow)
        .where(CustomerRow.site_id == site_id, born, CustomerRow.id > after_id)
        .order_by(CustomerRow.id)
        .limit(limit)
    )
    if enrolled_only:
        query = query.where(CustomerRow.enrolled_at.is_not(None))
    return list(await session.scalars(query))
