"""Badges and challenges: badge types and holdings, challenges, the facts that count
towards them, progress, completions (once each), and the counts insight shows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select

from loyalty_gql.db.dialect import insert_for
from loyalty_gql.db.models import (
    BadgeTypeRow,
    ChallengeCompletionRow,
    ChallengeFactRow,
    ChallengeProgressRow,
    ChallengeRow,
    CustomerBadgeRow,
    CustomerRow,
    SiteRow,
)
from loyalty_gql.db.session import Session
from loyalty_gql.db.versions import scoped, touch

# -- badges ----------------------------------------------------------------------------


async def badge_types_of_site(session: Session, site_id: int) -> list[BadgeTypeRow]:
    """A site's badge types, in the order they were created."""
    rows = await session.scalars(
        select(BadgeTypeRow).where(BadgeTypeRow.site_id == site_id).order_by(BadgeTypeRow.id)
    )
    return list(rows)


async def badge_type_by_code(session: Session, site_id: int, code: str) -> BadgeTypeRow | None:
    """One badge type of a site by its code."""
    return await session.scalar(
        select(BadgeTypeRow).where(BadgeTypeRow.site_id == site_id, BadgeTypeRow.code == code)
    )


async def badge_codes_taken(session: Session, site_id: int, codes: Sequence[str]) -> set[str]:
    """Which of ``codes`` are badge types of the site."""
    if not codes:
        return set()
    found = await session.scalars(
        select(BadgeTypeRow.code).where(
            BadgeTypeRow.site_id == site_id, BadgeTypeRow.code.in_(list(codes))
        )
    )
    return set(found)


async def locked_customer(session: Session, customer_id: int) -> CustomerRow | None:
    """The customer row, locked on PostgreSQL (their badge codes are rewritten)."""
    return await session.scalar(
        select(CustomerRow).where(CustomerRow.id == customer_id).with_for_update()
    )


async def customer_badge(
    session: Session, customer_id: int, badge_type_id: int
) -> CustomerBadgeRow | None:
    """The customer's holding of a badge type (granted or revoked), if any."""
    return await session.scalar(
        select(CustomerBadgeRow).where(
            CustomerBadgeRow.customer_id == customer_id,
            CustomerBadgeRow.badge_type_id == badge_type_id,
        )
    )


async def insert_badge_once(
    session: Session,
    *,
    site_id: int,
    customer_id: int,
    badge_type_id: int,
    at: datetime,
    source: str,
    source_ref: str | None,
    reason: str | None,
    granted_by: str,
) -> bool:
    """A first holding of the badge for the customer; False (nothing written) when one
    exists already (granted or revoked)."""
    table = CustomerBadgeRow.__table__
    inserted = await session.scalar(
        scoped(insert_for(session)(table))
        .values(
            site_id=site_id,
            customer_id=customer_id,
            badge_type_id=badge_type_id,
            granted_at=at,
            source=source,
            source_ref=source_ref,
            reason=reason,
            granted_by=granted_by,
        )
        .on_conflict_do_nothing()
        .returning(table.c.id)
    )
    touch(session, customers=[customer_id])
    return inserted is not None


async def held_badge_codes(session: Session, customer_id: int) -> list[str]:
    """The codes of the badges the customer holds now, sorted."""
    rows = await session.scalars(
        select(BadgeTypeRow.code)
        .join(CustomerBadgeRow, CustomerBadgeRow.badge_type_id == BadgeTypeRow.id)
        .where(CustomerBadgeRow.customer_id == customer_id, CustomerBadgeRow.revoked_at.is_(None))
        .order_by(BadgeTypeRow.code)
    )
    return list(rows)


async def holds_badge(session: Session, site_id: int, customer_id: int, badge_code: str) -> bool:
    """Whether the customer holds the site's badge ``badge_code`` now (a condition for
    campaigns: one indexed read)."""
    found = await session.scalar(
        select(CustomerBadgeRow.id)
        .join(BadgeTypeRow, CustomerBadgeRow.badge_type_id == BadgeTypeRow.id)
        .where(
            BadgeTypeRow.site_id == site_id,
            BadgeTypeRow.code == badge_code,
            CustomerBadgeRow.customer_id == customer_id,
            CustomerBadgeRow.revoked_at.is_(None),
        )
    )
    return found is not None


