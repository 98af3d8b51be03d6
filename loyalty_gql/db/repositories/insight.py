"""Insight's reads: a statement or two each, over an index or a rollup the writes keep.

Orders of a period come from ix_orders_site_period, ledger flows from customer_days
(ix_customer_days_site_day), an offer's uses from order_offers (ix_order_offers_offer
and ix_order_offers_site_period): index-only scans on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Date, and_, case, cast, distinct, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from loyalty_gql.db.models import (
    CampaignAwardRow,
    CampaignRow,
    CustomerDayRow,
    CustomerRow,
    EnrollmentEventRow,
    OrderLineRow,
    OrderOfferRow,
    OrderRow,
    PointAccountRow,
)
from loyalty_gql.domain.campaigns import CampaignStatus
from loyalty_gql.domain.customers import EnrollmentKind
from loyalty_gql.domain.insight import Period
from loyalty_gql.domain.orders import OrderStatus

LIVE = OrderRow.status != OrderStatus.CANCELLED
VALUE = OrderRow.total_minor - OrderRow.refunded_minor


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind else "sqlite"


def day_of(session: AsyncSession, column: Any) -> ColumnElement[Any]:
    """The UTC day of a timestamp column (a date on PostgreSQL, 'YYYY-MM-DD' on SQLite)."""
    if _dialect(session) == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.substr(column, 1, 10)


def as_date(value: date | str) -> date:
    """A day as either backend returns it."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def _n(value: Any) -> int:
    return int(value or 0)


async def analytic(session: AsyncSession) -> None:
    """Make the session's new transaction fit for several reads that must agree: on
    PostgreSQL one snapshot for all of them (REPEATABLE READ, read only: never a
    serialization failure), and room for their sorts and hashes (the default 4 MB
    spills a month of a large site's orders to disk). SQLite reads are one snapshot
    already. Call it before anything else in the session."""
    if _dialect(session) == "postgresql":
        await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        await session.execute(text("SET LOCAL work_mem = '64MB'"))


# -- the program over a period -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderGroup:
    """Orders of members or of guests in a period."""

    orders: int = 0
    value_minor: int = 0
    discount_minor: int = 0
    customers: int = 0  # identified buyers (anonymous guest orders have none)
    repeat_customers: int = 0  # of them, those with two orders or more


async def order_groups(
    session: AsyncSession, site_id: int, period: Period
) -> dict[bool, OrderGroup]:
    """{member_order: OrderGroup} of the period's orders, in two statements: the sums
    (two groups), then the buyers (grouped by buyer, counting only: PostgreSQL sums of
    bigint are numeric, too slow to keep for every buyer of a large site's month)."""
    in_period = (
        OrderRow.site_id == site_id,
        OrderRow.created_at >= period.start,
        OrderRow.created_at < period.end,
        LIVE,
    )
    totals: dict[bool, list[int]] = {True: [0] * 5, False: [0] * 5}
    sums = await session.execute(
        select(
            OrderRow.member_order,
            func.count(),
            func.sum(VALUE),
            func.sum(OrderRow.discount_minor),
        )
        .where(*in_period)
        .group_by(OrderRow.member_order)
    )
    for member, orders, value, discount in sums:
        totals[bool(member)][:3] = [_n(orders), _n(value), _n(discount)]
    buyers = (
        select(OrderRow.customer_id, OrderRow.member_order, func.count().label("n"))
        .where(*in_period, OrderRow.customer_id.is_not(None))
        .group_by(OrderRow.customer_id, OrderRow.member_order)
        .subquery()
    )
    repeat = 2
    rows = await session.execute(
        select(
            buyers.c.member_order,
            func.count(),
            func.sum(case((buyers.c.n >= repeat, 1), else_=0)),
        ).group_by(buyers.c.member_order)
    )
    for member, customers, repeats in rows:
        totals[bool(member)][3:] = [_n(customers), _n(repeats)]
    return {member: OrderGroup(*numbers) for member, numbers in totals.items()}


