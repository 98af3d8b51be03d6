"""Reading referrals: who brought whom, how many friends a referrer brought (in a month,
for the cap), and the points they earned for them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, func, or_, select

from loyalty_gql.db.models import LedgerEntryRow, OrderRow, ReferralRow
from loyalty_gql.db.session import Session
from loyalty_gql.domain.points import SourceType

REFERRAL_ACTIVITY = "REFERRAL"


async def referrals_since(session: Session, referrer_id: int, since: datetime) -> int:
    """How many friends the referrer was linked to from ``since`` on."""
    count = await session.scalar(
        select(func.count()).where(
            ReferralRow.referrer_id == referrer_id, ReferralRow.created_at >= since
        )
    )
    return int(count or 0)


async def has_orders(session: Session, customer_id: int) -> bool:
    """Whether the shop recorded any order of the customer (whatever became of it)."""
    found = await session.scalar(select(exists().where(OrderRow.customer_id == customer_id)))
    return bool(found)


async def referred_counts(session: Session, referrer_ids: Sequence[int]) -> dict[int, int]:
    """How many friends each referrer was linked to, keyed by referrer (absent: none)."""
    rows = await session.execute(
        select(ReferralRow.referrer_id, func.count())
        .where(ReferralRow.referrer_id.in_(referrer_ids))
        .group_by(ReferralRow.referrer_id)
    )
    return {int(referrer): int(count) for referrer, count in rows.all()}


async def referral_points_earned(session: Session, customer_ids: Sequence[int]) -> dict[int, int]:
    """The points each customer earned for referrals, net of what was taken back (the
    REFERRAL entries, the referral campaigns' entries, whose reference is their award's
    ``referral:`` key, and the reversals of them), keyed by customer (absent: none)."""
    campaign = (LedgerEntryRow.source_type == SourceType.CAMPAIGN.value) & (
        LedgerEntryRow.source_ref.like("referral:%")
    )
    reward = or_(LedgerEntryRow.activity_code == REFERRAL_ACTIVITY, campaign) & (
        LedgerEntryRow.reverses_entry_id.is_(None)
    )
    rewards = select(LedgerEntryRow.id).where(LedgerEntryRow.customer_id.in_(customer_ids), reward)
    rows = await session.execute(
        select(LedgerEntryRow.customer_id, func.sum(LedgerEntryRow.points))
        .where(
            LedgerEntryRow.customer_id.in_(customer_ids),
            or_(reward, LedgerEntryRow.reverses_entry_id.in_(rewards)),
        )
        .group_by(LedgerEntryRow.customer_id)
    )
    return {int(customer): int(points or 0) for customer, points in rows.all()}
