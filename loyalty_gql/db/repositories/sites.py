"""Reading and writing sites and their program settings."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select, update

from loyalty_gql.db.models import SiteRow
from loyalty_gql.db.session import Session
from loyalty_gql.db.versions import scoped, touch
from loyalty_gql.domain.sites import (
    CustomActivity,
    DiscountValueType,
    Participation,
    ProgramSettings,
    ThresholdReward,
    ValidityPolicy,
)
from loyalty_gql.domain.values import PointsRounding


def settings_of(row: SiteRow) -> ProgramSettings:
    """The program settings stored on a site row."""
    reward = row.threshold_reward
    return ProgramSettings(
        enabled=row.program_enabled,
        currency=row.currency,
        earn_rate=row.earn_rate,
        points_rounding=PointsRounding(row.points_rounding),
        participation=Participation(row.participation),
        order_points_pending=row.order_points_pending,
        validity_policy=ValidityPolicy(row.validity_policy),
        validity_days=row.validity_days,
        threshold_reward=ThresholdReward(
            enabled=reward["enabled"],
            points=reward["points"],
            value_type=DiscountValueType(reward["value_type"]),
            value=Decimal(reward["value"]),
            minimum_order_value=Decimal(reward["minimum_order_value"]),
            validity_days=reward["validity_days"],
        ),
        newsletter_signup_points=row.newsletter_signup_points,
        product_review_points=row.product_review_points,
        referral_points=row.referral_points,
        referral_monthly_cap=row.referral_monthly_cap,
        referral_welcome_offer_id=row.referral_welcome_offer_id,
        custom_activities=tuple(
            CustomActivity(a["code"], a["name"], a["points"], a.get("daily_cap"))
            for a in row.custom_activities
        ),
        expiry_warning_days=tuple(row.expiry_warning_days),
        exchange_customer_groups=tuple((row.exchange_limits or {}).get("groups", ())),
        exchange_categories=tuple((row.exchange_limits or {}).get("categories", ())),
        point_value=row.point_value,
        locale=row.locale,
        timezone=row.timezone,
    )


def store_settings(row: SiteRow, settings: ProgramSettings) -> None:
    """Write ``settings`` onto a site row."""
    reward = settings.threshold_reward
    row.program_enabled = settings.enabled
    row.currency = settings.currency
    row.earn_rate = settings.earn_rate
    row.point_value = settings.point_value
    row.locale = settings.locale
    row.timezone = settings.timezone
    row.points_rounding = settings.points_rounding.value
    row.participation = settings.participation.value
    row.order_points_pending = settings.order_points_pending
    row.validity_policy = settings.validity_policy.value
    row.validity_days = settings.validity_days
    row.threshold_reward = {
        "enabled": reward.enabled,
        "points": reward.points,
        "value_type": reward.value_type.value,
        "value": str(reward.value),
        "minimum_order_value": str(reward.minimum_order_value),
        "validity_days": reward.validity_days,
    }
    row.newsletter_signup_points = settings.newsletter_signup_points
    row.product_review_points = settings.product_review_points
    row.referral_points = settings.referral_points
    row.referral_monthly_cap = settings.referral_monthly_cap
    row.referral_welcome_offer_id = settings.referral_welcome_offer_id
    row.custom_activities = [
        {"code": a.code, "name": a.name, "points": a.points, "daily_cap": a.daily_cap}
        for a in settings.custom_activities
    ]
    row.expiry_warning_days = sorted(settings.expiry_warning_days, reverse=True)
    row.exchange_limits = {
        "groups": sorted(set(settings.exchange_customer_groups)),
        "categories": sorted(set(settings.exchange_categories)),
    }


def settings_document(row: SiteRow) -> dict[str, Any]:
    """The settings as a JSON document, for the change history."""
    columns = [
        "program_enabled",
        "currency",
        "points_rounding",
        "participation",
        "order_points_pending",
        "validity_policy",
        "validity_days",
        "threshold_reward",
        "newsletter_signup_points",
        "product_review_points",
        "referral_points",
        "referral_monthly_cap",
        "referral_welcome_offer_id",
        "custom_activities",
        "expiry_warning_days",
        "exchange_limits",
        "point_value",
        "locale",
        "timezone",
    ]
    document = {name: getattr(row, name) for name in columns}
    document["earn_rate"] = str(row.earn_rate)
    document["point_value"] = None if row.point_value is None else str(row.point_value)
    return document


async def site_by_id(session: Session, site_id: int, *, lock: bool = False) -> SiteRow | None:
    """One site, optionally locked for update."""
    query = select(SiteRow).where(SiteRow.id == site_id)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def site_code_taken(session: Session, code: str) -> bool:
    """Whether a site already has this code."""
    return await session.scalar(select(SiteRow.id).where(SiteRow.code == code)) is not None


# built once (hot: every request of a site's token); see orders._order_by_external_id
_SITES_BY_IDS = select(SiteRow).where(SiteRow.id.in_(bindparam("ids", expanding=True)))


async def sites_by_ids(session: Session, ids: Sequence[int]) -> dict[int, SiteRow]:
    """Sites keyed by id, in one query."""
    rows = await session.scalars(_SITES_BY_IDS, {"ids": list(ids)})
    return {row.id: row for row in rows}


async def sites_by_codes(session: Session, codes: Sequence[str]) -> dict[str, SiteRow]:
    """Sites keyed by code, in one query."""
    rows = await session.scalars(select(SiteRow).where(SiteRow.code.in_(codes)))
    return {row.code: row for row in rows}


async def bump_offers_version(session: Session, site_id: int) -> None:
    """Tell every process that the site's live offers or stacking groups changed."""
    touch(session, sites=[site_id])
    await session.execute(
        scoped(update(SiteRow))
        .where(SiteRow.id == site_id)
        .values(offers_version=SiteRow.offers_version + 1)
        .execution_options(synchronize_session=False)
    )
