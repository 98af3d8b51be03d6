"""Queries of activities that earn points: daily caps and referrals."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from loyalty_gql.db.models import LedgerEntryRow, ReferralRow
from loyalty_gql.domain.points import EntryKind


async def activity_earnings_since(
    session: AsyncSession, customer_id: int, activity_code: str, since: datetime
) -> int:
    """How many times the customer earned points for the activity since ``since``."""
    count = await session.scalar(
        select(func.count()).where(
            LedgerEntryRow.customer_id == customer_id,
            LedgerEntryRow.activity_code == activity_code,
            LedgerEntryRow.kind == EntryKind.EARNED.value,
            LedgerEntryRow.created_at >= since,
        )
    )
    return int(count or 0)


async def referral_of(session: AsyncSession, referred_id: int) -> ReferralRow | None:
    """The referral that brought the customer, if any."""
    found: ReferralRow | None = await session.scalar(
        select(ReferralRow).where(ReferralRow.referred_id == referred_id)
    )
    return found


async def unrewarded_referral_of(session: AsyncSession, referred_id: int) -> ReferralRow | None:
    """The referral that brought the customer, if no order of theirs rewarded it yet (or
    the one that did was cancelled)."""
    found: ReferralRow | None = await session.scalar(
        select(ReferralRow).where(
            ReferralRow.referred_id == referred_id,
            ReferralRow.rewarded_entry_id.is_(None),
            ReferralRow.rewarded_order_id.is_(None),
        )
    )
    return found


async def referral_by_id(session: AsyncSession, referral_id: int) -> ReferralRow | None:
    """A referral by primary key (from the session's identity map when loaded)."""
    return await session.get(ReferralRow, referral_id)
