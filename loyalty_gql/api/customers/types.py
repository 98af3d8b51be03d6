"""GraphQL type of a customer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import strawberry

from loyalty_gql.api.core.ids import to_global_id
from loyalty_gql.api.core.node import Node, builds_node
from loyalty_gql.api.core.pagination import (
    AFTER_ARG,
    BEFORE_ARG,
    FIRST_ARG,
    LAST_ARG,
    Connection,
    ConnT,
    CountedConnection,
    connect,
    page_of,
)
from loyalty_gql.api.core.permissions import WITHIN_PARENT, CanSeeCustomer, CanServeSite
from loyalty_gql.api.core.resolving import AppInfo
from loyalty_gql.api.gamification.types import ChallengeProgress, CustomerBadgeView
from loyalty_gql.api.insight.types import CustomerInsight
from loyalty_gql.api.leaderboards.types import ViewerLeaderboard, viewer_leaderboards
from loyalty_gql.api.offers.my_offers import KIND, MyOffer, my_offers
from loyalty_gql.api.orders.types import Order
from loyalty_gql.api.points.types import Balance, LedgerEntry, LedgerEntryConnection, Voucher
from loyalty_gql.api.sites.types import Site
from loyalty_gql.api.tiers.types import Tier, TierProgress
from loyalty_gql.db.models import CustomerRow
from loyalty_gql.domain.tiers import next_tier
from loyalty_gql.services.gamification import views as gamification_views


async def tier_progress_of(info: AppInfo, customer_pk: int) -> TierProgress:
    """How far the customer is from the next tier (for the field and for ``node(id:)``)."""
    progress_id = to_global_id("TierProgress", customer_pk)
    standing = await info.context.loaders.tier_standing.load(customer_pk)
    upcoming = next_tier(standing.rules, standing.current) if standing else None
    if standing is None or upcoming is None:
        return TierProgress(id=progress_id, next_tier=None, metric=None, value=0, remaining=0)
    value = standing.measures.get((upcoming.metric, upcoming.window_months), 0)
    # from the standing's own rows: a load by id here would race the current tier's
    # load (the `tier` field), one query or two depending on which answers first
    row = standing.rows.get(upcoming.id)
    return TierProgress(
        id=progress_id,
        next_tier=Tier.from_row(row) if row else None,
        metric=upcoming.metric,
        value=value,
        remaining=max(0, upcoming.threshold - value),
    )


@strawberry.type(description="A birth date: month and day, the year when given.")
class BirthDate:
    """A customer's birth date."""

    month: int = strawberry.field(description="Month, 1-12.", metadata=WITHIN_PARENT)
    day: int = strawberry.field(description="Day of the month.", metadata=WITHIN_PARENT)
    year: int | None = strawberry.field(
        description="Year; null when the customer gave only month and day.",
        metadata=WITHIN_PARENT,
    )


@strawberry.type(description="A customer's place in the referral program.")
class Referral:
    """The customer's personal referral code and what it brought."""

    customer_pk: strawberry.Private[int]
    code: str = strawberry.field(
        description="The personal code friends register or enrol with (case-insensitive); "
        "it brings friends while the customer is enrolled.",
        metadata=WITHIN_PARENT,
    )

    @strawberry.field(
        description="How many friends were linked to the customer as their referrer.",
        metadata=WITHIN_PARENT,
    )
    async def referred_count(self, info: AppInfo) -> int:
        """Friends linked."""
        return await info.context.loaders.referred_count.load(self.customer_pk) or 0

    @strawberry.field(
        description="Points the customer earned for referrals, net of what was taken back "
        "(a friend's cancelled first order).",
        metadata=WITHIN_PARENT,
    )
    async def points_earned(self, info: AppInfo) -> int:
        """Referral points, net."""
        return await info.context.loaders.referral_points.load(self.customer_pk) or 0


