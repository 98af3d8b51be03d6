"""Campaigns: creating, changing, publishing, unpublishing, deleting and copying them
(admins). Every change bumps the site's campaigns_version: each process's index of the
site's live campaigns is rebuilt, and cached answers of the site are stale."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import CampaignRow
from loyalty_gql.db.repositories import campaigns as repo
from loyalty_gql.db.repositories.gamification import badge_codes_taken
from loyalty_gql.db.repositories.offers.catalog import offers_by_ids, site_tier_ids
from loyalty_gql.db.repositories.sites import site_by_id
from loyalty_gql.db.session import Session
from loyalty_gql.domain.campaigns import Campaign, CampaignStatus, EffectKind
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.offers import OfferKind, OfferStatus
from loyalty_gql.services.core.common import Actor, Clock
from loyalty_gql.services.core.idempotency import Idempotency, run_once
from loyalty_gql.services.core.uow import UnitOfWork

VOUCHER_KINDS = frozenset({OfferKind.REWARD.value, OfferKind.COUPON.value})

# action -> (the statuses it starts from, the status it leaves)
TRANSITIONS: dict[str, tuple[frozenset[CampaignStatus], CampaignStatus]] = {
    "publish": (frozenset({CampaignStatus.DRAFT}), CampaignStatus.LIVE),
    "unpublish": (frozenset({CampaignStatus.LIVE}), CampaignStatus.DRAFT),
    "delete": (frozenset({CampaignStatus.DRAFT, CampaignStatus.LIVE}), CampaignStatus.DELETED),
}


async def create_campaign(
    db: Database,
    *,
    site_id: int,
    campaign: Campaign,
    actor: Actor,
    clock: Clock,
    retry: Idempotency | None = None,
) -> CampaignRow:
    """Add a campaign as a DRAFT; it is evaluated once published."""
    now = clock()

    async def work(uow: UnitOfWork) -> CampaignRow:
        await _site(uow.session, site_id)
        await _check(uow.session, site_id, campaign)
        row = CampaignRow(
            site_id=site_id, status=CampaignStatus.DRAFT.value, budget_spent=0, version=1,
            created_at=now, updated_at=now,
        )  # fmt: skip
        repo.write_campaign(row, campaign)
        uow.session.add(row)
        await uow.session.flush()
        await repo.bump_campaigns_version(uow.session, site_id)
        return row

    return await _once(db, f"site:{site_id}", retry, _request(campaign), now, work)


async def update_campaign(
    db: Database,
    *,
    campaign_id: int,
    campaign: Campaign,
    actor: Actor,
    clock: Clock,
    retry: Idempotency | None = None,
) -> CampaignRow:
    """Replace a campaign's terms (not of a deleted one). A budget may not go below what
    the campaign's awards hold of it."""
    now = clock()

    async def work(uow: UnitOfWork) -> CampaignRow:
        row = await _campaign(uow, campaign_id)
        if row.status == CampaignStatus.DELETED.value:
            raise DomainError.single(
                ErrorCode.INVALID_STATE, "a deleted campaign cannot be changed", "campaign_id"
            )
        await _check(uow.session, row.site_id, campaign)
        budget = campaign.limits.budget_points
        if budget is not None and row.budget_points is None:
            # awards without a budget spent none: what they hold counts from now on
            row.budget_spent = await repo.points_held(uow.session, row.id)
        if budget is not None and budget < row.budget_spent:
            raise DomainError.single(
                ErrorCode.INVALID_VALUE,
                f"the campaign has given {row.budget_spent} points of its budget already",
                "limits", "budgetPoints",
            )  # fmt: skip
        repo.write_campaign(row, campaign)
        row.version += 1
        row.updated_at = now
        await repo.bump_campaigns_version(uow.session, row.site_id)
        return row

    request = {"campaign": campaign_id, **_request(campaign)}
    return await _once(db, f"campaign:{campaign_id}", retry, request, now, work)


async def change_campaign_status(
    db: Database,
    *,
    campaign_id: int,
    action: str,
    actor: Actor,
    clock: Clock,
    retry: Idempotency | None = None,
) -> CampaignRow:
    """Publish (DRAFT -> LIVE), unpublish (LIVE -> DRAFT) or delete (soft: awards keep
    pointing at it)."""
    now = clock()
    sources, target = TRANSITIONS[action]

    async def work(uow: UnitOfWork) -> CampaignRow:
        row = await _campaign(uow, campaign_id)
        status = CampaignStatus(row.status)
        if status is target:
            return row  # again: no change
        if status not in sources:
            raise DomainError.single(
                ErrorCode.INVALID_STATE,
                f"a {status.value.lower()} campaign cannot be {action}ed",
                "campaign_id",
            )
        if target is CampaignStatus.LIVE:
            # terms valid when saved may have aged (a deleted tier)
            await _check(uow.session, row.site_id, repo.campaign_of(row))
        row.status = target.value
        row.version += 1
        row.updated_at = now
        await repo.bump_campaigns_version(uow.session, row.site_id)
        return row

    request = {"campaign": campaign_id, "action": action}
    return await _once(db, f"campaign:{campaign_id}", retry, request, now, work)


