"""Campaigns and their awards: the rows as domain campaigns, budgets, uses, pages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, or_, select, true, update

from loyalty_gql.db.models import CampaignAwardRow, CampaignRow, OrderRow, SiteRow
from loyalty_gql.db.paging import Window, windowed
from loyalty_gql.db.session import Session
from loyalty_gql.db.versions import scoped, touch
from loyalty_gql.domain.campaigns import (
    AmountScope,
    Campaign,
    CampaignStatus,
    Conditions,
    Effect,
    EffectKind,
    LimitPeriod,
    Limits,
    Trigger,
)
from loyalty_gql.domain.orders import OrderStatus

# -- documents ------------------------------------------------------------------------


def conditions_document(terms: Conditions) -> dict[str, Any]:
    """The conditions as JSON-ready data (sets sorted, datetimes ISO)."""
    return {
        "minimum_order_minor": terms.minimum_order_minor,
        "products": sorted(terms.products),
        "categories": sorted(terms.categories),
        "minimum_quantity": terms.minimum_quantity,
        "minimum_amount_minor": terms.minimum_amount_minor,
        "customer_groups": sorted(terms.customer_groups),
        "tier_ids": sorted(terms.tier_ids),
        "nth_order": terms.nth_order,
        "weekdays": sorted(terms.weekdays),
        "hours": list(terms.hours) if terms.hours is not None else None,
        "starts_at": terms.starts_at.isoformat() if terms.starts_at else None,
        "ends_at": terms.ends_at.isoformat() if terms.ends_at else None,
        "channels": sorted(terms.channels),
        "activity_code": terms.activity_code,
        "badge_codes": sorted(terms.badge_codes),
    }


def effect_document(effect: Effect) -> dict[str, Any]:
    return {
        "kind": effect.kind.value,
        "points": effect.points,
        "per_amount": str(effect.per_amount),
        "multiplier": str(effect.multiplier),
        "scope": effect.scope.value,
        "reward_offer_id": effect.reward_offer_id,
        "badge_code": effect.badge_code,
    }


def limits_document(limits: Limits) -> dict[str, Any]:
    return {
        "per_customer": limits.per_customer,
        "period": limits.period.value,
        "budget_points": limits.budget_points,
        "cap_per_order": limits.cap_per_order,
    }


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def conditions_of(doc: Mapping[str, Any]) -> Conditions:
    hours = doc.get("hours")
    return Conditions(
        minimum_order_minor=doc.get("minimum_order_minor"),
        products=frozenset(doc.get("products") or ()),
        categories=frozenset(doc.get("categories") or ()),
        minimum_quantity=doc.get("minimum_quantity"),
        minimum_amount_minor=doc.get("minimum_amount_minor"),
        customer_groups=frozenset(doc.get("customer_groups") or ()),
        tier_ids=frozenset(doc.get("tier_ids") or ()),
        nth_order=doc.get("nth_order"),
        weekdays=frozenset(doc.get("weekdays") or ()),
        hours=(int(hours[0]), int(hours[1])) if hours else None,
        starts_at=_when(doc.get("starts_at")),
        ends_at=_when(doc.get("ends_at")),
        channels=frozenset(doc.get("channels") or ()),
        activity_code=doc.get("activity_code"),
        badge_codes=frozenset(doc.get("badge_codes") or ()),
    )


def effect_of(doc: Mapping[str, Any]) -> Effect:
    return Effect(
        kind=EffectKind(doc["kind"]),
        points=int(doc.get("points") or 0),
        per_amount=Decimal(doc.get("per_amount") or "0"),
        multiplier=Decimal(doc.get("multiplier") or "1"),
        scope=AmountScope(doc.get("scope") or AmountScope.BASKET.value),
        reward_offer_id=doc.get("reward_offer_id"),
        badge_code=doc.get("badge_code"),
    )


def limits_of(doc: Mapping[str, Any]) -> Limits:
    return Limits(
        per_customer=doc.get("per_customer"),
        period=LimitPeriod(doc.get("period") or LimitPeriod.LIFETIME.value),
        budget_points=doc.get("budget_points"),
        cap_per_order=doc.get("cap_per_order"),
    )


def campaign_of(row: CampaignRow) -> Campaign:
    """The row as the domain's campaign."""
    return Campaign(
        id=row.id,
        name=row.name,
        trigger=Trigger(row.trigger),
        effect=effect_of(row.effect),
        conditions=conditions_of(row.conditions),
        limits=limits_of(row.limits),
        exclusive=row.exclusive,
        priority=row.priority,
    )