@dataclass(frozen=True, slots=True)
class PointFlows:
    """Points earned, redeemed and expired in a period; the balance change after it."""

    earned: int
    redeemed: int
    expired: int
    change_after: int


async def point_flows(session: AsyncSession, site_id: int, period: Period) -> PointFlows:
    """From customer_days: the period's flows and every change of balances since."""
    day = CustomerDayRow.day
    within = and_(day >= period.first, day <= period.last)
    row = (
        await session.execute(
            select(
                func.sum(case((within, CustomerDayRow.points_earned), else_=0)),
                func.sum(case((within, CustomerDayRow.points_redeemed), else_=0)),
                func.sum(case((within, CustomerDayRow.points_expired), else_=0)),
                func.sum(case((day > period.last, CustomerDayRow.points_change), else_=0)),
            ).where(CustomerDayRow.site_id == site_id, day >= period.first)
        )
    ).one()
    return PointFlows(*(_n(v) for v in row))


async def points_available(session: AsyncSession, site_id: int) -> int:
    """Points customers of the site hold now."""
    total = await session.scalar(
        select(func.sum(PointAccountRow.available)).where(PointAccountRow.site_id == site_id)
    )
    return _n(total)


async def members_by_tier(session: AsyncSession, site_id: int) -> dict[int | None, int]:
    """{tier id (None: no tier): members in it now}, in one statement."""
    rows = await session.execute(
        select(PointAccountRow.tier_id, func.count())
        .select_from(CustomerRow)
        .outerjoin(PointAccountRow, PointAccountRow.customer_id == CustomerRow.id)
        .where(CustomerRow.site_id == site_id, CustomerRow.enrolled_at.is_not(None))
        .group_by(PointAccountRow.tier_id)
    )
    return {None if tier_id is None else int(tier_id): _n(count) for tier_id, count in rows}


@dataclass(frozen=True, slots=True)
class Enrolments:
    """Who joined in a period, and joins and leaves since it ended."""

    joined: int  # customers who joined in the period (once each)
    joins_after: int
    leaves_after: int


async def enrolments(session: AsyncSession, site_id: int, period: Period) -> Enrolments:
    """From enrollment_events since the period began, in one statement."""
    at = EnrollmentEventRow.at
    joined = EnrollmentEventRow.kind == EnrollmentKind.ENROLLED.value
    after = at >= period.end
    row = (
        await session.execute(
            select(
                func.count(
                    distinct(case((and_(joined, at < period.end), EnrollmentEventRow.customer_id)))
                ),
                func.sum(case((and_(joined, after), 1), else_=0)),
                func.sum(case((and_(~joined, after), 1), else_=0)),
            ).where(EnrollmentEventRow.site_id == site_id, at >= period.start)
        )
    ).one()
    return Enrolments(*(_n(v) for v in row))


@dataclass(frozen=True, slots=True)
class OfferUse:
    """How an offer did: on a period's orders, or on all of them."""

    offer_id: int
    uses: int
    orders: int
    discount_minor: int
    customers: int = 0
    value_minor: int = 0


async def offer_uses_in(session: AsyncSession, site_id: int, period: Period) -> list[OfferUse]:
    """Uses, orders and discount of each offer on the period's orders, most discount first."""
    discount = func.sum(OrderOfferRow.discount_minor)
    rows = await session.execute(
        select(
            OrderOfferRow.offer_id,
            func.count(),
            func.count(distinct(OrderOfferRow.order_id)),
            discount,
        )
        .where(
            OrderOfferRow.site_id == site_id,
            OrderOfferRow.created_at >= period.start,
            OrderOfferRow.created_at < period.end,
            OrderOfferRow.cancelled.is_(False),
            OrderOfferRow.offer_id.is_not(None),
        )
        .group_by(OrderOfferRow.offer_id)
        .order_by(discount.desc(), OrderOfferRow.offer_id)
    )
    return [OfferUse(_n(o), _n(u), _n(n), _n(d)) for o, u, n, d in rows]