async def badges_for_customer(
    session: Session, site_id: int, customer_id: int
) -> list[tuple[BadgeTypeRow, datetime | None]]:
    """Every badge type of the site with when the customer was granted it (None: not
    held), in one query."""
    held = and_(
        CustomerBadgeRow.badge_type_id == BadgeTypeRow.id,
        CustomerBadgeRow.customer_id == customer_id,
        CustomerBadgeRow.revoked_at.is_(None),
    )
    rows = await session.execute(
        select(BadgeTypeRow, CustomerBadgeRow.granted_at)
        .outerjoin(CustomerBadgeRow, held)
        .where(BadgeTypeRow.site_id == site_id)
        .order_by(BadgeTypeRow.id)
    )
    return [(badge, at) for badge, at in rows.all()]


async def badge_holder_counts(session: Session, site_id: int) -> dict[int, int]:
    """Holders now of each badge type of the site (types without holders left out)."""
    rows = await session.execute(
        select(CustomerBadgeRow.badge_type_id, func.count())
        .where(CustomerBadgeRow.site_id == site_id, CustomerBadgeRow.revoked_at.is_(None))
        .group_by(CustomerBadgeRow.badge_type_id)
    )
    return {int(badge_id): int(count) for badge_id, count in rows.all()}


async def badge_codes_mismatches(session: Session) -> list[int]:
    """Customers whose stored badge codes differ from the badges they hold (verify)."""
    holdings = await session.execute(
        select(CustomerBadgeRow.customer_id, BadgeTypeRow.code)
        .join(BadgeTypeRow, CustomerBadgeRow.badge_type_id == BadgeTypeRow.id)
        .where(CustomerBadgeRow.revoked_at.is_(None))
    )
    held: dict[int, set[str]] = {}
    for customer_id, code in holdings.all():
        held.setdefault(customer_id, set()).add(code)
    stored = await session.execute(select(CustomerRow.id, CustomerRow.badge_codes))
    return sorted(
        customer_id
        for customer_id, codes in stored.all()
        if set(codes or []) != held.get(customer_id, set())
    )


# -- challenges ------------------------------------------------------------------------


async def challenges_of_site(
    session: Session, site_id: int, *, published_only: bool = False
) -> list[ChallengeRow]:
    """A site's challenges, in the order they were created."""
    query = select(ChallengeRow).where(ChallengeRow.site_id == site_id)
    if published_only:
        query = query.where(ChallengeRow.published.is_(True))
    return list(await session.scalars(query.order_by(ChallengeRow.id)))


async def challenge_by_id(session: Session, challenge_id: int) -> ChallengeRow | None:
    """One challenge."""
    return await session.scalar(select(ChallengeRow).where(ChallengeRow.id == challenge_id))


async def challenge_code_taken(
    session: Session, site_id: int, code: str, other_than: int | None
) -> bool:
    """Whether another challenge of the site has this code."""
    query = select(ChallengeRow.id).where(
        ChallengeRow.site_id == site_id, ChallengeRow.code == code
    )
    if other_than is not None:
        query = query.where(ChallengeRow.id != other_than)
    return await session.scalar(query) is not None


async def count_live_challenges(session: Session, site_id: int) -> int:
    """How many challenges of the site are published."""
    found = await session.scalar(
        select(func.count()).where(ChallengeRow.site_id == site_id, ChallengeRow.published)
    )
    return int(found or 0)


async def set_live_challenges(session: Session, site: SiteRow, count: int) -> None:
    """Store the site's count of published challenges (the hot paths' switch)."""
    site.live_challenges = count
    await session.flush()


async def open_challenges(session: Session, site_id: int, now: datetime) -> list[ChallengeRow]:
    """The site's published challenges whose window holds ``now``."""
    rows = await session.scalars(
        select(ChallengeRow)
        .where(
            ChallengeRow.site_id == site_id,
            ChallengeRow.published.is_(True),
            or_(ChallengeRow.starts_at.is_(None), ChallengeRow.starts_at <= now),
            or_(ChallengeRow.ends_at.is_(None), ChallengeRow.ends_at > now),
        )
        .order_by(ChallengeRow.id)
    )
    return list(rows)


async def challenges_by_ids(session: Session, ids: Sequence[int]) -> dict[int, ChallengeRow]:
    """Challenges by id, in one query."""
    if not ids:
        return {}
    rows = await session.scalars(select(ChallengeRow).where(ChallengeRow.id.in_(list(ids))))
    return {row.id: row for row in rows}