@strawberry.type(description="A customer of a shop, as the shop registered them.")
class Customer(Node):
    """A registered customer and their place in the program."""

    pk: strawberry.Private[int]
    site_pk: strawberry.Private[int]
    customer_pk: strawberry.Private[int]
    external_id: str = strawberry.field(
        description="The customer's id in the shop's platform.",
        permission_classes=[CanSeeCustomer],
    )
    email: str | None = strawberry.field(
        description="Email address, lower-cased.", permission_classes=[CanSeeCustomer]
    )
    name: str | None = strawberry.field(
        description="Name for greetings.", permission_classes=[CanSeeCustomer]
    )
    groups: list[str] = strawberry.field(
        description="Customer groups the shop assigned (offers can be limited to them).",
        permission_classes=[CanSeeCustomer],
    )
    marketing_consent: bool = strawberry.field(
        description="Whether the customer agreed to marketing messages.",
        permission_classes=[CanSeeCustomer],
    )
    enrolled_at: datetime | None = strawberry.field(
        description="When the customer joined the program; null when not enrolled.",
        permission_classes=[CanSeeCustomer],
    )
    created_at: datetime = strawberry.field(
        description="When the shop registered the customer.", permission_classes=[CanSeeCustomer]
    )
    updated_at: datetime = strawberry.field(
        description="When the profile last changed.", permission_classes=[CanSeeCustomer]
    )
    birth_date: BirthDate | None = strawberry.field(
        description="The customer's birth date (month and day, the year optional); null when "
        "not given. Birthday campaigns apply on that day in the site's timezone (29 February: "
        "on 28 February in other years).",
        permission_classes=[CanSeeCustomer],
    )
    referral: Referral = strawberry.field(
        description="The customer's referral code and the friends and points it brought.",
        permission_classes=[CanSeeCustomer],
    )

    @strawberry.field(
        description="Whether the customer takes part in the program (earns and spends points).",
        permission_classes=[CanSeeCustomer],
    )
    def enrolled(self) -> bool:
        """Whether the customer is enrolled."""
        return self.enrolled_at is not None

    @strawberry.field(
        description="The shop the customer belongs to.", permission_classes=[CanSeeCustomer]
    )
    async def site(self, info: AppInfo) -> Site:
        """The customer's site."""
        row = await info.context.loaders.site_by_id.load(self.site_pk)
        return Site.from_row(row)

    @strawberry.field(description="The customer's points.", permission_classes=[CanSeeCustomer])
    async def balance(self, info: AppInfo) -> Balance:
        """Balances from the customer's account."""
        account = await info.context.loaders.account_by_customer.load(self.pk)
        return Balance.of(account, self.pk, info.context.clock())

    @strawberry.field(
        description="The customer's tier; null when they have none.",
        permission_classes=[CanSeeCustomer],
    )
    async def tier(self, info: AppInfo) -> Tier | None:
        """The current tier."""
        account = await info.context.loaders.account_by_customer.load(self.pk)
        if account is None or account.tier_id is None:
            return None
        row = await info.context.loaders.tier_by_id.load(account.tier_id)
        return Tier.from_row(row) if row else None

    @strawberry.field(
        description="How far the customer is from the next tier.",
        permission_classes=[CanSeeCustomer],
    )
    async def tier_progress(self, info: AppInfo) -> TierProgress:
        """Progress towards the next tier."""
        return await tier_progress_of(info, self.pk)

    @strawberry.field(
        description="The customer's ledger, newest entry first.",
        permission_classes=[CanSeeCustomer],
    )
    async def ledger(
        self,
        info: AppInfo,
        first: FIRST_ARG = None,
        after: AFTER_ARG = None,
        last: LAST_ARG = None,
        before: BEFORE_ARG = None,
    ) -> LedgerEntryConnection:
        """A page of ledger entries."""
        loaders = info.context.loaders
        return await _own_page(
            info, LedgerEntryConnection, "Customer.ledger", (first, last, after, before),
            loaders.ledger_page, loaders.ledger_length, self.pk, LedgerEntry.from_row,
        )  # fmt: skip

    @strawberry.field(
        description="The customer's orders, newest first: status, totals, points earned, "
        'pending and taken back ("My orders").',
        permission_classes=[CanSeeCustomer],
    )
    async def orders(
        self,
        info: AppInfo,
        first: FIRST_ARG = None,
        after: AFTER_ARG = None,
        last: LAST_ARG = None,
        before: BEFORE_ARG = None,
    ) -> CustomerOrderConnection:
        """A page of the customer's orders, batched with the response's other customers."""
        loaders = info.context.loaders
        return await _own_page(
            info, CustomerOrderConnection, "Customer.orders", (first, last, after, before),
            loaders.order_page, loaders.order_count, self.pk, Order.from_row,
        )  # fmt: skip

    @strawberry.field(
        description="The site's live leaderboards now: each one's top and the customer's "
        "own place with neighbours (never served from the response cache).",
        permission_classes=[CanSeeCustomer],
    )
    async def leaderboards(self, info: AppInfo) -> list[ViewerLeaderboard]:
        """The customer's leaderboards."""
        return await viewer_leaderboards(info, self.pk, self.site_pk)

    @strawberry.field(
        description="Vouchers the customer owns, newest first.",
        permission_classes=[CanSeeCustomer],
    )
    async def vouchers(self, info: AppInfo) -> list[Voucher]:
        """The customer's vouchers."""
        rows = await info.context.loaders.vouchers_by_customer.load(self.pk)
        return [Voucher.from_row(row) for row in rows or []]

    @strawberry.field(
        description='"My offers": offers the customer can buy with points or was given.',
        permission_classes=[CanSeeCustomer],
    )
    async def offers(
        self,
        info: AppInfo,
        *,
        kind: KIND = None,
        first: FIRST_ARG = None,
        after: AFTER_ARG = None,
        last: LAST_ARG = None,
        before: BEFORE_ARG = None,
    ) -> Connection[MyOffer]:
        """A page of the customer's offers."""
        row = await info.context.loaders.customer_by_id.load(self.pk)
        return await my_offers(info, row, kind, first=first, after=after, last=last, before=before)

    @strawberry.field(
        description="The customer's badges: earned ones (newest first, with the date), then "
        "the visible locked ones with how to earn them; hidden ones appear once earned.",
        permission_classes=[CanSeeCustomer],
    )
    async def badges(self, info: AppInfo) -> list[CustomerBadgeView]:
        """The customer's badge list (one statement)."""
        async with info.context.read_session() as session:
            lines = await gamification_views.badges_of_customer(session, self.site_pk, self.pk)
        return [CustomerBadgeView.of(line) for line, _ in lines]

    @strawberry.field(
        description="The published challenges the customer takes part in, with their progress "
        "(value, target, when it runs out); ended ones only once completed.",
        permission_classes=[CanSeeCustomer],
    )
    async def challenges(self, info: AppInfo) -> list[ChallengeProgress]:
        """The customer's challenges (three statements, whatever their number)."""
        ctx = info.context
        row = await ctx.loaders.customer_by_id.load(self.pk)
        site = await ctx.loaders.site_by_id.load(self.site_pk)
        account = await ctx.loaders.account_by_customer.load(self.pk)
        if row is None or site is None:  # pragma: no cover - checked by the permission
            return []
        now = ctx.clock()
        async with ctx.read_session() as session:
            found, turns = await gamification_views.challenges_of_customer(
                session, site, row, account.tier_id if account else None, now
            )
        if ctx.freshness is not None and turns is not None:  # progress changes by time then
            ctx.freshness.expires(turns)
        return [ChallengeProgress.of(view.row, view.progress) for view in found]

    @strawberry.field(
        description="How the customer buys: orders, spend, favourite categories and products "
        "(admins and the shop backend; null with an error for anyone else).",
        permission_classes=[CanServeSite],
    )
    async def insight(self, info: AppInfo) -> CustomerInsight | None:
        """The customer's insight, batched with the other customers of the response."""
        result = await info.context.loaders.customer_insight.load(self.pk)
        site = await info.context.loaders.site_by_id.load(self.site_pk)
        if result is None or site is None:  # pragma: no cover - every customer has a site
            raise LookupError(self.pk)
        return CustomerInsight.of(result, site.currency)

    @classmethod
    def from_row(cls, row: CustomerRow) -> Customer:
        """The GraphQL object of a customer row."""
        return cls(
            id=to_global_id("Customer", row.id),
            pk=row.id,
            site_pk=row.site_id,
            customer_pk=row.id,
            external_id=row.external_id,
            email=row.email,
            name=row.name,
            groups=list(row.groups),
            marketing_consent=row.marketing_consent,
            enrolled_at=row.enrolled_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            birth_date=(
                None
                if row.birth_month is None or row.birth_day is None
                else BirthDate(month=row.birth_month, day=row.birth_day, year=row.birth_year)
            ),
            referral=Referral(customer_pk=row.id, code=row.referral_code),
        )