@dataclass(frozen=True, slots=True)
class CampaignUse:
    """What one campaign gave in a period: points (net of take-backs), customers and
    orders reached; and what is left of its budget now (None: no budget)."""

    campaign_id: int
    points: int
    customers: int
    orders: int
    budget_left: int | None


async def campaign_uses_in(
    session: AsyncSession, site_id: int, period: Period
) -> list[CampaignUse]:
    """Each campaign of the site that is not deleted, or that gave something in the period,
    most points first (then by id), in one statement."""
    awards = (
        select(
            CampaignAwardRow.campaign_id.label("campaign_id"),
            func.sum(CampaignAwardRow.points - CampaignAwardRow.points_taken_back).label("points"),
            func.count(distinct(CampaignAwardRow.customer_id)).label("customers"),
            func.count(distinct(CampaignAwardRow.order_id)).label("orders"),
        )
        .where(
            CampaignAwardRow.site_id == site_id,
            CampaignAwardRow.awarded_at >= period.start,
            CampaignAwardRow.awarded_at < period.end,
            CampaignAwardRow.cancelled.is_(False),  # a cancelled award gave nothing
        )
        .group_by(CampaignAwardRow.campaign_id)
        .subquery()
    )
    points = func.coalesce(awards.c.points, 0)
    rows = await session.execute(
        select(
            CampaignRow.id, points, func.coalesce(awards.c.customers, 0),
            func.coalesce(awards.c.orders, 0), CampaignRow.budget_points,
            CampaignRow.budget_spent,
        )
        .outerjoin(awards, awards.c.campaign_id == CampaignRow.id)
        .where(
            CampaignRow.site_id == site_id,
            (CampaignRow.status != CampaignStatus.DELETED.value)
            | awards.c.campaign_id.is_not(None),
        )
        .order_by(points.desc(), CampaignRow.id)
    )  # fmt: skip
    return [
        CampaignUse(_n(pk), _n(p), _n(c), _n(o), None if budget is None else budget - spent)
        for pk, p, c, o, budget, spent in rows
    ]


async def offer_performance(session: AsyncSession, offer_ids: Sequence[int]) -> dict[int, OfferUse]:
    """All-time uses of each offer, with its buyers and its orders' value, in one statement
    over order_offers alone (each row carries its order's customer and value)."""
    await analytic(session)
    per_order = (
        select(
            OrderOfferRow.offer_id,
            OrderOfferRow.order_id,
            OrderOfferRow.customer_id,
            func.count().label("uses"),
            func.sum(OrderOfferRow.discount_minor).label("discount"),
            func.max(OrderOfferRow.order_value_minor).label("value"),
        )
        .where(OrderOfferRow.offer_id.in_(offer_ids), OrderOfferRow.cancelled.is_(False))
        .group_by(OrderOfferRow.offer_id, OrderOfferRow.order_id, OrderOfferRow.customer_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            per_order.c.offer_id,
            func.sum(per_order.c.uses),
            func.count(),
            func.sum(per_order.c.discount),
            func.count(distinct(per_order.c.customer_id)),
            func.sum(per_order.c.value),
        ).group_by(per_order.c.offer_id)
    )
    return {_n(o): OfferUse(_n(o), _n(u), _n(n), _n(d), _n(c), _n(v)) for o, u, n, d, c, v in rows}


# -- daily series -----------------------------------------------------------------------------