def write_campaign(row: CampaignRow, campaign: Campaign) -> None:
    """Set the row's columns from the domain's campaign (its id and status stay)."""
    row.name = campaign.name
    row.trigger = campaign.trigger.value
    row.priority = campaign.priority
    row.exclusive = campaign.exclusive
    row.conditions = conditions_document(campaign.conditions)
    row.effect = effect_document(campaign.effect)
    row.limits = limits_document(campaign.limits)
    row.budget_points = campaign.limits.budget_points


# -- reads ----------------------------------------------------------------------------


async def live_campaigns(session: Session, site_id: int) -> list[CampaignRow]:
    """The site's live campaigns (along the site and status index)."""
    return list(
        await session.scalars(
            select(CampaignRow).where(
                CampaignRow.site_id == site_id, CampaignRow.status == CampaignStatus.LIVE.value
            )
        )
    )


async def campaign_by_id(session: Session, campaign_id: int) -> CampaignRow | None:
    return await session.get(CampaignRow, campaign_id)


async def locked_campaign(session: Session, campaign_id: int, *, lock: bool) -> CampaignRow | None:
    """The campaign, its row locked for update with ``lock`` (PostgreSQL)."""
    query = select(CampaignRow).where(CampaignRow.id == campaign_id)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def campaigns_by_ids(session: Session, ids: Sequence[int]) -> dict[int, CampaignRow]:
    rows = await session.scalars(select(CampaignRow).where(CampaignRow.id.in_(ids)))
    return {row.id: row for row in rows}


def _campaigns_of(
    site_id: int, statuses: Sequence[str] | None, triggers: Sequence[str] | None
) -> Select[CampaignRow]:
    query = select(CampaignRow).where(CampaignRow.site_id == site_id)
    if statuses:
        query = query.where(CampaignRow.status.in_(statuses))
    else:
        query = query.where(CampaignRow.status != CampaignStatus.DELETED.value)
    if triggers:
        query = query.where(CampaignRow.trigger.in_(triggers))
    return query


async def campaign_page(
    session: Session,
    site_id: int,
    window: Window,
    *,
    statuses: Sequence[str] | None,
    triggers: Sequence[str] | None,
) -> list[CampaignRow]:
    """A window of a site's campaigns, newest first; deleted ones only when asked for."""
    query = windowed(
        _campaigns_of(site_id, statuses, triggers), CampaignRow.id, window, descending=True
    )
    return list(await session.scalars(query))


async def count_campaigns(
    session: Session,
    site_id: int,
    *,
    statuses: Sequence[str] | None,
    triggers: Sequence[str] | None,
) -> int:
    query = _campaigns_of(site_id, statuses, triggers).with_only_columns(
        func.count(), maintain_column_froms=True
    )
    return int(await session.scalar(query) or 0)


async def budgets_spent(
    session: Session, campaign_ids: Sequence[int], *, lock: bool = False
) -> dict[int, int]:
    """What each campaign's awards hold of its budget now; with ``lock`` (PostgreSQL,
    recording) the campaign rows are locked in id order first, so the budget read is the
    one the award's conditional UPDATE spends from."""
    query = (
        select(CampaignRow.id, CampaignRow.budget_spent)
        .where(CampaignRow.id.in_(campaign_ids))
        .order_by(CampaignRow.id)
    )
    if lock:
        query = query.with_for_update()
    return {row.id: row.budget_spent for row in (await session.execute(query)).all()}


async def customer_uses(
    session: Session, customer_id: int, since: Mapping[int, datetime | None]
) -> dict[int, int]:
    """How many awards (not cancelled) of each campaign the customer has since its
    period's start (None: ever), in one statement."""
    if not since:
        return {}
    conditions = [
        (CampaignAwardRow.campaign_id == pk)
        & (CampaignAwardRow.awarded_at >= start if start is not None else true())
        for pk, start in since.items()
    ]
    query = (
        select(CampaignAwardRow.campaign_id, func.count())
        .where(
            CampaignAwardRow.customer_id == customer_id,
            CampaignAwardRow.cancelled.is_(False),
            or_(*conditions),
        )
        .group_by(CampaignAwardRow.campaign_id)
    )
    return {pk: int(n) for pk, n in (await session.execute(query)).all()}


async def orders_before(session: Session, customer_id: int) -> int:
    """The customer's orders recorded so far that were not cancelled."""
    query = select(func.count()).where(
        OrderRow.customer_id == customer_id, OrderRow.status != OrderStatus.CANCELLED
    )
    return int(await session.scalar(query) or 0)