@strawberry.type(
    name="OrderConnection",
    description="A page of a customer's orders, newest first, and how many they have.",
)
class CustomerOrderConnection(CountedConnection[Order]):
    """A customer's orders, newest first."""


@strawberry.type(
    name="CustomerConnection", description="A page of a site's customers, and how many match."
)
class CustomerConnection(CountedConnection[Customer]):
    """Customers in registration order."""


builds_node("Customer", Customer.from_row)


async def _own_page(  # noqa: PLR0917 - one call per list, its parts in this order
    info: AppInfo,
    kind: type[ConnT],
    list_name: str,
    bounds: tuple[int | None, int | None, str | None, str | None],
    pages: Any,
    counts: Any,
    customer_pk: int,
    node: Callable[[Any], object],
) -> ConnT:
    """A page of one of the customer's lists (ledger, orders), batched through ``pages``
    with the response's other customers; its length from ``counts`` when selected."""
    first, last, after, before = bounds
    settings = info.context.settings
    page = page_of(
        list_name, first=first, last=last, after=after, before=before,
        default=settings.default_page_size, maximum=settings.max_page_size,
    )  # fmt: skip
    rows = await pages.load((customer_pk, page.window()))

    async def count() -> int:
        return await counts.load(customer_pk) or 0

    return connect(kind, rows, page, list_name, key=lambda r: [r.id], node=node, count=count)
