"""Coupon code batches and product exchanges."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, func, select

from loyalty_gql.db.dialect import insert_for
from loyalty_gql.db.models import CouponCodeRow, ExchangeRow
from loyalty_gql.db.paging import Window, windowed
from loyalty_gql.db.session import Session
from loyalty_gql.db.versions import scoped, touch
from loyalty_gql.domain.offers import ExchangeStatus


async def add_coupon_codes(
    session: Session, *, site_id: int, offer_id: int, codes: Sequence[str], now: datetime
) -> list[str]:
    """Add the codes to the offer; those that clash with a code of the site are skipped.
    The codes added."""
    insert = insert_for(session)
    touch(session, sites=[site_id])
    result = await session.execute(
        scoped(insert(CouponCodeRow))
        .values(
            [
                {"site_id": site_id, "offer_id": offer_id, "code": code, "created_at": now}
                for code in codes
            ]
        )
        .on_conflict_do_nothing()
        .returning(CouponCodeRow.code)
    )
    return list(result.scalars())


async def exchange_by_id(session: Session, exchange_id: int) -> ExchangeRow | None:
    """One exchange (from the session's identity map when it holds it already)."""
    return await session.get(ExchangeRow, exchange_id)


async def locked_exchange(session: Session, exchange_id: int, *, lock: bool) -> ExchangeRow | None:
    """One exchange, locked for update when ``lock``."""
    query = select(ExchangeRow).where(ExchangeRow.id == exchange_id)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def exchange_page(
    session: Session, site_id: int, window: Window, *, status: ExchangeStatus | None
) -> list[ExchangeRow]:
    """A window of a site's exchanges, newest first."""
    query = windowed(_exchanges_of(site_id, status), ExchangeRow.id, window, descending=True)
    return list(await session.scalars(query))


async def count_exchanges(session: Session, site_id: int, *, status: ExchangeStatus | None) -> int:
    """How many of a site's exchanges there are (in ``status``), along its index."""
    query = _exchanges_of(site_id, status).with_only_columns(
        func.count(), maintain_column_froms=True
    )
    return int(await session.scalar(query) or 0)


def _exchanges_of(site_id: int, status: ExchangeStatus | None) -> Select[ExchangeRow]:
    query = select(ExchangeRow).where(ExchangeRow.site_id == site_id)
    if status:
        query = query.where(ExchangeRow.status == status)
    return query
