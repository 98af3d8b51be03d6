"""Mutations on sites and their programs."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry.utils.str_converters import to_camel_case

from loyalty_gql.api.core.arguments import IDEMPOTENCY_KEY, INPUT
from loyalty_gql.api.core.errors import UserError
from loyalty_gql.api.core.ids import parse_id
from loyalty_gql.api.core.node import ForbiddenError
from loyalty_gql.api.core.permissions import PUBLIC, WITHIN_PARENT, IsAdmin
from loyalty_gql.api.core.resolving import AppInfo, admin_site, retry_of
from loyalty_gql.api.sites.types import Program, Site
from loyalty_gql.db.models import SiteRow
from loyalty_gql.domain import sites as domain
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.sites import DiscountValueType, Participation, ValidityPolicy
from loyalty_gql.domain.values import PointsRounding
from loyalty_gql.services import sites as service


@strawberry.input(description="A new site.")
class CreateSiteInput:
    """What a new site needs."""

    code: str = strawberry.field(
        description="Short unique code; tokens name sites by it. 2-63 characters of "
        "lower-case a-z, digits 0-9 and -, starting with a letter or digit (shop-a); "
        "anything else is INVALID_VALUE."
    )
    name: str = strawberry.field(description="Name of the shop.")
    currency_code: str = strawberry.field(description="ISO 4217 currency, for example EUR.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="Result of createSite.")
class CreateSitePayload:
    """The site created, or why not."""

    site: Site | None = strawberry.field(
        description="The new site, with its program off.", metadata=WITHIN_PARENT
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why the site was not created.", metadata=PUBLIC
    )


@strawberry.input(description="Threshold reward settings.")
class ThresholdRewardInput:
    """The voucher given automatically on reaching a number of points."""

    enabled: bool = strawberry.field(description="Whether the reward is given.")
    points: int = strawberry.field(description="Points converted into one voucher.")
    value_type: DiscountValueType = strawberry.field(description="Percentage or fixed amount.")
    value: Decimal = strawberry.field(description="The percentage, or the amount.")
    minimum_order_value: Decimal = strawberry.field(
        default=Decimal(0), description="Smallest order the voucher applies to."
    )
    validity_days: int = strawberry.field(
        default=90, description="Days the voucher is usable after it is issued."
    )


@strawberry.input(description="An activity a site defines itself.")
class CustomActivityInput:
    """A site-defined activity."""

    code: str = strawberry.field(description="Code such as BIRTHDAY or APP_INSTALL.")
    name: str = strawberry.field(description="Name shown to customers.")
    points: int = strawberry.field(description="Points earned each time.")
    daily_cap: int | None = strawberry.field(
        default=None, description="Most times per customer per day; null is no cap."
    )


@strawberry.input(description="Program settings to change; omitted fields keep their value.")
class ConfigureProgramInput:
    """A partial update of a site's program."""

    site_id: strawberry.ID = strawberry.field(description="Global ID of the site.")
    enabled: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Switch the program on or off."
    )
    currency_code: str | None = strawberry.field(
        default=strawberry.UNSET, description="ISO 4217 currency."
    )
    earn_rate: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description="Points per 1.00 paid, up to 4 decimal places."
    )
    points_rounding: PointsRounding | None = strawberry.field(
        default=strawberry.UNSET, description="How fractional points are rounded."
    )
    locale: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Language and region notifications write money and dates in (en, de_DE).",
    )
    timezone: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="IANA timezone of the shop (Europe/Berlin, America/New_York, UTC). Points "
        "are valid through whole calendar days there and warnings are due on its days; "
        "a change applies to points earned and orders placed afterwards.",
    )
    point_value: Decimal | None = strawberry.field(
        default=strawberry.UNSET,
        description="Money one point pays at checkout (for example 0.01); null: points do not "
        "pay for orders.",
    )
    participation: Participation | None = strawberry.field(
        default=strawberry.UNSET, description="Who may take part."
    )
    order_points_pending: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Keep order points pending until completion."
    )
    validity_policy: ValidityPolicy | None = strawberry.field(
        default=strawberry.UNSET, description="How long points stay valid."
    )
    validity_days: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Days of validity (FIXED_DAYS, ROLLING_DAYS); null with NONE. Points are "
        "valid through the whole last day in the site's timezone: earned (or, for "
        "ROLLING_DAYS, last ordered) on 1 March with 30 days, valid until 31 March.",
    )
    threshold_reward: ThresholdRewardInput | None = strawberry.field(
        default=strawberry.UNSET, description="The automatic voucher."
    )
    newsletter_signup_points: int | None = strawberry.field(
        default=strawberry.UNSET, description="Points for the newsletter sign-up."
    )
    product_review_points: int | None = strawberry.field(
        default=strawberry.UNSET, description="Points per product review."
    )
    referral_points: int | None = strawberry.field(
        default=strawberry.UNSET, description="Points for a referral."
    )
    referral_monthly_cap: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="How many friends one referrer may bring per calendar month of the "
        "site's timezone; null: no cap.",
    )
    referral_welcome_offer_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="Global ID of the reward or coupon offer whose voucher a friend gets when "
        "linked to a referrer by code; null: no welcome voucher.",
    )
    custom_activities: list[CustomActivityInput] | None = strawberry.field(
        default=strawberry.UNSET, description="The full list of the site's own activities."
    )
    expiry_warning_days: list[int] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Days before the last valid day to warn, e.g. [60, 30, 14, 7]: points valid "
        "until 31 March get the 7-day warning on 24 March (the site's timezone).",
    )
    exchange_customer_groups: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Only these customer groups may exchange points for products; [] for all.",
    )
    exchange_categories: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Product exchanges only in these category paths; [] for all.",
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="Result of configureProgram.")
class ConfigureProgramPayload:
    """The site with its new settings, or why they were refused."""

    site: Site | None = strawberry.field(description="The site.", metadata=WITHIN_PARENT)
    program: Program | None = strawberry.field(
        description="The settings now in force.", metadata=WITHIN_PARENT
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why the settings were refused; nothing was changed then.", metadata=PUBLIC
    )


