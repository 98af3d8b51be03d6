"""Insight: what the program costs (points owed, discounts) and brings in (orders).

Numbers come from rollups and indexes the writes keep (see
loyalty_gql.db.repositories.insight); the rules they follow are in
loyalty_gql.domain.insight.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum

from loyalty_gql.db.models import SiteRow
from loyalty_gql.db.repositories import insight as repo
from loyalty_gql.db.repositories.insight import OfferUse, OrderGroup
from loyalty_gql.db.session import Session
from loyalty_gql.domain.insight import (
    Bought,
    Period,
    average_days_between,
    average_minor,
    points_value_minor,
    rate,
    top_bought,
)
from loyalty_gql.domain.values import currency_exponent


class Metric(Enum):
    """What a daily series counts."""

    ORDERS = "ORDERS"
    MEMBER_ORDERS = "MEMBER_ORDERS"
    GUEST_ORDERS = "GUEST_ORDERS"
    REVENUE = "REVENUE"
    DISCOUNT = "DISCOUNT"
    ACTIVE_MEMBERS = "ACTIVE_MEMBERS"
    NEW_MEMBERS = "NEW_MEMBERS"
    POINTS_ISSUED = "POINTS_ISSUED"
    POINTS_REDEEMED = "POINTS_REDEEMED"
    POINTS_EXPIRED = "POINTS_EXPIRED"
    POINTS_OUTSTANDING = "POINTS_OUTSTANDING"

    @property
    def is_money(self) -> bool:
        """Whether the values are money (minor units of the site's currency)."""
        return self in {Metric.REVENUE, Metric.DISCOUNT}


_POINT_COLUMNS = {
    Metric.POINTS_ISSUED: "points_earned",
    Metric.POINTS_REDEEMED: "points_redeemed",
    Metric.POINTS_EXPIRED: "points_expired",
}


@dataclass(frozen=True, slots=True)
class GroupStats:
    """Members' or guests' orders in the period."""

    group: OrderGroup

    @property
    def repeat_purchase_rate(self) -> float | None:
        """Share of identified buyers who ordered twice or more."""
        return rate(self.group.repeat_customers, self.group.customers)

    @property
    def average_order_minor(self) -> int | None:
        """Mean order value."""
        return average_minor(self.group.value_minor, self.group.orders)


@dataclass(frozen=True, slots=True)
class ProgramStats:
    """The program over a period; members and points at its end."""

    period: Period
    currency: str
    members: int
    new_members: int
    active_members: int
    points_issued: int
    points_redeemed: int
    points_expired: int
    points_outstanding: int
    liability_minor: int | None
    members_orders: GroupStats
    guests_orders: GroupStats
    offers: list[OfferUse]
    tiers: dict[int, int]  # tier id -> members now
    members_now: int
    campaigns: list[repo.CampaignUse]

    @property
    def redemption_rate(self) -> float | None:
        """Points redeemed per point issued in the period."""
        return rate(self.points_redeemed, self.points_issued)

    @property
    def members_without_tier(self) -> int:
        """Members now in no tier."""
        return self.members_now - sum(self.tiers.values())


async def program_stats(session: Session, site: SiteRow, period: Period) -> ProgramStats:
    """Every number of ``programStats``: about ten statements, none proportional to the
    site's whole history except the balances' change since the period ended."""
    await repo.analytic(session)
    groups = await repo.order_groups(session, site.id, period)
    flows = await repo.point_flows(session, site.id, period)
    available = await repo.points_available(session, site.id)
    tiers = await repo.members_by_tier(session, site.id)
    now_members = sum(tiers.values())
    joins = await repo.enrolments(session, site.id, period)
    outstanding = available - flows.change_after
    return ProgramStats(
        period=period,
        currency=site.currency,
        members=now_members - joins.joins_after + joins.leaves_after,
        new_members=joins.joined,
        active_members=groups[True].customers,
        points_issued=flows.earned,
        points_redeemed=flows.redeemed,
        points_expired=flows.expired,
        points_outstanding=outstanding,
        liability_minor=points_value_minor(
            outstanding, site.point_value, currency_exponent(site.currency)
        ),
        members_orders=GroupStats(groups[True]),
        guests_orders=GroupStats(groups[False]),
        offers=await repo.offer_uses_in(session, site.id, period),
        tiers={pk: n for pk, n in tiers.items() if pk is not None},
        members_now=now_members,
        # a site that never had a campaign costs no statement
        campaigns=await repo.campaign_uses_in(session, site.id, period)
        if site.campaigns_version
        else [],
    )


async def program_series(
    session: Session, site: SiteRow, period: Period, metric: Metric
) -> list[tuple[date, int]]:
    """(day, value) for every day of the period, 0 on days without any."""
    by_day: dict[date, int]
    if metric in _POINT_COLUMNS:
        by_day = await repo.point_days(
            session, site.id, _POINT_COLUMNS[metric], period.first, period.last
        )
    elif metric is Metric.NEW_MEMBERS:
        by_day = await repo.joins_by_day(session, site.id, period)
    elif metric is Metric.POINTS_OUTSTANDING:
        return await _outstanding_by_day(session, site, period)
    else:
        by_day = await repo.orders_by_day(session, site.id, period, metric.value)
    return [(day, by_day.get(day, 0)) for day in period.days()]


async def _outstanding_by_day(
    session: Session, site: SiteRow, period: Period
) -> list[tuple[date, int]]:
    """Points held at the end of each day: today's, less every change after that day."""
    await repo.analytic(session)
    available = await repo.points_available(session, site.id)
    changes = await repo.point_days(session, site.id, "points_change", period.first)
    after = sum(v for day, v in changes.items() if day > period.last)
    series: list[tuple[date, int]] = []
    for day in reversed(period.days()):
        series.append((day, available - after))
        after += changes.get(day, 0)
    return series[::-1]


# -- customers ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CustomerInsight:
    """How a customer buys."""

    order_count: int
    first_order_at: datetime | None
    last_order_at: datetime | None
    total_spent_minor: int
    top_categories: list[Bought]
    top_products: list[Bought]

    @property
    def average_days_between_orders(self) -> float | None:
        """Mean days from one order to the next."""
        return average_days_between(self.first_order_at, self.last_order_at, self.order_count)

    @property
    def average_order_minor(self) -> int | None:
        """Mean order value."""
        return average_minor(self.total_spent_minor, self.order_count)


async def customer_insights(
    session: Session, customer_ids: Sequence[int]
) -> dict[int, CustomerInsight]:
    """Insight of many customers in two statements (their orders, their orders' lines)."""
    ids = list(dict.fromkeys(customer_ids))
    orders = await repo.customer_orders(session, ids)
    lines = await repo.customer_lines(session, ids) if orders else {}
    found: dict[int, CustomerInsight] = {}
    for customer_id in ids:
        summed = orders.get(customer_id)
        products: dict[str, tuple[int, int]] = {}
        categories: dict[str, tuple[int, int]] = {}
        for product, category, quantity, spent in lines.get(customer_id, []):
            for totals, key in ((products, product), (categories, category.strip("/"))):
                q, s = totals.get(key, (0, 0))
                totals[key] = (q + quantity, s + spent)
        found[customer_id] = CustomerInsight(
            order_count=summed.count if summed else 0,
            first_order_at=summed.first_at if summed else None,
            last_order_at=summed.last_at if summed else None,
            total_spent_minor=summed.value_minor if summed else 0,
            top_categories=top_bought(categories),
            top_products=top_bought(products),
        )
    return found


async def offer_performance(session: Session, offer_ids: Sequence[int]) -> dict[int, OfferUse]:
    """All-time performance of each offer (offers never used are missing)."""
    return await repo.offer_performance(session, list(dict.fromkeys(offer_ids)))
