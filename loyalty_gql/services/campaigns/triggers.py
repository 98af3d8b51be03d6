"""Campaigns of the events that are not orders (an activity, an enrolment, a tier
reached; birthdays and referrals call the same function): evaluated and awarded at once,
once per campaign and event (its source key)."""

from __future__ import annotations

from datetime import datetime

from loyalty_gql.db.models import CustomerRow, SiteRow
from loyalty_gql.db.repositories import campaigns as repo
from loyalty_gql.db.repositories.sites import settings_of
from loyalty_gql.domain.campaigns import Event, Member, Outcome, Trigger
from loyalty_gql.services.campaigns.awards import (
    Awarded,
    apply_awards,
    give_back_budgets,
    take_back_award,
)
from loyalty_gql.services.campaigns.evaluation import evaluated
from loyalty_gql.services.campaigns.index import site_campaigns
from loyalty_gql.services.core.triggers import Triggered, on_trigger
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.points.ledger import AccountBook, Source, open_book


async def award_trigger(
    uow: UnitOfWork,
    site: SiteRow,
    customer: CustomerRow,
    trigger: Trigger,
    at: datetime,
    *,
    source_key: str,
    activity_code: str | None = None,
    book: AccountBook | None = None,
) -> list[Awarded]:
    """Evaluate the site's campaigns of ``trigger`` for the customer and award them, each
    once per ``source_key`` (a key unique per customer and event: ``birthday:<customer
    id>:<year>``): again with the same key, nothing more. Under the customer's account
    lock (``book``, or opened here), so concurrent calls cannot award twice."""
    if site.campaigns_version == 0 or not site.program_enabled or customer.enrolled_at is None:
        return []
    index = await site_campaigns(uow.session, site)
    if not index.by_trigger.get(trigger):
        return []
    if book is None:
        book = await open_book(uow, site, customer, at)
    event = Event(
        trigger=trigger,
        at=at,
        zone=settings_of(site).zone,
        member=Member(
            groups=frozenset(customer.groups),
            tier_id=book.account.tier_id,
            earns_points=True,
            badges=frozenset(customer.badge_codes),
        ),
        activity_code=activity_code,
    )
    outcome = await evaluated(uow.session, index, event, customer, lock=uow.is_postgres)
    if not outcome.awards:
        return []
    done = await repo.awarded_sources(
        uow.session, [award.campaign.id for award in outcome.awards], source_key
    )
    fresh = Outcome(tuple(a for a in outcome.awards if a.campaign.id not in done))
    return await apply_awards(book, fresh, trigger, source_key, actor="system", ref=source_key)


def referral_source_key(link_id: int, order_ref: str) -> str:
    """The key of a referral's REFERRAL_COMPLETED awards: the link and the friend's order
    that completed it (a cancelled order gives the link back; the next order has its own
    key)."""
    return f"referral:{link_id}:{order_ref}"


def birthday_source_key(customer_id: int, year: int) -> str:
    """The key of a customer's BIRTHDAY awards in a year (once a year, however often the
    job runs)."""
    return f"birthday:{customer_id}:{year}"


async def take_back_trigger(book: AccountBook, source_key: str, source: Source, step: str) -> int:
    """The event keyed ``source_key`` was undone: every award of it to the book's customer
    is taken back (the points left of it, an unused voucher), its budget given back. The
    points taken back."""
    taken: dict[int, int] = {}
    for award in await repo.awards_of_source(book.session, book.customer.id, source_key):
        taken[award.campaign_id] = await take_back_award(book, award, None, source, step)
    await give_back_budgets(book, taken)
    return sum(taken.values())


async def _on_trigger(event: Triggered) -> None:
    await award_trigger(
        event.uow, event.site, event.customer, event.trigger, event.at,
        source_key=event.source_key, activity_code=event.activity_code, book=event.book,
    )  # fmt: skip


on_trigger(_on_trigger)
