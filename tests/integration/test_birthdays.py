"""Birthdays: which customers the daily job hands to birthday campaigns, on the day in
each site's timezone (29 February on 28 February of other years), in keyset batches."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import CustomerRow, SiteRow
from loyalty_gql.db.repositories.customers import birthday_customers
from loyalty_gql.domain.campaigns import birthday_on
from loyalty_gql.domain.customers import BirthDate, CustomerProfile, birthdays_on
from loyalty_gql.domain.sites import ProgramChanges
from loyalty_gql.services import birthdays, customers, sites
from loyalty_gql.services.core.uow import UnitOfWork
from tests.conftest import DatabaseBackend
from tests.integration.ledger_helpers import ADMIN, SERVICE
from tests.integration.test_cli import _cli
from tests.support.clock import Clock

Handled = list[tuple[str, str, date]]


async def _site(db: Database, clock: Clock, code: str, timezone: str) -> int:
    site = await sites.create_site(
        db, code=code, name=code, currency="EUR", actor=ADMIN, clock=clock
    )
    await sites.configure_program(
        db, site_id=site.id, changes=ProgramChanges(enabled=True, timezone=timezone),
        actor=ADMIN, clock=clock,
    )  # fmt: skip
    return site.id


async def _born(
    db: Database, clock: Clock, site_id: int, external_id: str, birth: BirthDate | None,
    *, enroll: bool = True,
) -> None:  # fmt: skip
    await customers.register_customer(
        db, site_id=site_id, profile=CustomerProfile(external_id, birth_date=birth),
        enroll=enroll, actor=SERVICE, clock=clock,
    )  # fmt: skip


@pytest.fixture
def handled(monkeypatch: pytest.MonkeyPatch) -> Handled:
    """Every (site code, customer, local date) the job hands to on_birthday."""
    seen: Handled = []

    async def record(
        uow: UnitOfWork, site: SiteRow, customer: CustomerRow, local_date: date, now: datetime
    ) -> list[object]:
        seen.append((site.code, customer.external_id, local_date))
        return []

    monkeypatch.setattr(birthdays, "on_birthday", record)
    return seen


async def test_each_site_has_its_own_today(db: Database, handled: Handled) -> None:
    # given: the same UTC instant is 2 March in Auckland and 1 March in Los Angeles
    clock = Clock(datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
    nz = await _site(db, clock, "nz", "Pacific/Auckland")
    la = await _site(db, clock, "la", "America/Los_Angeles")
    for site_id in (nz, la):
        await _born(db, clock, site_id, "march-1", BirthDate(3, 1))
        await _born(db, clock, site_id, "march-2", BirthDate(3, 2, 1990))
        await _born(db, clock, site_id, "no-date", None)
    # when
    run = await birthdays.run_birthdays(db, clock=clock)
    # then
    assert sorted(handled) == [
        ("la", "march-1", date(2027, 3, 1)),
        ("nz", "march-2", date(2027, 3, 2)),
    ]
    assert (run.sites, run.birthdays) == (2, 2)


async def test_29_february_is_kept_on_28_february_of_other_years(
    db: Database, handled: Handled
) -> None:
    # given
    clock = Clock(datetime(2027, 1, 1, tzinfo=UTC))
    site = await _site(db, clock, "utc", "UTC")
    await _born(db, clock, site, "leap", BirthDate(2, 29))
    await _born(db, clock, site, "feb-28", BirthDate(2, 28))
    await _born(db, clock, site, "mar-1", BirthDate(3, 1))
    # when: 28 February 2027, then 28 and 29 February 2028 (a leap year)
    for day in (date(2027, 2, 28), date(2028, 2, 28), date(2028, 2, 29)):
        await birthdays.run_birthdays(db, clock=clock, on_date=day)
    # then
    assert [(who, day) for _, who, day in handled] == [
        ("leap", date(2027, 2, 28)),
        ("feb-28", date(2027, 2, 28)),
        ("feb-28", date(2028, 2, 28)),
        ("leap", date(2028, 2, 29)),
    ]


def test_the_days_asked_agree_with_the_campaigns_rule() -> None:
    year_days = [date(y, 1, 1).toordinal() for y in (2027, 2028)]
    for first in year_days:
        for n in range(366):
            today = date.fromordinal(first + n)
            asked = set(birthdays_on(today))
            for month, day in ((2, 28), (2, 29), (3, 1), (today.month, today.day)):
                assert ((month, day) in asked) == birthday_on(month, day, today), (today, month)


async def test_the_job_reads_in_keyset_batches_and_skips_customers_not_enrolled(
    db: Database, handled: Handled
) -> None:
    clock = Clock(datetime(2027, 6, 1, 8, tzinfo=UTC))
    site = await _site(db, clock, "utc", "UTC")
    for n in range(5):
        await _born(db, clock, site, f"c-{n}", BirthDate(6, 1))
    await _born(db, clock, site, "left-out", BirthDate(6, 1), enroll=False)
    run = await birthdays.run_birthdays(db, clock=clock, batch_size=2)
    assert [who for _, who, _ in handled] == [f"c-{n}" for n in range(5)]
    assert run.birthdays == 5
    async with db.read_sessions() as session:
        first = await birthday_customers(session, site, ((6, 1),), after_id=0, limit=2)
        rest = await birthday_customers(session, site, ((6, 1),), after_id=first[-1].id, limit=9)
        everyone = await birthday_customers(
            session, site, ((6, 1),), after_id=0, limit=9, enrolled_only=False
        )
    assert [c.external_id for c in first + rest] == [f"c-{n}" for n in range(5)]
    assert len(everyone) == 6


async def test_the_birthdays_command(db: Database, backend: DatabaseBackend) -> None:
    clock = Clock(datetime(2027, 6, 1, 8, tzinfo=UTC))
    site = await _site(db, clock, "utc", "UTC")
    await _born(db, clock, site, "ann", BirthDate(6, 1))
    on_the_day = await _cli(backend, "birthdays", "--date", "2027-06-01")
    bad = await _cli(backend, "birthdays", "--date", "1 June")
    assert (on_the_day.status, on_the_day.out) == (0, "1 birthdays on 1 sites\n")
    assert bad.status == 2
    assert "'1 June' is not a date (YYYY-MM-DD)" in bad.err
