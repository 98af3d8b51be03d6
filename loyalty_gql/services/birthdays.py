"""The daily birthday job: for every site, the customers whose birthday it is today in
the site's timezone, each handed to :func:`on_birthday`.

Birthday campaigns give the points or voucher, keyed by the customer and the year (a
campaign awards a key once), so a second run of the job on the same day, or a later day
of the same year, gives nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import CustomerRow, SiteRow
from loyalty_gql.db.repositories.customers import birthday_customers
from loyalty_gql.db.repositories.points.expiry import sites_with_program
from loyalty_gql.domain.campaigns import Trigger
from loyalty_gql.domain.customers import birthdays_on
from loyalty_gql.domain.sites import site_zone
from loyalty_gql.services.campaigns import Awarded, award_trigger, birthday_source_key
from loyalty_gql.services.core.common import Clock
from loyalty_gql.services.core.uow import UnitOfWork

BATCH = 500


@dataclass(frozen=True, slots=True)
class BirthdayRun:
    """What one run of the job did: sites looked at, birthdays handled."""

    sites: int
    birthdays: int


async def run_birthdays(
    db: Database, *, clock: Clock, on_date: date | None = None, batch_size: int = BATCH
) -> BirthdayRun:
    """Hand every enrolled customer whose birthday is today (``on_date`` if given, else
    the site's local date now) to :func:`on_birthday`, one transaction per batch."""
    now = clock()
    async with db.read_sessions() as session:
        sites = await sites_with_program(session)
    handled = 0
    for site in sites:
        local_date = on_date or now.astimezone(site_zone(site.timezone)).date()
        days = birthdays_on(local_date)
        after = 0
        while True:
            async with UnitOfWork(db) as uow:
                batch = await birthday_customers(
                    uow.session, site.id, days, after_id=after, limit=batch_size
                )
                for customer in batch:
                    await on_birthday(uow, site, customer, local_date, now)
                await uow.commit()
            handled += len(batch)
            if len(batch) < batch_size:
                break
            after = batch[-1].id
    return BirthdayRun(len(sites), handled)


async def on_birthday(
    uow: UnitOfWork, site: SiteRow, customer: CustomerRow, local_date: date, now: datetime
) -> list[Awarded]:
    """It is ``customer``'s birthday on ``local_date`` (the site's calendar): the site's
    BIRTHDAY campaigns awarded, once per customer and year. What was awarded now."""
    return await award_trigger(
        uow, site, customer, Trigger.BIRTHDAY, now,
        source_key=birthday_source_key(customer.id, local_date.year),
    )  # fmt: skip
