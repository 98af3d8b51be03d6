"""programStats and programSeries: what the program costs and brings in."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from loyalty_gql.api.campaigns.types import Campaign
from loyalty_gql.api.core.money import Money
from loyalty_gql.api.core.node import build_node
from loyalty_gql.api.core.permissions import WITHIN_PARENT, IsAdmin
from loyalty_gql.api.core.resolving import AppInfo, admin_site
from loyalty_gql.api.core.scalars import BigInt
from loyalty_gql.api.insight.types import field, maybe_money, money
from loyalty_gql.api.tiers.types import Tier
from loyalty_gql.db.models import SiteRow
from loyalty_gql.db.repositories.insight import OfferUse
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.insight import Period
from loyalty_gql.domain.values import Money as DomainMoney
from loyalty_gql.services import insight as service

if TYPE_CHECKING:
    from loyalty_gql.api.offers.types import Offer

LazyOffer = Annotated["Offer", strawberry.lazy("loyalty_gql.api.offers.types")]

SiteArg = Annotated[strawberry.ID, strawberry.argument(description="Global ID of the site.")]
FromArg = Annotated[
    date, strawberry.argument(name="from", description="First day of the period (UTC), included.")
]
ToArg = Annotated[
    date,
    strawberry.argument(
        description="Last day of the period (UTC), included; a period is at most 366 days."
    ),
]

strawberry.enum(service.Metric, name="InsightMetric", description="What a daily series counts.")


@strawberry.type(description="Members' or guests' orders in a period (cancelled ones left out).")
class OrderStats:
    """Orders, buyers, repeat buyers, money."""

    orders: int = field("Orders placed in the period.")
    customers: int = field("Customers who placed them (anonymous guest orders have none).")
    repeat_customers: int = field("Of those customers, the ones with two orders or more.")
    repeat_purchase_rate: float | None = field(
        "repeatCustomers / customers (4 decimals); null without customers."
    )
    revenue: Money = field("What the orders cost, less refunds.")
    average_order_value: Money | None = field("revenue / orders; null without orders.")
    discount: Money = field(
        "What offers and member prices took off these orders (points paid are not a "
        "discount: they are pointsRedeemed)."
    )

    @classmethod
    def of(cls, stats: service.GroupStats, currency: str) -> OrderStats:
        """The GraphQL object of a group's numbers."""
        group = stats.group
        return cls(
            orders=group.orders,
            customers=group.customers,
            repeat_customers=group.repeat_customers,
            repeat_purchase_rate=stats.repeat_purchase_rate,
            revenue=money(group.value_minor, currency),
            average_order_value=maybe_money(stats.average_order_minor, currency),
            discount=money(group.discount_minor, currency),
        )


@strawberry.type(description="What one offer did on a period's orders (not cancelled).")
class OfferStats:
    """An offer's uses, orders and discount in the period."""

    offer_pk: strawberry.Private[int]
    currency: strawberry.Private[str]
    orders: int = field("Orders it was used on.")
    uses: int = field("Times it took money off an order.")
    discount_given: Money = field("Money it took off.")

    @strawberry.field(description="The offer.", metadata=WITHIN_PARENT)
    async def offer(self, info: AppInfo) -> LazyOffer | None:
        """The offer (deleted ones too)."""
        row = await info.context.loaders.offer_by_id.load(self.offer_pk)
        return build_node("Offer", row, self.currency) if row else None

    @classmethod
    def of(cls, use: OfferUse, currency: str) -> OfferStats:
        """The GraphQL object of an offer's uses."""
        return cls(
            offer_pk=use.offer_id,
            currency=currency,
            orders=use.orders,
            uses=use.uses,
            discount_given=money(use.discount_minor, currency),
        )


@strawberry.type(description="What one campaign gave in a period (net of take-backs).")
class CampaignStats:
    """A campaign's points, customers and orders in the period, and its budget now."""

    campaign_pk: strawberry.Private[int]
    currency: strawberry.Private[str]
    points_issued: BigInt = field("Points it gave in the period, less what was taken back.")
    customers_reached: int = field("Customers it gave points to in the period.")
    orders: int = field("Orders it gave points on in the period.")
    budget_left: BigInt | None = field("What is left of its budget now; null without one.")

    @strawberry.field(description="The campaign.", metadata=WITHIN_PARENT)
    async def campaign(self, info: AppInfo) -> Campaign | None:
        """The campaign (deleted ones too)."""
        row = await info.context.loaders.campaign_by_id.load(self.campaign_pk)
        return Campaign.from_row(row, self.currency) if row else None


@strawberry.type(description="How many members are in a tier now.")
class TierCount:
    """A tier (or none) and its members."""

    tier_pk: strawberry.Private[int | None]
    members: int = field("Members in the tier now.")

    @strawberry.field(description="The tier; null for members in no tier.", metadata=WITHIN_PARENT)
    async def tier(self, info: AppInfo) -> Tier | None:
        """The tier."""
        if self.tier_pk is None:
            return None
        row = await info.context.loaders.tier_by_id.load(self.tier_pk)
        return Tier.from_row(row) if row else None


