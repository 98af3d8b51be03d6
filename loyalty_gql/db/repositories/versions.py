"""What the response cache asks the database besides the read versions (db/versions.py):
the next instant at which the clock alone changes what a customer sees."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select

from loyalty_gql.db.models import (
    OfferRow,
    PointAccountRow,
    PointLotRow,
    VoucherRow,
)
from loyalty_gql.db.session import Session


def _earliest(values: Sequence[datetime | None]) -> datetime | None:
    found = [v if v.tzinfo is not None else v.replace(tzinfo=UTC) for v in values if v]
    return min(found, default=None)


async def site_time_edge(session: Session, site_id: int, now: datetime) -> datetime | None:
    """The first instant after ``now`` at which one of the site's offers starts or ends."""
    row = (
        await session.execute(
            select(
                select(func.min(OfferRow.valid_from))
                .where(OfferRow.site_id == site_id, OfferRow.valid_from > now)
                .scalar_subquery(),
                select(func.min(OfferRow.valid_until))
                .where(OfferRow.site_id == site_id, OfferRow.valid_until > now)
                .scalar_subquery(),
            )
        )
    ).one()
    return _earliest(tuple(row))


async def customer_time_edge(session: Session, customer_id: int, now: datetime) -> datetime | None:
    """The first instant after ``now`` at which one of the customer's vouchers, open lots
    or rolling points expire."""
    row = (
        await session.execute(
            select(
                select(func.min(VoucherRow.expires_at))
                .where(VoucherRow.customer_id == customer_id, VoucherRow.expires_at > now)
                .scalar_subquery(),
                select(func.min(PointLotRow.expires_at))
                .where(
                    PointLotRow.customer_id == customer_id,
                    PointLotRow.remaining > 0,
                    PointLotRow.expires_at > now,
                )
                .scalar_subquery(),
                select(PointAccountRow.rolling_expires_at)
                .where(
                    PointAccountRow.customer_id == customer_id,
                    PointAccountRow.rolling_expires_at > now,
                )
                .scalar_subquery(),
            )
        )
    ).one()
    return _earliest(tuple(row))
