"""Defining tiers: creating, changing and deleting them (admins)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from decimal import Decimal
from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import TierRow
from loyalty_gql.db.repositories.tiers import (
    measures_for_many,
    members_of_tier,
    rule_of,
    tier_by_id,
    tier_name_taken,
    tiers_of_site,
)
from loyalty_gql.db.session import Session
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.tiers import TierMetric, TierRule, best_tier
from loyalty_gql.domain.unset import UNSET, Unset
from loyalty_gql.services.core.common import Actor, Clock
from loyalty_gql.services.core.idempotency import Idempotency, run_once
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.tiers.moves import change_tier


@dataclass(frozen=True, slots=True)
class DeletedTier:
    """The tier that was deleted and its site."""

    tier_id: int
    site_id: int


@dataclass(frozen=True, slots=True)
class TierTerms:
    """What defines a tier, as an admin gives it: createTier's command, and what
    updateTier's changes apply to."""

    name: str
    rank: int
    metric: TierMetric
    threshold: int
    window_months: int | None
    earn_multiplier: Decimal
    benefits: str | None = None

    @classmethod
    def of(cls, row: TierRow) -> TierTerms:
        """The terms a tier has now."""
        return cls(
            name=row.name,
            rank=row.rank,
            metric=TierMetric(row.metric),
            threshold=row.threshold,
            window_months=row.window_months,
            earn_multiplier=row.earn_multiplier,
            benefits=row.benefits,
        )

    def given(self) -> dict[str, Any]:
        """Every term, by name (what the stored request fingerprint holds)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def rule(self, tier_id: int = 0) -> TierRule:
        """The domain rule of these terms, its name trimmed; INVALID_VALUE when wrong."""
        rule = TierRule(
            id=tier_id,
            name=self.name.strip(),
            rank=self.rank,
            metric=self.metric,
            threshold=self.threshold,
            window_months=self.window_months,
            earn_multiplier=Decimal(self.earn_multiplier),
        )
        rule.check()
        return rule


@dataclass(frozen=True, slots=True)
class TierChanges:
    """updateTier's command: the terms to change; UNSET ones keep their value."""

    name: str | Unset = UNSET
    rank: int | Unset = UNSET
    metric: TierMetric | Unset = UNSET
    threshold: int | Unset = UNSET
    window_months: int | Unset | None = UNSET
    earn_multiplier: Decimal | Unset = UNSET
    benefits: str | Unset | None = UNSET

    def given(self) -> dict[str, Any]:
        """The terms to change, by name (what the stored request fingerprint holds)."""
        changed = ((f.name, getattr(self, f.name)) for f in fields(self))
        return {name: value for name, value in changed if value is not UNSET}

    def applied_to(self, terms: TierTerms) -> TierTerms:
        """``terms`` with these changes."""
        return replace(terms, **self.given())


async def _check_unique_name(
    session: Session, site_id: int, name: str, tier_id: int | None
) -> None:
    if await tier_name_taken(session, site_id, name, other_than=tier_id):
        raise DomainError.single(ErrorCode.DUPLICATE, f"a tier named {name!r} exists", "name")


async def create_tier(
    db: Database,
    *,
    site_id: int,
    terms: TierTerms,
    actor: Actor,
    clock: Clock,
    retry: Idempotency,
) -> TierRow:
    """Add a tier to a site. Customers who qualify move up on their next qualifying event."""
    rule = terms.rule()
    now = clock()

    async def work(uow: UnitOfWork) -> TierRow:
        await _check_unique_name(uow.session, site_id, rule.name, None)
        row = TierRow(
            site_id=site_id,
            name=rule.name,
            rank=rule.rank,
            metric=rule.metric.value,
            threshold=rule.threshold,
            window_months=rule.window_months,
            earn_multiplier=rule.earn_multiplier,
            benefits=terms.benefits,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(row)
        await uow.session.flush()
        return row

    return await run_once(
        db,
        scope=f"site:{site_id}",
        retry=retry,
        request={"site": site_id, **terms.given()},
        now=now,
        work=work,
        dump=lambda row: {"tier": row.id},
        load=_load_tier,
    )


async def update_tier(
    db: Database,
    *,
    tier_id: int,
    changes: TierChanges,
    actor: Actor,
    clock: Clock,
    retry: Idempotency,
) -> TierRow:
    """Change a tier; members stay until they qualify higher or the review moves them."""
    now = clock()

    async def work(uow: UnitOfWork) -> TierRow:
        row = await _tier(uow.session, tier_id, lock=uow.is_postgres)
        terms = changes.applied_to(TierTerms.of(row))
        rule = terms.rule(row.id)
        await _check_unique_name(uow.session, row.site_id, rule.name, row.id)
        row.name, row.rank, row.metric = rule.name, rule.rank, rule.metric.value
        row.threshold, row.window_months = rule.threshold, rule.window_months
        row.earn_multiplier, row.benefits = rule.earn_multiplier, terms.benefits
        row.updated_at = now
        return row

    return await run_once(
        db,
        scope=f"tier:{tier_id}",
        retry=retry,
        request={"tier": tier_id, **changes.given()},
        now=now,
        work=work,
        dump=lambda row: {"tier": row.id},
        load=_load_tier,
    )


async def delete_tier(
    db: Database,
    *,
    tier_id: int,
    actor: Actor,
    clock: Clock,
    retry: Idempotency,
) -> DeletedTier:
    """Remove a tier; its members move to the best remaining tier they qualify for.

    A retry with the same key returns the first result even though the tier is
    gone by then (the retry record is scoped by tier id, which is never reused).
    """
    now = clock()

    async def work(uow: UnitOfWork) -> DeletedTier:
        row = await _tier(uow.session, tier_id, lock=uow.is_postgres)
        remaining = [rule_of(r) for r in await tiers_of_site(uow.session, row.site_id)]
        gone = next(r for r in remaining if r.id == row.id)
        remaining = [r for r in remaining if r.id != row.id]
        members = await members_of_tier(uow.session, row.id, lock=uow.is_postgres)
        measures = await measures_for_many(uow.session, members, remaining, now.date())
        for account in members:
            best = best_tier(remaining, measures[account.customer_id])
            await change_tier(
                uow.session, account, old=gone, new=best, now=now, reason="tier deleted"
            )
        await uow.session.flush()
        await uow.session.delete(row)
        return DeletedTier(tier_id, row.site_id)

    return await run_once(
        db,
        scope=f"tier:{tier_id}",
        retry=retry,
        request={"tier": tier_id},
        now=now,
        work=work,
        dump=lambda gone: {"tier": gone.tier_id, "site": gone.site_id},
        load=_load_deleted,
    )


async def _tier(session: Session, tier_id: int, *, lock: bool) -> TierRow:
    row = await tier_by_id(session, tier_id, lock=lock)
    if row is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such tier", "tier_id")
    return row


async def _load_tier(session: Session, stored: dict[str, Any]) -> TierRow:
    return await _tier(session, stored["tier"], lock=False)


async def _load_deleted(_: Session, stored: dict[str, Any]) -> DeletedTier:
    return DeletedTier(int(stored["tier"]), int(stored["site"]))
