"""Gathering what evaluate() needs from the database (each campaign's uses by the customer
in its period, its budget left, the customer's orders so far) and calling it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from loyalty_gql.db.models import CustomerRow, SiteRow
from loyalty_gql.db.repositories import campaigns as repo
from loyalty_gql.db.repositories.sites import settings_of
from loyalty_gql.db.session import Session
from loyalty_gql.domain.campaigns import (
    Campaign,
    CampaignIndex,
    Event,
    Member,
    OrderLine,
    Outcome,
    Trigger,
    Usage,
    evaluate,
    period_start,
)
from loyalty_gql.domain.checkout import Quote, Shopper
from loyalty_gql.domain.values import currency_exponent
from loyalty_gql.services.campaigns.index import site_campaigns

NOTHING = Outcome()
MAX_CHANNEL = 40


async def order_outcome(  # noqa: PLR0917 - the calculator's facts, one call site each
    session: Session,
    site: SiteRow,
    customer: CustomerRow | None,
    shopper: Shopper | None,
    quote: Quote,
    now: datetime,
    channel: str | None,
    *,
    lock: bool = False,
) -> tuple[Outcome, datetime | None]:
    """What the site's order campaigns give for this quote: the same for the checkout
    query and recordOrder (with ``lock``, PostgreSQL: the budgeted campaigns' rows are
    locked, after the offers, codes and vouchers pricing locked); and the first instant
    after ``now`` at which the answer may change by time alone (None: not before the
    next midnight of the site's zone, when limit periods and weekdays turn)."""
    if site.campaigns_version == 0 or not site.program_enabled:
        return NOTHING, None  # no statement for a site that never had a campaign
    index = await site_campaigns(session, site)
    settings = settings_of(site)
    multiplier = shopper.earn_multiplier if shopper is not None else Decimal(1)
    member = (
        Member(
            groups=shopper.groups,
            tier_id=shopper.tier_id,
            earns_points=shopper.earns_points,
            badges=frozenset(customer.badge_codes),
        )
        if shopper is not None and customer is not None
        else None
    )
    event = Event(
        trigger=Trigger.ORDER,
        at=now,
        zone=settings.zone,
        member=member,
        lines=tuple(
            OrderLine(
                q.line.line_id, q.line.product_id, q.line.category, q.line.quantity, q.final,
                earns_points=q.earns_points,
            )
            for q in quote.lines
        ),
        base_points=quote.base_points,
        earn_rate=settings.earn_rate * multiplier,
        exponent=currency_exponent(site.currency),
        rounding=settings.points_rounding,
        channel=channel,
    )  # fmt: skip
    outcome = await evaluated(session, index, event, customer, lock=lock)
    return outcome, next_change(index.candidates(event), now, settings.zone)


def next_change(candidates: Sequence[Campaign], now: datetime, zone: ZoneInfo) -> datetime | None:
    """The first instant after ``now`` at which one of these campaigns starts or ends, or
    (for one limited to hours of the day) the next hour of the site's zone begins."""
    edges = [
        at
        for c in candidates
        for at in (c.conditions.starts_at, c.conditions.ends_at)
        if at is not None and at > now
    ]
    if any(c.conditions.hours is not None for c in candidates):
        local = now.astimezone(zone).replace(minute=0, second=0, microsecond=0)
        edges.append((local + timedelta(hours=1)).astimezone(UTC))
    return min(edges, default=None)


async def evaluated(
    session: Session,
    index: CampaignIndex,
    event: Event,
    customer: CustomerRow | None,
    *,
    lock: bool = False,
) -> Outcome:
    """evaluate() with the usage of the campaigns the event touches read first."""
    candidates = index.candidates(event)
    if not candidates:
        return NOTHING
    member = event.member
    if (
        member is not None
        and customer is not None
        and any(c.conditions.nth_order is not None for c in candidates)
    ):
        orders = await repo.orders_before(session, customer.id)
        event = _with_orders(event, member, orders)
    usage = await _usage(session, candidates, customer, event, lock=lock)
    return evaluate(index, event, usage)


def _with_orders(event: Event, member: Member, orders: int) -> Event:
    return replace(event, member=replace(member, orders_before=orders))


async def _usage(
    session: Session,
    candidates: Sequence[Campaign],
    customer: CustomerRow | None,
    event: Event,
    *,
    lock: bool,
) -> dict[int, Usage]:
    budgeted = sorted(c.id for c in candidates if c.limits.budget_points is not None)
    spent = await repo.budgets_spent(session, budgeted, lock=lock) if budgeted else {}
    since = {
        c.id: period_start(c.limits.period, event.at, event.zone)
        for c in candidates
        if c.limits.per_customer is not None
    }
    uses = (
        await repo.customer_uses(session, customer.id, since)
        if since and customer is not None and event.member is not None
        else {}
    )
    usage: dict[int, Usage] = {}
    for campaign in candidates:
        budget = campaign.limits.budget_points
        left = None if budget is None else budget - spent.get(campaign.id, budget)
        if campaign.id in since or budget is not None:
            usage[campaign.id] = Usage(customer_uses=uses.get(campaign.id, 0), budget_left=left)
    return usage