NOT_NULLABLE = {
    "enabled", "currency_code", "earn_rate", "points_rounding", "participation",
    "order_points_pending", "validity_policy", "threshold_reward", "newsletter_signup_points",
    "product_review_points", "referral_points", "custom_activities", "expiry_warning_days",
    "exchange_customer_groups", "exchange_categories", "locale", "timezone",
}  # fmt: skip


def program_changes(data: ConfigureProgramInput) -> domain.ProgramChanges:
    """The settings changes an input asks for, as domain values."""
    given = {
        name: value
        for name, value in vars(data).items()
        if value is not strawberry.UNSET and name not in ("site_id", "idempotency_key")
    }
    nulls = [name for name, value in given.items() if value is None and name in NOT_NULLABLE]
    if nulls:
        name = to_camel_case(nulls[0])
        raise DomainError.single(ErrorCode.REQUIRED, f"{name} may be omitted but not null", name)
    for name in ("locale", "timezone"):
        if given.get(name) is not None:
            given[name] = given[name].strip()
    if "currency_code" in given:
        given["currency"] = given.pop("currency_code").strip().upper()
    if given.get("threshold_reward") is not None:
        r = given["threshold_reward"]
        given["threshold_reward"] = domain.ThresholdReward(
            r.enabled, r.points, r.value_type, r.value, r.minimum_order_value, r.validity_days
        )
    if given.get("custom_activities") is not None:
        given["custom_activities"] = tuple(
            domain.CustomActivity(a.code.strip(), a.name.strip(), a.points, a.daily_cap)
            for a in given["custom_activities"]
        )
    if given.get("referral_welcome_offer_id") is not None:
        given["referral_welcome_offer_id"] = parse_id(given["referral_welcome_offer_id"], "Offer")
    if given.get("expiry_warning_days") is not None:
        given["expiry_warning_days"] = tuple(given["expiry_warning_days"])
    for name in ("exchange_customer_groups", "exchange_categories"):
        if given.get(name) is not None:
            given[name] = tuple(v.strip() for v in given[name])
    return domain.ProgramChanges(**given)


@strawberry.type
class SiteMutations:
    """Changing sites and their programs."""

    @strawberry.mutation(
        description="Add a site listed in the admin's token; its program starts off.",
        permission_classes=[IsAdmin],
    )
    async def create_site(
        self,
        info: AppInfo,
        input: Annotated[CreateSiteInput, strawberry.argument(description=INPUT)],
    ) -> CreateSitePayload:
        """Create a site."""
        ctx = info.context
        if input.code.strip() not in ctx.access.principal.site_codes:
            raise ForbiddenError("An admin may only create sites listed in their token.")
        row = await service.create_site(
            ctx.db,
            code=input.code,
            name=input.name,
            currency=input.currency_code,
            actor=ctx.actor,
            clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
        )
        # The new site becomes visible to this request's admin at once.
        ctx.access.site_ids = ctx.access.site_ids | {row.id}
        return CreateSitePayload(site=Site.from_row(row), user_errors=[])

    @strawberry.mutation(
        description="Change a site's program settings (admins of the site).",
        permission_classes=[IsAdmin],
    )
    async def configure_program(
        self,
        info: AppInfo,
        input: Annotated[ConfigureProgramInput, strawberry.argument(description=INPUT)],
    ) -> ConfigureProgramPayload:
        """Configure the program."""
        ctx = info.context
        site_pk = admin_site(info, input.site_id)
        row: SiteRow = await service.configure_program(
            ctx.db,
            site_id=site_pk,
            changes=program_changes(input),
            actor=ctx.actor,
            clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
        )
        return ConfigureProgramPayload(
            site=Site.from_row(row), program=Program.from_row(row), user_errors=[]
        )