async def orders_by_day(
    session: AsyncSession, site_id: int, period: Period, measure: str
) -> dict[date, int]:
    """{day: measure} over the period's orders: ORDERS, MEMBER_ORDERS, GUEST_ORDERS,
    REVENUE, DISCOUNT or ACTIVE_MEMBERS."""
    day = day_of(session, OrderRow.created_at)
    filters = [
        OrderRow.site_id == site_id,
        OrderRow.created_at >= period.start,
        OrderRow.created_at < period.end,
        LIVE,
    ]
    value: ColumnElement[Any]
    if measure == "REVENUE":
        value = func.sum(VALUE)
    elif measure == "DISCOUNT":
        value = func.sum(OrderRow.discount_minor)
    elif measure == "ACTIVE_MEMBERS":
        value = func.count(distinct(OrderRow.customer_id))
        filters.append(OrderRow.member_order.is_(True))
    else:
        value = func.count()
        if measure != "ORDERS":
            filters.append(OrderRow.member_order.is_(measure == "MEMBER_ORDERS"))
    rows = await session.execute(select(day, value).where(*filters).group_by(day))
    return {as_date(d): _n(v) for d, v in rows}


async def point_days(
    session: AsyncSession, site_id: int, column: str, since: date, until: date | None = None
) -> dict[date, int]:
    """{day: sum of a customer_days column} from ``since`` to ``until`` (None: today)."""
    value = func.sum(getattr(CustomerDayRow, column))
    days = [CustomerDayRow.day >= since]
    if until is not None:
        days.append(CustomerDayRow.day <= until)
    rows = await session.execute(
        select(CustomerDayRow.day, value)
        .where(CustomerDayRow.site_id == site_id, *days)
        .group_by(CustomerDayRow.day)
    )
    return {as_date(d): _n(v) for d, v in rows}


async def joins_by_day(session: AsyncSession, site_id: int, period: Period) -> dict[date, int]:
    """{day: customers who joined that day}."""
    day = day_of(session, EnrollmentEventRow.at)
    rows = await session.execute(
        select(day, func.count(distinct(EnrollmentEventRow.customer_id)))
        .where(
            EnrollmentEventRow.site_id == site_id,
            EnrollmentEventRow.kind == EnrollmentKind.ENROLLED.value,
            EnrollmentEventRow.at >= period.start,
            EnrollmentEventRow.at < period.end,
        )
        .group_by(day)
    )
    return {as_date(d): _n(v) for d, v in rows}


# -- customers ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CustomerOrders:
    """A customer's orders, summed."""

    count: int
    first_at: datetime | None
    last_at: datetime | None
    value_minor: int


async def customer_orders(
    session: AsyncSession, customer_ids: Sequence[int]
) -> dict[int, CustomerOrders]:
    """Orders of each customer, summed, in one statement."""
    rows = await session.execute(
        select(
            OrderRow.customer_id,
            func.count(),
            func.min(OrderRow.created_at),
            func.max(OrderRow.created_at),
            func.sum(VALUE),
        )
        .where(OrderRow.customer_id.in_(customer_ids), LIVE)
        .group_by(OrderRow.customer_id)
    )
    return {
        _n(c): CustomerOrders(_n(n), _aware(first), _aware(last), _n(v))
        for c, n, first, last, v in rows
    }


def _aware(value: datetime | str | None) -> datetime | None:
    """min()/max() of a timestamp skip the column's type on SQLite: make it aware UTC."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def customer_lines(
    session: AsyncSession, customer_ids: Sequence[int]
) -> dict[int, list[tuple[str, str, int, int]]]:
    """{customer: [(product, category, quantity, spent)]} of their orders' lines, net of
    refunds, in one statement."""
    rows = await session.execute(
        select(
            OrderRow.customer_id,
            OrderLineRow.product_id,
            OrderLineRow.category,
            func.sum(OrderLineRow.quantity - OrderLineRow.refunded_quantity),
            func.sum(OrderLineRow.final_minor - OrderLineRow.refunded_minor),
        )
        .join(OrderRow, OrderRow.id == OrderLineRow.order_id)
        .where(OrderRow.customer_id.in_(customer_ids), LIVE)
        .group_by(OrderRow.customer_id, OrderLineRow.product_id, OrderLineRow.category)
    )
    found: dict[int, list[tuple[str, str, int, int]]] = {}
    for customer_id, product, category, quantity, spent in rows:
        found.setdefault(_n(customer_id), []).append((product, category, _n(quantity), _n(spent)))
    return found
