"""Who a credential names: its site codes and customer external id as database ids."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from loyalty_gql.db.models import CustomerRow, SiteRow
from loyalty_gql.db.session import Session


async def site_ids_by_codes(session: Session, codes: Sequence[str]) -> dict[str, int]:
    """The ids of the sites with these codes, by code (unknown codes are left out)."""
    rows = await session.execute(select(SiteRow.code, SiteRow.id).where(SiteRow.code.in_(codes)))
    return {code: site_id for code, site_id in rows}  # noqa: C416


async def customer_id_by_external_id(
    session: Session, site_id: int, external_id: str
) -> int | None:
    """The id of the site's customer with this external id, if there is one."""
    customer_id: int | None = await session.scalar(
        select(CustomerRow.id).where(
            CustomerRow.site_id == site_id, CustomerRow.external_id == external_id
        )
    )
    return customer_id