@strawberry.type(
    description="What the program did in a period. Orders count unless cancelled, at "
    "their total less refunds; points count on the day they were given, spent or "
    "expired (a reversal is counted back on that day). Point totals are BigInt (they "
    "add up over every customer); counts of members, orders and customers are Int."
)
class ProgramStats:
    """The program's numbers over a period."""

    from_: date = strawberry.field(
        name="from", description="First day of the period (UTC).", metadata=WITHIN_PARENT
    )
    to: date = field("Last day of the period (UTC).")
    members: int = field("Customers enrolled at the end of the period.")
    new_members: int = field("Customers who enrolled in the period (a re-join counts, once).")
    active_members: int = field("Members who placed an order in the period.")
    points_issued: BigInt = field("Points earned (made available) in the period.")
    points_redeemed: BigInt = field("Points spent in the period.")
    points_expired: BigInt = field("Points that expired in the period.")
    points_outstanding: BigInt = field("Points customers held at the end of the period.")
    liability: Money | None = field(
        "What the outstanding points would take off orders at the site's point value "
        "(rounded down); null when the site has no point value."
    )
    redemption_rate: float | None = field(
        "pointsRedeemed / pointsIssued (4 decimals); null when none were issued."
    )
    member_orders: OrderStats = field("Orders that counted for a member's account.")
    guest_orders: OrderStats = field("Other orders: guests and customers not enrolled.")
    offers: list[OfferStats] = field("Each offer used in the period, most discount first.")
    tiers: list[TierCount] = field(
        "Members per tier now (tier history is not kept), members in no tier last."
    )
    campaigns: list[CampaignStats] = field(
        "Each campaign not deleted, or that gave points in the period, most points first."
    )

    @classmethod
    def of(cls, stats: service.ProgramStats) -> ProgramStats:
        """The GraphQL object of the program's numbers."""
        currency = stats.currency
        tiers = [TierCount(tier_pk=pk, members=n) for pk, n in sorted(stats.tiers.items())]
        if stats.members_without_tier:
            tiers.append(TierCount(tier_pk=None, members=stats.members_without_tier))
        return cls(
            from_=stats.period.first,
            to=stats.period.last,
            members=stats.members,
            new_members=stats.new_members,
            active_members=stats.active_members,
            points_issued=stats.points_issued,
            points_redeemed=stats.points_redeemed,
            points_expired=stats.points_expired,
            points_outstanding=stats.points_outstanding,
            liability=maybe_money(stats.liability_minor, currency),
            redemption_rate=stats.redemption_rate,
            member_orders=OrderStats.of(stats.members_orders, currency),
            guest_orders=OrderStats.of(stats.guests_orders, currency),
            offers=[OfferStats.of(use, currency) for use in stats.offers],
            tiers=tiers,
            campaigns=[
                CampaignStats(
                    campaign_pk=use.campaign_id, currency=currency, points_issued=use.points,
                    customers_reached=use.customers, orders=use.orders,
                    budget_left=use.budget_left,
                )
                for use in stats.campaigns
            ],
        )  # fmt: skip


@strawberry.type(description="One day of a series.")
class DailyValue:
    """A day and its value."""

    day: date = field("The day (UTC).")
    value: Decimal = field(
        "The metric's value: a count, points, or an amount in the site's currency."
    )


async def _site_and_period(
    info: AppInfo, site_id: str, first: date, last: date
) -> tuple[SiteRow, Period]:
    site_pk = admin_site(info, site_id)
    period = Period.of(first, last)
    site = await info.context.loaders.site_by_id.load(site_pk)
    if site is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such site", "siteId")
    return site, period


@strawberry.type
class InsightQueries:
    """Program statistics and series."""

    @strawberry.field(
        description="What the program did in a period: members, points, orders of members "
        "and guests, offers, tiers.",
        permission_classes=[IsAdmin],
    )
    async def program_stats(
        self,
        info: AppInfo,
        site_id: SiteArg,
        from_: FromArg,
        to: ToArg,
    ) -> ProgramStats:
        """The program's numbers."""
        site, period = await _site_and_period(info, site_id, from_, to)
        async with info.context.db.report_sessions() as session:
            stats = await service.program_stats(session, site, period)
        return ProgramStats.of(stats)

    @strawberry.field(
        description="One metric per day of a period, for charts (every day, 0 when nothing "
        "happened).",
        permission_classes=[IsAdmin],
    )
    async def program_series(
        self,
        info: AppInfo,
        site_id: SiteArg,
        from_: FromArg,
        to: ToArg,
        metric: Annotated[service.Metric, strawberry.argument(description="What to count.")],
    ) -> list[DailyValue]:
        """A daily series."""
        site, period = await _site_and_period(info, site_id, from_, to)
        async with info.context.db.report_sessions() as session:
            series = await service.program_series(session, site, period, metric)
        if metric.is_money:
            return [
                DailyValue(day=d, value=DomainMoney(v, site.currency).amount) for d, v in series
            ]
        return [DailyValue(day=d, value=Decimal(v)) for d, v in series]
