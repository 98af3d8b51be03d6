"""GraphQL types of a site and its program settings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from loyalty_gql.api.core.ids import to_global_id
from loyalty_gql.api.core.money import Money
from loyalty_gql.api.core.node import Node
from loyalty_gql.api.core.permissions import WITHIN_PARENT, CanSeeSite, CanServeSite
from loyalty_gql.db.models import SiteRow
from loyalty_gql.db.repositories.sites import settings_of
from loyalty_gql.domain.sites import DiscountValueType, Participation, ValidityPolicy
from loyalty_gql.domain.values import PointsRounding

# The domain's enums are exposed as they are (strawberry only annotates the classes).
strawberry.enum(PointsRounding, description="How fractional points become whole points.")
strawberry.enum(Participation, description="Who may collect points.")
strawberry.enum(ValidityPolicy, description="How long points stay valid.")
strawberry.enum(DiscountValueType, description="Percentage or fixed amount off.")


@strawberry.type(description="The voucher given automatically on reaching a number of points.")
class ThresholdReward:
    """Threshold reward settings."""

    enabled: bool = strawberry.field(
        description="Whether the reward is given.", metadata=WITHIN_PARENT
    )
    points: int = strawberry.field(
        description="Points that are converted into one voucher.", metadata=WITHIN_PARENT
    )
    value_type: DiscountValueType = strawberry.field(
        description="Percentage or fixed amount off.", metadata=WITHIN_PARENT
    )
    value: Decimal = strawberry.field(
        description="The percentage, or the amount in the site's currency.",
        metadata=WITHIN_PARENT,
    )
    minimum_order_value: Money = strawberry.field(
        description="Smallest order the voucher applies to.", metadata=WITHIN_PARENT
    )
    validity_days: int = strawberry.field(
        description="Days the voucher stays usable after it is issued.", metadata=WITHIN_PARENT
    )


@strawberry.type(description="An activity a site defines, with its points and a daily cap.")
class CustomActivity:
    """A site-defined activity that earns points."""

    code: str = strawberry.field(
        description="Code the shop backend sends with recordActivity.", metadata=WITHIN_PARENT
    )
    name: str = strawberry.field(description="Name shown to customers.", metadata=WITHIN_PARENT)
    points: int = strawberry.field(description="Points earned each time.", metadata=WITHIN_PARENT)
    daily_cap: int | None = strawberry.field(
        description="Most times per customer per day that earn points; null is no cap.",
        metadata=WITHIN_PARENT,
    )


@strawberry.type(description="A site's loyalty-program settings.")
class Program:
    """Everything that shapes one site's program."""

    enabled: bool = strawberry.field(
        description="Whether the program runs: off means no earning and no offers.",
        metadata=WITHIN_PARENT,
    )
    currency_code: str = strawberry.field(
        description="ISO 4217 currency of the site.", metadata=WITHIN_PARENT
    )
    earn_rate: Decimal = strawberry.field(
        description="Points per 1.00 actually paid (after discounts, before shipping and tax).",
        metadata=WITHIN_PARENT,
    )
    points_rounding: PointsRounding = strawberry.field(
        description="How fractional points are rounded.", metadata=WITHIN_PARENT
    )
    locale: str = strawberry.field(
        description="Language and region notifications write money and dates in.",
        metadata=WITHIN_PARENT,
    )
    timezone: str = strawberry.field(
        description="IANA timezone of the shop (UTC unless set): points are valid through "
        "whole calendar days there, and expiry warnings are due on its days.",
        metadata=WITHIN_PARENT,
    )
    point_value: Decimal | None = strawberry.field(
        description="Money one point pays at checkout; null when points do not pay for orders. "
        "Also the value of the points customers hold (the program's liability).",
        metadata=WITHIN_PARENT,
    )
    participation: Participation = strawberry.field(
        description="Who may take part.", metadata=WITHIN_PARENT
    )
    order_points_pending: bool = strawberry.field(
        description="Whether order points stay pending until the order is completed.",
        metadata=WITHIN_PARENT,
    )
    validity_policy: ValidityPolicy = strawberry.field(
        description="How long points stay valid.", metadata=WITHIN_PARENT
    )
    validity_days: int | None = strawberry.field(
        description="Days of validity for FIXED_DAYS and ROLLING_DAYS, counted in calendar days "
        "of the site's timezone: points earned (ROLLING_DAYS: last order) on 1 March with 30 "
        "days are valid until 31 March, usable all that day, and expire when it ends.",
        metadata=WITHIN_PARENT,
    )
    threshold_reward: ThresholdReward = strawberry.field(
        description="The automatic voucher on reaching a number of points.",
        metadata=WITHIN_PARENT,
    )
    newsletter_signup_points: int = strawberry.field(
        description="Points for signing up to the newsletter (once per customer).",
        metadata=WITHIN_PARENT,
    )
    product_review_points: int = strawberry.field(
        description="Points for a product review (once per product).", metadata=WITHIN_PARENT
    )
    referral_points: int = strawberry.field(
        description="Points for referring a friend whose first order completes.",
        metadata=WITHIN_PARENT,
    )
    referral_monthly_cap: int | None = strawberry.field(
        description="How many friends one referrer may bring per calendar month of the site's "
        "timezone; null: no cap.",
        metadata=WITHIN_PARENT,
    )
    referral_welcome_offer_id: strawberry.ID | None = strawberry.field(
        description="Global ID of the offer whose voucher a referred friend gets; null: none.",
        metadata=WITHIN_PARENT,
    )
    custom_activities: list[CustomActivity] = strawberry.field(
        description="Activities the site defines itself.", metadata=WITHIN_PARENT
    )
    expiry_warning_days: list[int] = strawberry.field(
        description="Days before the last valid day when customers are warned, largest first; "
        "each warning is due on its calendar day in the site's timezone, once.",
        metadata=WITHIN_PARENT,
    )
    exchange_customer_groups: list[str] = strawberry.field(
        description="Only these customer groups may exchange points for products; empty is all.",
        metadata=WITHIN_PARENT,
    )
    exchange_categories: list[str] = strawberry.field(
        description="Product exchanges only in these categories; empty is all.",
        metadata=WITHIN_PARENT,
    )
    version: int = strawberry.field(
        description="Increases by one with every change of the settings.", metadata=WITHIN_PARENT
    )

    @classmethod
    def from_row(cls, row: SiteRow) -> Program:
        """The settings stored on a site row."""
        settings = settings_of(row)
        reward = settings.threshold_reward
        return cls(
            enabled=settings.enabled,
            currency_code=settings.currency,
            earn_rate=settings.earn_rate,
            points_rounding=settings.points_rounding,
            point_value=settings.point_value,
            locale=settings.locale,
            timezone=settings.timezone,
            participation=settings.participation,
            order_points_pending=settings.order_points_pending,
            validity_policy=settings.validity_policy,
            validity_days=settings.validity_days,
            threshold_reward=ThresholdReward(
                enabled=reward.enabled,
                points=reward.points,
                value_type=reward.value_type,
                value=reward.value,
                minimum_order_value=Money.from_decimal(
                    reward.minimum_order_value, settings.currency
                ),
                validity_days=reward.validity_days,
            ),
            newsletter_signup_points=settings.newsletter_signup_points,
            product_review_points=settings.product_review_points,
            referral_points=settings.referral_points,
            referral_monthly_cap=settings.referral_monthly_cap,
            referral_welcome_offer_id=(
                None
                if settings.referral_welcome_offer_id is None
                else to_global_id("Offer", settings.referral_welcome_offer_id)
            ),
            custom_activities=[
                CustomActivity(code=a.code, name=a.name, points=a.points, daily_cap=a.daily_cap)
                for a in settings.custom_activities
            ],
            expiry_warning_days=list(settings.expiry_warning_days),
            exchange_customer_groups=list(settings.exchange_customer_groups),
            exchange_categories=list(settings.exchange_categories),
            version=row.settings_version,
        )


@strawberry.type(description="A shop served by this deployment.")
class Site(Node):
    """One shop and its loyalty program."""

    pk: strawberry.Private[int]
    site_pk: strawberry.Private[int]
    row: strawberry.Private[SiteRow]
    code: str = strawberry.field(
        description="Short unique code of the site, as tokens name it: 2-63 characters of "
        "lower-case a-z, digits 0-9 and -, starting with a letter or digit (shop-a).",
        permission_classes=[CanSeeSite],
    )
    name: str = strawberry.field(description="Name of the shop.", permission_classes=[CanSeeSite])
    created_at: datetime | None = strawberry.field(
        description="When the site was added.", permission_classes=[CanServeSite]
    )

    @strawberry.field(
        description="The program's settings: earn rate, validity, rewards, activities.",
        permission_classes=[CanSeeSite],
    )
    def program(self) -> Program:
        """The site's program settings."""
        return Program.from_row(self.row)

    @classmethod
    def from_row(cls, row: SiteRow) -> Site:
        """The GraphQL object of a site row."""
        return cls(
            id=to_global_id("Site", row.id),
            pk=row.id,
            site_pk=row.id,
            row=row,
            code=row.code,
            name=row.name,
            created_at=row.created_at,
        )
