"""What customers and admins read of badges and challenges, each list in a fixed number
of statements whatever its length."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from loyalty_gql.db.models import BadgeTypeRow, ChallengeRow, CustomerRow, SiteRow
from loyalty_gql.db.repositories import gamification as repo
from loyalty_gql.db.repositories.sites import settings_of
from loyalty_gql.db.session import Session
from loyalty_gql.domain.gamification.badges import CustomerBadge, HeldBadge, customer_badges
from loyalty_gql.domain.gamification.challenges import Progress, progress
from loyalty_gql.services.gamification.badges import badge_type_of
from loyalty_gql.services.gamification.challenges import challenge_of
from loyalty_gql.services.gamification.progress import fact_of


async def badges_of_customer(
    session: Session, site_id: int, customer_id: int
) -> list[tuple[CustomerBadge, BadgeTypeRow]]:
    """The customer's badge list (earned, newest first, then the visible locked ones;
    hidden ones only once earned), in one statement."""
    rows = await repo.badges_for_customer(session, site_id, customer_id)
    by_id = {row.id: row for row, _ in rows}
    held = [HeldBadge(row.id, at) for row, at in rows if at is not None]
    listed = customer_badges([badge_type_of(row) for row, _ in rows], held)
    return [(line, by_id[line.badge.id]) for line in listed]


@dataclass(frozen=True, slots=True)
class ChallengeView:
    """A challenge as one customer sees it now."""

    row: ChallengeRow
    progress: Progress


async def challenges_of_customer(
    session: Session, site: SiteRow, customer: CustomerRow, tier_id: int | None, now: datetime
) -> tuple[list[ChallengeView], datetime | None]:
    """The site's published challenges the customer takes part in, with their progress
    at ``now`` (ended ones only while the customer has completed them), in three
    statements; and the next instant at which one of them changes by time alone."""
    rows = await repo.challenges_of_site(session, site.id, published_only=True)
    mine = [row for row in rows if challenge_of(row).audience.admits(customer.groups, tier_id)]
    ids = [row.id for row in mine]
    facts = await repo.facts_of(session, customer.id, ids)
    done = await repo.completions_of(session, customer.id, ids)
    zone = settings_of(site).zone
    views: list[ChallengeView] = []
    turns: list[datetime] = []
    for row in mine:
        recorded = [
            (c.completed_at, c.fact_key or "") for c in done[row.id] if c.reversed_at is None
        ]
        result = progress(
            challenge_of(row), [fact_of(f) for f in facts[row.id]], recorded, now, zone
        )
        if row.ends_at is not None and row.ends_at <= now and not result.completed:
            continue
        views.append(ChallengeView(row, result))
        turns.extend(
            at for at in (row.starts_at, row.ends_at, result.ends_at) if at is not None and at > now
        )
    return views, min(turns, default=None)


async def challenge_insight(session: Session, site_id: int) -> dict[int, tuple[int, int]]:
    """Completions that stand per challenge of the site, and by how many customers."""
    return await repo.completion_counts(session, site_id)


async def badge_insight(session: Session, site_id: int) -> dict[int, int]:
    """Holders per badge type of the site."""
    return await repo.badge_holder_counts(session, site_id)