async def facts_of(
    session: Session, customer_id: int, challenge_ids: Sequence[int]
) -> dict[int, list[ChallengeFactRow]]:
    """The customer's facts of each challenge, in one query."""
    result: dict[int, list[ChallengeFactRow]] = {pk: [] for pk in challenge_ids}
    if not challenge_ids:
        return result
    rows = await session.scalars(
        select(ChallengeFactRow)
        .where(
            ChallengeFactRow.customer_id == customer_id,
            ChallengeFactRow.challenge_id.in_(list(challenge_ids)),
        )
        .order_by(ChallengeFactRow.at, ChallengeFactRow.id)
    )
    for row in rows:
        result[row.challenge_id].append(row)
    return result


async def facts_by_key(session: Session, customer_id: int, fact_key: str) -> list[ChallengeFactRow]:
    """The facts an order (or activity) is, in every challenge it counted towards."""
    rows = await session.scalars(
        select(ChallengeFactRow)
        .where(ChallengeFactRow.customer_id == customer_id, ChallengeFactRow.fact_key == fact_key)
        .order_by(ChallengeFactRow.challenge_id)
    )
    return list(rows)


async def completions_of(
    session: Session, customer_id: int, challenge_ids: Sequence[int]
) -> dict[int, list[ChallengeCompletionRow]]:
    """The customer's completions of each challenge (the reversed ones too), by number,
    in one query."""
    result: dict[int, list[ChallengeCompletionRow]] = {pk: [] for pk in challenge_ids}
    if not challenge_ids:
        return result
    rows = await session.scalars(
        select(ChallengeCompletionRow)
        .where(
            ChallengeCompletionRow.customer_id == customer_id,
            ChallengeCompletionRow.challenge_id.in_(list(challenge_ids)),
        )
        .order_by(ChallengeCompletionRow.challenge_id, ChallengeCompletionRow.number)
    )
    for row in rows:
        result[row.challenge_id].append(row)
    return result


async def progress_rows(
    session: Session, customer_id: int, challenge_ids: Sequence[int]
) -> dict[int, ChallengeProgressRow]:
    """The customer's stored progress of each challenge, in one query."""
    if not challenge_ids:
        return {}
    rows = await session.scalars(
        select(ChallengeProgressRow).where(
            ChallengeProgressRow.customer_id == customer_id,
            ChallengeProgressRow.challenge_id.in_(list(challenge_ids)),
        )
    )
    return {row.challenge_id: row for row in rows}


async def insert_completion_once(
    session: Session,
    *,
    site_id: int,
    challenge_id: int,
    customer_id: int,
    number: int,
    completed_at: datetime,
    fact_key: str | None,
    now: datetime,
) -> int | None:
    """Completion ``number`` of (challenge, customer): its id, or None when it was
    recorded already (the unique key turns a second writer away)."""
    table = ChallengeCompletionRow.__table__
    inserted = await session.scalar(
        scoped(insert_for(session)(table))
        .values(
            site_id=site_id,
            challenge_id=challenge_id,
            customer_id=customer_id,
            number=number,
            completed_at=completed_at,
            fact_key=fact_key,
            voucher_ids=[],
            badge_codes=[],
            created_at=now,
        )
        .on_conflict_do_nothing()
        .returning(table.c.id)
    )
    touch(session, customers=[customer_id])
    return None if inserted is None else int(inserted)


async def completion_by_id(session: Session, completion_id: int) -> ChallengeCompletionRow | None:
    """One completion."""
    return await session.get(ChallengeCompletionRow, completion_id)


async def completion_counts(session: Session, site_id: int) -> dict[int, tuple[int, int]]:
    """For each challenge of the site with completions that stand: how many, and by how
    many customers."""
    rows = await session.execute(
        select(
            ChallengeCompletionRow.challenge_id,
            func.count(),
            func.count(ChallengeCompletionRow.customer_id.distinct()),
        )
        .where(
            ChallengeCompletionRow.site_id == site_id, ChallengeCompletionRow.reversed_at.is_(None)
        )
        .group_by(ChallengeCompletionRow.challenge_id)
    )
    return {pk: (int(n), int(people)) for pk, n, people in rows.all()}


async def duplicate_completions(session: Session) -> list[tuple[int, int]]:
    """(challenge, customer) pairs whose completion numbers are not 1..n (verify)."""
    rows = await session.execute(
        select(
            ChallengeCompletionRow.challenge_id,
            ChallengeCompletionRow.customer_id,
            func.count(),
            func.max(ChallengeCompletionRow.number),
        ).group_by(ChallengeCompletionRow.challenge_id, ChallengeCompletionRow.customer_id)
    )
    return [(c, k) for c, k, n, top in rows.all() if n != top]
