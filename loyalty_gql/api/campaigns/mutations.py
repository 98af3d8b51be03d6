"""Mutations on campaigns (admins of the site)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, TypeVar

import strawberry

from loyalty_gql.api.campaigns.types import Campaign
from loyalty_gql.api.core.arguments import IDEMPOTENCY_KEY, INPUT
from loyalty_gql.api.core.errors import UserError
from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.api.core.permissions import PUBLIC, WITHIN_PARENT, IsAdmin
from loyalty_gql.api.core.refusals import problems_under
from loyalty_gql.api.core.resolving import (
    AppInfo,
    NodeKind,
    admin_site,
    managed,
    node_or_not_found,
    retry_of,
)
from loyalty_gql.db.models import CampaignRow
from loyalty_gql.domain import campaigns as domain
from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem
from loyalty_gql.domain.values import Money as DomainMoney
from loyalty_gql.services.campaigns import catalog as service

T = TypeVar("T")

CAMPAIGN: NodeKind[CampaignRow] = NodeKind(
    "Campaign", lambda ctx, pk: ctx.loaders.campaign_by_id.load(pk)
)


@strawberry.input(description="Hours of the site's day, [start, end); start > end wraps.")
class CampaignHoursInput:
    """Whole hours."""

    start: int = strawberry.field(description="First hour (0-23).")
    end: int = strawberry.field(description="The hour it stops (0-23).")


@strawberry.input(description="Conditions of a campaign; all must hold (empty ones always do).")
class CampaignConditionsInput:
    """Conditions."""

    minimum_order_value: Decimal | None = strawberry.field(
        default=None, description="Orders: the total must reach this (site currency)."
    )
    products: list[str] = strawberry.field(
        default_factory=list, description="Orders: the basket must hold one of these products."
    )
    categories: list[str] = strawberry.field(
        default_factory=list, description="Orders: ... or a line of one of these categories."
    )
    minimum_quantity: int | None = strawberry.field(
        default=None, description="Orders: of the matching lines together."
    )
    minimum_amount: Decimal | None = strawberry.field(
        default=None, description="Orders: paid for the matching lines together."
    )
    customer_groups: list[str] = strawberry.field(
        default_factory=list, description="The customer must be in one of these groups."
    )
    tier_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="The customer must be in one of these tiers."
    )
    nth_order: int | None = strawberry.field(
        default=None, description="Orders: the customer's order number (1: the first)."
    )
    weekdays: list[int] = strawberry.field(
        default_factory=list, description="Days, 0 (Monday) to 6, in the site's timezone."
    )
    hours: CampaignHoursInput | None = strawberry.field(
        default=None, description="Hours of the day in the site's timezone."
    )
    starts_at: datetime | None = strawberry.field(default=None, description="From, with zone.")
    ends_at: datetime | None = strawberry.field(default=None, description="Until, with zone.")
    channels: list[str] = strawberry.field(
        default_factory=list, description="Orders: only from these channels (web, app...)."
    )
    activity_code: str | None = strawberry.field(
        default=None, description="Activity campaigns: only this activity."
    )
    badge_codes: list[str] = strawberry.field(
        default_factory=list,
        description="Only for customers holding one of these badges (codes of the site's "
        "badge types).",
    )


@strawberry.input(description="What a campaign gives.")
class CampaignEffectInput:
    """The effect."""

    kind: domain.EffectKind = strawberry.field(description="What kind of effect.")
    points: int = strawberry.field(default=0, description="FIXED_POINTS: the points.")
    points_per_amount: Decimal = strawberry.field(
        default=Decimal(0), description="POINTS_PER_AMOUNT: points per 1.00 paid."
    )
    multiplier: Decimal = strawberry.field(
        default=Decimal(1), description="MULTIPLIER: the order's points times this."
    )
    scope: domain.AmountScope = strawberry.field(
        default=domain.AmountScope.BASKET, description="The basket or the matching lines."
    )
    reward_offer_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="VOUCHER: the reward or coupon offer whose voucher the customer gets "
        "(free; cancelled with the order while unused).",
    )
    badge_code: str | None = strawberry.field(
        default=None,
        description="BADGE: the code of the site's badge type the customer is granted (once; "
        "it stays when the order is cancelled).",
    )


@strawberry.input(description="How often and how much a campaign gives.")
class CampaignLimitsInput:
    """Limits."""

    per_customer: int | None = strawberry.field(
        default=None, description="Times a customer gets it per period."
    )
    period: domain.LimitPeriod = strawberry.field(
        default=domain.LimitPeriod.LIFETIME, description="The period of perCustomer."
    )
    budget_points: int | None = strawberry.field(
        default=None, description="Points the campaign may give in all (exact under load)."
    )
    cap_per_order: int | None = strawberry.field(
        default=None, description="Points one event may get from it."
    )


@strawberry.input(description="A campaign's terms (the whole set).")
class CampaignInput:
    """Name, trigger, conditions, effect, limits and combination."""

    name: str = strawberry.field(description="The campaign's name (1-100 characters).")
    trigger: domain.Trigger = strawberry.field(description="The event it earns on.")
    effect: CampaignEffectInput = strawberry.field(description="What it gives.")
    conditions: CampaignConditionsInput | None = strawberry.field(
        default=None, description="All must hold; none by default."
    )
    limits: CampaignLimitsInput | None = strawberry.field(
        default=None, description="None by default."
    )
    exclusive: bool = strawberry.field(
        default=False, description="When it applies no other campaign adds to the event."
    )
    priority: int = strawberry.field(
        default=0, description="Higher first (-1000-1000); decides among exclusive ones."
    )


@strawberry.input(description="A new campaign; it starts as a DRAFT.")
class CreateCampaignInput:
    """Site and terms."""

    site_id: strawberry.ID = strawberry.field(description="Global ID of the site.")
    campaign: CampaignInput = strawberry.field(description="The campaign's terms.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="New terms of a campaign (the whole set).")
class UpdateCampaignInput:
    """Which campaign and its new terms."""

    campaign_id: strawberry.ID = strawberry.field(description="Global ID of the campaign.")
    campaign: CampaignInput = strawberry.field(description="The campaign's new terms.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="Which campaign to act on.")
class CampaignActionInput:
    """A campaign."""

    campaign_id: strawberry.ID = strawberry.field(description="Global ID of the campaign.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="A campaign after a change, or why it was refused.")
class CampaignPayload:
    """Result of a campaign mutation."""

    campaign: Campaign | None = strawberry.field(
        description="The campaign as it is now.", metadata=WITHIN_PARENT
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing changed.", metadata=PUBLIC
    )


def _minor(amount: Decimal | None, currency: str, *field: str) -> int | None:
    if amount is None:
        return None
    try:
        return DomainMoney.from_decimal(amount, currency).minor_units
    except (ValueError, ArithmeticError):
        raise DomainError.single(
            ErrorCode.INVALID_VALUE, f"a {currency} amount with at most its decimal places",
            "conditions", *field,
        ) from None  # fmt: skip


def _aware(moment: datetime | None, name: str) -> datetime | None:
    if moment is not None and moment.utcoffset() is None:
        raise DomainError(
            [FieldProblem(("conditions", name), ErrorCode.INVALID_VALUE,
                          "give a UTC offset, e.g. ...T00:00:00Z")]
        )  # fmt: skip
    return moment


def _campaign(data: CampaignInput, currency: str) -> domain.Campaign:
    terms = data.conditions or CampaignConditionsInput()
    effect = data.effect
    limits = data.limits or CampaignLimitsInput()
    return domain.Campaign(
        id=0,
        name=data.name.strip(),
        trigger=data.trigger,
        effect=domain.Effect(
            kind=effect.kind, points=effect.points, per_amount=effect.points_per_amount,
            multiplier=effect.multiplier, scope=effect.scope,
            reward_offer_id=parse_id(effect.reward_offer_id, "Offer")
            if effect.reward_offer_id is not None else None,
            badge_code=effect.badge_code.strip() if effect.badge_code is not None else None,
        ),
        conditions=domain.Conditions(
            minimum_order_minor=_minor(terms.minimum_order_value, currency, "minimumOrderValue"),
            products=frozenset(p.strip() for p in terms.products),
            categories=frozenset(c.strip().strip("/") for c in terms.categories),
            minimum_quantity=terms.minimum_quantity,
            minimum_amount_minor=_minor(terms.minimum_amount, currency, "minimumAmount"),
            customer_groups=frozenset(g.strip() for g in terms.customer_groups),
            tier_ids=frozenset(parse_id(t, "Tier") for t in terms.tier_ids),
            nth_order=terms.nth_order,
            weekdays=frozenset(terms.weekdays),
            hours=(terms.hours.start, terms.hours.end) if terms.hours else None,
            starts_at=_aware(terms.starts_at, "startsAt"),
            ends_at=_aware(terms.ends_at, "endsAt"),
            channels=frozenset(c.strip() for c in terms.channels),
            activity_code=terms.activity_code.strip().upper() if terms.activity_code else None,
            badge_codes=frozenset(b.strip() for b in terms.badge_codes),
        ),
        limits=domain.Limits(
            per_customer=limits.per_customer, period=limits.period,
            budget_points=limits.budget_points, cap_per_order=limits.cap_per_order,
        ),
        exclusive=data.exclusive,
        priority=data.priority,
    )  # fmt: skip


async def campaign_payload(info: AppInfo, row: CampaignRow) -> CampaignPayload:
    info.context.loaders.campaign_by_id.clear(row.id)
    site = await info.context.loaders.site_by_id.load(row.site_id)
    return CampaignPayload(campaign=Campaign.from_row(row, site.currency), user_errors=[])


async def admin_campaign(info: AppInfo, campaign_id: str) -> CampaignRow:
    """The campaign, if the caller administers its site; NOT_FOUND otherwise."""
    return await node_or_not_found(info, campaign_id, CAMPAIGN, managed, field="campaignId")


def _under_campaign(work: Awaitable[T]) -> Awaitable[T]:
    """The service's problems with the terms sit under input.campaign."""
    return problems_under(
        "campaign", work, own=("campaignId", "siteId", "idempotencyKey", "campaign")
    )


