"""Campaigns as GraphQL types: their terms in the site's currency, their budget."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry

from loyalty_gql.api.core.ids import to_global_id
from loyalty_gql.api.core.money import Money
from loyalty_gql.api.core.node import Node, builds_node
from loyalty_gql.api.core.pagination import CountedConnection
from loyalty_gql.api.core.permissions import WITHIN_PARENT, CanServeSite
from loyalty_gql.db.models import CampaignRow
from loyalty_gql.db.repositories.campaigns import campaign_of
from loyalty_gql.domain.campaigns import (
    AmountScope,
    CampaignStatus,
    EffectKind,
    LimitPeriod,
    Trigger,
)
from loyalty_gql.domain.values import Money as DomainMoney

strawberry.enum(Trigger, name="CampaignTrigger", description="The event a campaign earns on.")
strawberry.enum(EffectKind, name="CampaignEffectKind", description="What a campaign gives.")
strawberry.enum(
    AmountScope,
    name="CampaignAmountScope",
    description="Which part of a basket a per-amount or multiplier effect counts.",
)
strawberry.enum(
    LimitPeriod,
    name="CampaignLimitPeriod",
    description="The period of a per-customer limit, in the site's timezone.",
)
strawberry.enum(
    CampaignStatus,
    description="DRAFT (not evaluated), LIVE (evaluated) or DELETED (kept for history).",
)


def _within(description: str) -> Any:
    return strawberry.field(description=description, metadata=WITHIN_PARENT)


def _staff(description: str) -> Any:
    return strawberry.field(description=description, permission_classes=[CanServeSite])


@strawberry.type(description="Hours of the site's day, [start, end); start > end wraps.")
class CampaignHours:
    """Whole hours."""

    start: int = _within("First hour (0-23).")
    end: int = _within("The hour it stops (0-23).")


@strawberry.type(description="Conditions a campaign's event must meet, all of them.")
class CampaignConditions:
    """Every condition; an empty one always holds."""

    minimum_order_value: Money | None = _within("The order's total must reach this.")
    products: list[str] = _within("The basket must hold one of these product ids (orders).")
    categories: list[str] = _within("... or a line of one of these categories (orders).")
    minimum_quantity: int | None = _within("Of the matching lines together.")
    minimum_amount: Money | None = _within("Paid for the matching lines together.")
    customer_groups: list[str] = _within("The customer must be in one of these groups.")
    tier_ids: list[strawberry.ID] = _within("The customer must be in one of these tiers.")
    nth_order: int | None = _within("The customer's order number this must be (1: first).")
    weekdays: list[int] = _within("Days of the week, 0 (Monday) to 6, in the site's zone.")
    hours: CampaignHours | None = _within("Hours of the day, in the site's zone.")
    starts_at: datetime | None = _within("From this moment.")
    ends_at: datetime | None = _within("Until this moment (excluded).")
    channels: list[str] = _within("The order's channel must be one of these.")
    activity_code: str | None = _within("Activity campaigns: only this activity.")
    badge_codes: list[str] = _within("The customer must hold one of these badges.")


@strawberry.type(description="What a campaign gives.")
class CampaignEffect:
    """The effect."""

    kind: EffectKind = _within(
        "Fixed points, points per amount, a multiplier, a voucher or a badge."
    )
    points: int = _within("FIXED_POINTS: the points.")
    points_per_amount: Decimal = _within("POINTS_PER_AMOUNT: points per 1.00 paid.")
    multiplier: Decimal = _within("MULTIPLIER: the order's points times this (2: double).")
    scope: AmountScope = _within("The whole basket or only the matching lines.")
    reward_offer_id: strawberry.ID | None = _within("VOUCHER: the offer whose voucher it gives.")
    badge_code: str | None = _within("BADGE: the code of the badge it grants.")


@strawberry.type(description="How often and how much a campaign gives.")
class CampaignLimits:
    """The limits."""

    per_customer: int | None = _within("Times a customer gets it per period.")
    period: LimitPeriod = _within("The period of perCustomer.")
    budget_points: int | None = _within("Points the campaign may give in all.")
    cap_per_order: int | None = _within("Points one event may get from it.")


@strawberry.type(description="A campaign of a site: a trigger, conditions, an effect, limits.")
class Campaign(Node):
    """A campaign. Staff only (admins change it): null for anyone else."""

    pk: strawberry.Private[int]
    site_pk: strawberry.Private[int]
    name: str | None = _staff("The campaign's name.")
    trigger: Trigger | None = _staff("The event it earns on.")
    status: CampaignStatus | None = _staff("Draft, live or deleted.")
    priority: int | None = _staff("Higher first; decides among exclusive campaigns.")
    exclusive: bool | None = _staff("When it applies, no other campaign adds to the event.")
    conditions: CampaignConditions | None = _staff("All must hold.")
    effect: CampaignEffect | None = _staff("What it gives.")
    limits: CampaignLimits | None = _staff("How often and how much.")
    budget_spent: int | None = _staff(
        "Points its awards hold of the budget (take-backs give back)."
    )
    budget_left: int | None = _staff("Points left of the budget; null without one.")
    version: int | None = _staff("Changes with every change of the campaign.")
    created_at: datetime | None = _staff("When it was created.")
    updated_at: datetime | None = _staff("When it last changed.")

    @classmethod
    def from_row(cls, row: CampaignRow, currency: str) -> Campaign:
        """The campaign a row describes, amounts in the site's currency."""
        domain = campaign_of(row)
        terms, effect, limits = domain.conditions, domain.effect, domain.limits

        def money(minor: int | None) -> Money | None:
            return None if minor is None else Money.of(DomainMoney(minor, currency))

        return cls(
            id=strawberry.ID(to_global_id("Campaign", row.id)), pk=row.id, site_pk=row.site_id,
            name=row.name, trigger=domain.trigger, status=CampaignStatus(row.status),
            priority=row.priority, exclusive=row.exclusive,
            conditions=CampaignConditions(
                minimum_order_value=money(terms.minimum_order_minor),
                products=sorted(terms.products), categories=sorted(terms.categories),
                minimum_quantity=terms.minimum_quantity,
                minimum_amount=money(terms.minimum_amount_minor),
                customer_groups=sorted(terms.customer_groups),
                tier_ids=[strawberry.ID(to_global_id("Tier", t)) for t in sorted(terms.tier_ids)],
                nth_order=terms.nth_order, weekdays=sorted(terms.weekdays),
                hours=CampaignHours(start=terms.hours[0], end=terms.hours[1])
                if terms.hours else None,
                starts_at=terms.starts_at, ends_at=terms.ends_at,
                channels=sorted(terms.channels), activity_code=terms.activity_code,
                badge_codes=sorted(terms.badge_codes),
            ),
            effect=CampaignEffect(
                kind=effect.kind, points=effect.points, points_per_amount=effect.per_amount,
                multiplier=effect.multiplier, scope=effect.scope,
                reward_offer_id=to_global_id("Offer", effect.reward_offer_id)
                if effect.reward_offer_id is not None else None,
                badge_code=effect.badge_code,
            ),
            limits=CampaignLimits(
                per_customer=limits.per_customer, period=limits.period,
                budget_points=limits.budget_points, cap_per_order=limits.cap_per_order,
            ),
            budget_spent=row.budget_spent,
            budget_left=None if row.budget_points is None
            else row.budget_points - row.budget_spent,
            version=row.version, created_at=row.created_at, updated_at=row.updated_at,
        )  # fmt: skip


@strawberry.type(description="A page of a site's campaigns, and how many match.")
class CampaignConnection(CountedConnection[Campaign]):
    """Campaigns, newest first."""


builds_node("Campaign", Campaign.from_row)