async def award_by_source(
    session: Session, campaign_id: int, source_key: str
) -> CampaignAwardRow | None:
    return await session.scalar(
        select(CampaignAwardRow).where(
            CampaignAwardRow.campaign_id == campaign_id,
            CampaignAwardRow.source_key == source_key,
        )
    )


async def awarded_sources(
    session: Session, campaign_ids: Sequence[int], source_key: str
) -> set[int]:
    """The campaigns among these that already awarded ``source_key``."""
    if not campaign_ids:
        return set()
    rows = await session.scalars(
        select(CampaignAwardRow.campaign_id).where(
            CampaignAwardRow.campaign_id.in_(campaign_ids),
            CampaignAwardRow.source_key == source_key,
        )
    )
    return set(rows)


async def awards_of_source(
    session: Session, customer_id: int, source_key: str
) -> list[CampaignAwardRow]:
    """The customer's awards of one event (its source key), by campaign id."""
    rows = await session.scalars(
        select(CampaignAwardRow)
        .where(
            CampaignAwardRow.customer_id == customer_id,
            CampaignAwardRow.source_key == source_key,
        )
        .order_by(CampaignAwardRow.campaign_id)
    )
    return list(rows)


async def awards_of_order(session: Session, order_id: int) -> list[CampaignAwardRow]:
    """The order's awards, by campaign id (the order a change of them follows)."""
    rows = await session.scalars(
        select(CampaignAwardRow)
        .where(CampaignAwardRow.order_id == order_id)
        .order_by(CampaignAwardRow.campaign_id)
    )
    return list(rows)


async def points_held(session: Session, campaign_id: int) -> int:
    """What the campaign's awards hold now, net of take-backs."""
    held = func.sum(CampaignAwardRow.points - CampaignAwardRow.points_taken_back)
    query = select(func.coalesce(held, 0)).where(CampaignAwardRow.campaign_id == campaign_id)
    return int(await session.scalar(query) or 0)


async def budgets_unlike_awards(session: Session) -> list[tuple[int, int, int, int]]:
    """(campaign id, budget spent, budget, what its awards hold net of take-backs) of every
    campaign with a budget whose spent differs from its awards or passes its budget."""
    held = func.coalesce(func.sum(CampaignAwardRow.points - CampaignAwardRow.points_taken_back), 0)
    query = (
        select(CampaignRow.id, CampaignRow.budget_spent, CampaignRow.budget_points, held)
        .outerjoin(CampaignAwardRow, CampaignAwardRow.campaign_id == CampaignRow.id)
        .where(CampaignRow.budget_points.is_not(None))
        .group_by(CampaignRow.id, CampaignRow.budget_spent, CampaignRow.budget_points)
        .having(
            (CampaignRow.budget_spent != held)
            | (CampaignRow.budget_spent > CampaignRow.budget_points)
        )
        .order_by(CampaignRow.id)
    )
    return [
        (int(pk), int(spent), int(budget or 0), int(awards))
        for pk, spent, budget, awards in (await session.execute(query)).all()
    ]


# -- writes ---------------------------------------------------------------------------


async def spend_budget(session: Session, site_id: int, campaign_id: int, points: int) -> bool:
    """``points`` more of the campaign's budget are spent, in one conditional UPDATE;
    False when that would pass the budget (the caller then rolls back)."""
    touch(session, sites=[site_id])  # a budget running out changes what checkout shows
    result = await session.execute(
        scoped(update(CampaignRow))
        .where(
            CampaignRow.id == campaign_id,
            (CampaignRow.budget_points.is_(None))
            | (CampaignRow.budget_spent + points <= CampaignRow.budget_points),
        )
        .values(budget_spent=CampaignRow.budget_spent + points)
        .returning(CampaignRow.id)
        .execution_options(synchronize_session=False)
    )
    return result.first() is not None


async def give_back_budget(session: Session, site_id: int, campaign_id: int, points: int) -> None:
    """``points`` of the campaign's budget are free again (a take-back); a campaign
    without a budget is not changed (nor locked)."""
    touch(session, sites=[site_id])
    await session.execute(
        scoped(update(CampaignRow))
        .where(CampaignRow.id == campaign_id, CampaignRow.budget_points.is_not(None))
        .values(budget_spent=CampaignRow.budget_spent - points)
        .execution_options(synchronize_session=False)
    )


async def bump_campaigns_version(session: Session, site_id: int) -> None:
    """Tell every process that the site's campaigns changed."""
    touch(session, sites=[site_id])
    await session.execute(
        scoped(update(SiteRow))
        .where(SiteRow.id == site_id)
        .values(campaigns_version=SiteRow.campaigns_version + 1)
        .execution_options(synchronize_session=False)
    )