@strawberry.type
class CampaignMutations:
    """Managing campaigns."""

    @strawberry.mutation(
        description="Create a campaign as a DRAFT. Admins only.", permission_classes=[IsAdmin]
    )
    async def create_campaign(
        self,
        info: AppInfo,
        input: Annotated[CreateCampaignInput, strawberry.argument(description=INPUT)],
    ) -> CampaignPayload:
        """Create a campaign."""
        ctx = info.context
        site_pk = admin_site(info, input.site_id)
        site = await ctx.loaders.site_by_id.load(site_pk)
        if site is None:
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such site", "siteId")
        row = await _under_campaign(
            _terms_then(
                lambda: service.create_campaign(
                    ctx.db, site_id=site_pk, campaign=_campaign(input.campaign, site.currency),
                    actor=ctx.actor, clock=ctx.clock, retry=retry_of(info, input.idempotency_key),
                )
            )
        )  # fmt: skip
        return await campaign_payload(info, row)

    @strawberry.mutation(
        description="Replace a campaign's terms (not of a deleted one). Admins only.",
        permission_classes=[IsAdmin],
    )
    async def update_campaign(
        self,
        info: AppInfo,
        input: Annotated[UpdateCampaignInput, strawberry.argument(description=INPUT)],
    ) -> CampaignPayload:
        """Update a campaign."""
        ctx = info.context
        current = await admin_campaign(info, input.campaign_id)
        site = await ctx.loaders.site_by_id.load(current.site_id)
        row = await _under_campaign(
            _terms_then(
                lambda: service.update_campaign(
                    ctx.db, campaign_id=current.id,
                    campaign=_campaign(input.campaign, site.currency), actor=ctx.actor,
                    clock=ctx.clock, retry=retry_of(info, input.idempotency_key),
                )
            )
        )  # fmt: skip
        return await campaign_payload(info, row)

    @strawberry.mutation(
        description="Publish a campaign: it is evaluated from now on. Admins only.",
        permission_classes=[IsAdmin],
    )
    async def publish_campaign(
        self,
        info: AppInfo,
        input: Annotated[CampaignActionInput, strawberry.argument(description=INPUT)],
    ) -> CampaignPayload:
        """Publish."""
        return await _change(info, input, "publish")

    @strawberry.mutation(
        description="Take a campaign back to DRAFT (no longer evaluated). Admins only.",
        permission_classes=[IsAdmin],
    )
    async def unpublish_campaign(
        self,
        info: AppInfo,
        input: Annotated[CampaignActionInput, strawberry.argument(description=INPUT)],
    ) -> CampaignPayload:
        """Unpublish."""
        return await _change(info, input, "unpublish")

    @strawberry.mutation(
        description="Delete a campaign (softly: its awards keep pointing at it). Admins only.",
        permission_classes=[IsAdmin],
    )
    async def delete_campaign(
        self,
        info: AppInfo,
        input: Annotated[CampaignActionInput, strawberry.argument(description=INPUT)],
    ) -> CampaignPayload:
        """Delete."""
        return await _change(info, input, "delete")

    @strawberry.mutation(
        description='Copy a campaign as a new DRAFT "Copy of ...", nothing of its budget '
        "spent. Admins only.",
        permission_classes=[IsAdmin],
    )
    async def copy_campaign(
        self,
        info: AppInfo,
        input: Annotated[CampaignActionInput, strawberry.argument(description=INPUT)],
    ) -> CampaignPayload:
        """Copy."""
        ctx = info.context
        original = await admin_campaign(info, input.campaign_id)
        row = await service.copy_campaign(
            ctx.db, campaign_id=original.id, actor=ctx.actor, clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
        )  # fmt: skip
        return await campaign_payload(info, row)


async def _terms_then(work: Callable[[], Awaitable[CampaignRow]]) -> CampaignRow:
    """Build the command and run it: problems building it are the terms' too (they sit
    under input.campaign)."""
    return await work()


async def _change(info: AppInfo, data: CampaignActionInput, action: str) -> CampaignPayload:
    ctx = info.context
    current = await admin_campaign(info, data.campaign_id)
    row = await _under_campaign(
        service.change_campaign_status(
            ctx.db, campaign_id=current.id, action=action, actor=ctx.actor, clock=ctx.clock,
            retry=retry_of(info, data.idempotency_key),
        )
    )  # fmt: skip
    return await campaign_payload(info, row)