async def copy_campaign(
    db: Database,
    *,
    campaign_id: int,
    actor: Actor,
    clock: Clock,
    retry: Idempotency | None = None,
) -> CampaignRow:
    """A new DRAFT "Copy of ..." with the same terms and nothing of its budget spent."""
    now = clock()

    async def work(uow: UnitOfWork) -> CampaignRow:
        original = await _campaign(uow, campaign_id)
        terms = repo.campaign_of(original)
        copy = CampaignRow(
            site_id=original.site_id, status=CampaignStatus.DRAFT.value, budget_spent=0,
            version=1, created_at=now, updated_at=now,
        )  # fmt: skip
        repo.write_campaign(copy, replace(terms, name=f"Copy of {terms.name}"[:100]))
        uow.session.add(copy)
        await uow.session.flush()
        await repo.bump_campaigns_version(uow.session, original.site_id)
        return copy

    request = {"campaign": campaign_id, "copy": True}
    return await _once(db, f"campaign:{campaign_id}", retry, request, now, work)


async def _check(session: Session, site_id: int, campaign: Campaign) -> None:
    campaign.check()
    if campaign.effect.kind is EffectKind.VOUCHER:
        offer_id = campaign.effect.reward_offer_id or 0
        offer = (await offers_by_ids(session, [offer_id])).get(offer_id)
        if (
            offer is None
            or offer.site_id != site_id
            or offer.kind not in VOUCHER_KINDS
            or offer.status == OfferStatus.DELETED.value
        ):
            raise DomainError.single(
                ErrorCode.NOT_FOUND, "no reward or coupon offer of this site by that id",
                "effect", "rewardOfferId",
            )  # fmt: skip
    given, held = campaign.effect.badge_code, campaign.conditions.badge_codes
    if given is not None or held:
        known = await badge_codes_taken(session, site_id, sorted({*held, *filter(None, [given])}))
        if given is not None and given not in known:
            raise DomainError.single(
                ErrorCode.NOT_FOUND, "no badge of this site by that code", "effect", "badgeCode"
            )
        if held - known:
            raise DomainError.single(
                ErrorCode.NOT_FOUND, "no badge of this site by that code", "conditions",
                "badgeCodes",
            )  # fmt: skip
    tiers = campaign.conditions.tier_ids
    if tiers and await site_tier_ids(session, site_id, sorted(tiers)) != set(tiers):
        raise DomainError.single(ErrorCode.NOT_FOUND, "unknown tiers", "conditions", "tierIds")


def _request(campaign: Campaign) -> dict[str, Any]:
    """The command as plain data (for the retry's fingerprint)."""
    return {
        "name": campaign.name, "trigger": campaign.trigger.value,
        "conditions": repo.conditions_document(campaign.conditions),
        "effect": repo.effect_document(campaign.effect),
        "limits": repo.limits_document(campaign.limits),
        "exclusive": campaign.exclusive, "priority": campaign.priority,
    }  # fmt: skip


async def _once(  # noqa: PLR0917 - every part named by the callers
    db: Database,
    scope: str,
    retry: Idempotency | None,
    request: dict[str, Any],
    now: datetime,
    work: Any,
) -> CampaignRow:
    return await run_once(
        db, scope=scope, retry=retry, request=request, now=now, work=work,
        dump=lambda row: {"campaign": row.id}, load=_load,
    )  # fmt: skip


async def _load(session: Session, stored: dict[str, Any]) -> CampaignRow:
    row = await repo.campaign_by_id(session, int(stored["campaign"]))
    if row is None:  # pragma: no cover - campaigns are never removed
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such campaign", "campaign_id")
    return row


async def _site(session: Session, site_id: int) -> None:
    if await site_by_id(session, site_id) is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such site", "site_id")


async def _campaign(uow: UnitOfWork, campaign_id: int) -> CampaignRow:
    row = await repo.locked_campaign(uow.session, campaign_id, lock=uow.is_postgres)
    if row is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such campaign", "campaign_id")
    return row
