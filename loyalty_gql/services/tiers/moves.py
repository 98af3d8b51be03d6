"""Customers moving between tiers: upgrades on the qualifying event, the periodic review,
and the TIER_CHANGED event every move writes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import CustomerRow, PointAccountRow, SiteRow, TierRow
from loyalty_gql.db.repositories.points import ledger as points_repo
from loyalty_gql.db.repositories.tiers import (
    accounts_to_review,
    measures_for,
    measures_for_many,
    rule_of,
    tiers_of_site,
)
from loyalty_gql.db.session import Session
from loyalty_gql.domain.campaigns import Trigger
from loyalty_gql.domain.tiers import TierMetric, TierRule, best_tier
from loyalty_gql.services.core.common import Clock
from loyalty_gql.services.core.triggers import Triggered, triggered
from loyalty_gql.services.core.uow import UnitOfWork


class LockedAccount(Protocol):
    """What a tier upgrade needs of a locked account (the ledger's AccountBook is one;
    naming it here would make the ledger and tiers import each other)."""

    @property
    def session(self) -> Session: ...

    @property
    def site(self) -> SiteRow: ...

    @property
    def account(self) -> PointAccountRow: ...

    @property
    def now(self) -> datetime: ...

    @property
    def uow(self) -> UnitOfWork: ...

    @property
    def customer(self) -> CustomerRow: ...

    async def tiers(self) -> list[TierRow]:
        """The site's tiers, lowest rank first (read once per book)."""
        ...


async def upgrade_if_qualified(book: LockedAccount, moved: TierMetric | None = None) -> None:
    """Move the customer up at once when their measures reach a better tier.

    ``moved``: the one metric the event changed (an order noted moves AMOUNT_SPENT
    only); when no tier of the site counts it, the measures a tier counts are where
    they were at the last check, so nobody reached anything and nothing is read (a
    threshold changed meanwhile waits, as ever, for the next qualifying event).
    """
    rows = await book.tiers()
    if not rows:
        return
    rules = [rule_of(r) for r in rows]
    if moved is not None and all(rule.metric is not moved for rule in rules):
        return
    measures = await measures_for(book.session, book.account, rules, book.now.date())
    best = best_tier(rules, measures)
    current = next((r for r in rules if r.id == book.account.tier_id), None)
    if best is not None and (current is None or best.rank > current.rank):
        await change_tier(
            book.session, book.account, old=current, new=best, now=book.now, reason="upgrade"
        )
        # campaigns of TIER_REACHED: once per customer and tier reached
        await triggered(
            Triggered(
                book.uow, book.site, book.customer, book.now, Trigger.TIER_REACHED,
                f"tier:{book.customer.id}:{best.id}", book=book,
            )
        )  # fmt: skip


async def change_tier(
    session: Session,
    account: PointAccountRow,
    *,
    old: TierRule | None,
    new: TierRule | None,
    now: datetime,
    reason: str,
) -> None:
    """Put the customer in ``new`` and write a TIER_CHANGED event."""
    account.tier_id = new.id if new else None
    account.tier_since = now
    account.updated_at = now
    await points_repo.add_event_once(
        session,
        site_id=account.site_id,
        customer_id=account.customer_id,
        kind="TIER_CHANGED",
        dedupe_key=f"tier:{account.customer_id}:{uuid.uuid4().hex}",
        payload={
            "from_tier_id": old.id if old else None,
            "from_tier": old.name if old else None,
            "to_tier_id": new.id if new else None,
            "to_tier": new.name if new else None,
            "reason": reason,
        },
        now=now,
    )


async def review_tiers(db: Database, *, clock: Clock, batch_size: int = 500) -> int:
    """The period-end review: every member moves to the tier they qualify for now,
    down as well as up. Batches of accounts, each in its own transaction; on
    PostgreSQL, rows another reviewer holds are skipped (SKIP LOCKED)."""
    now = clock()
    changed = 0
    after = 0
    while True:
        async with UnitOfWork(db) as uow:
            accounts = await accounts_to_review(
                uow.session, after=after, limit=batch_size, lock=uow.is_postgres
            )
            if not accounts:
                return changed
            after = accounts[-1].customer_id
            by_site: dict[int, list[PointAccountRow]] = {}
            for account in accounts:
                by_site.setdefault(account.site_id, []).append(account)
            for site_id, site_accounts in by_site.items():
                rules = [rule_of(r) for r in await tiers_of_site(uow.session, site_id)]
                if not rules and not any(a.tier_id for a in site_accounts):
                    continue
                measures = await measures_for_many(uow.session, site_accounts, rules, now.date())
                for account in site_accounts:
                    best = best_tier(rules, measures[account.customer_id])
                    if (best.id if best else None) != account.tier_id:
                        current = next((r for r in rules if r.id == account.tier_id), None)
                        await change_tier(
                            uow.session, account, old=current, new=best, now=now, reason="review"
                        )
                        changed += 1
            await uow.commit()
