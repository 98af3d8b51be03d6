"""Concurrent retries and duplicates: one row wins, every caller gets the same answer.

The services are called directly, 20 at a time, as a shop backend retrying would. Marked
``concurrency``: it runs on PostgreSQL; SQLite runs one writer at a time, so there these
in-process races could not be lost and the tests are skipped.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import (
    AuditTrailRow,
    CustomerRow,
    EnrollmentEventRow,
    IdempotencyRecordRow,
    SiteRow,
)
from loyalty_gql.domain.customers import CustomerProfile
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.sites import ProgramChanges
from loyalty_gql.services.core.common import Actor
from loyalty_gql.services.core.idempotency import Idempotency
from loyalty_gql.services.customers import register_customer
from loyalty_gql.services.sites import configure_program, create_site
from tests.support.clock import Clock

CALLERS = 20
SERVICE = Actor("service", "t")
ADMIN = Actor("admin", "t")

pytestmark = pytest.mark.concurrency


async def _site(db: Database, clock: Clock, code: str = "shop-a") -> int:
    row = await create_site(db, code=code, name="Shop A", currency="EUR", actor=ADMIN, clock=clock)
    await configure_program(
        db, site_id=row.id, changes=ProgramChanges(enabled=True), actor=ADMIN, clock=clock
    )
    return row.id


async def _count(db: Database, column: Any, *where: Any) -> int:
    async with db.read_sessions() as session:
        return int(await session.scalar(select(func.count(column)).where(*where)) or 0)


async def test_concurrent_registrations_with_one_key_make_one_customer(db: Database, clock: Clock):
    # given
    site_id = await _site(db, clock)
    profile = CustomerProfile("c-1", email="Ann@Shop.test", name="Ann", groups=("vip",))
    # when
    rows = await asyncio.gather(
        *(
            register_customer(
                db,
                site_id=site_id,
                profile=profile,
                enroll=False,
                actor=SERVICE,
                clock=clock,
                retry=Idempotency("registerCustomer", "reg-c-1"),
            )
            for _ in range(CALLERS)
        )
    )
    # then
    async with db.read_sessions() as session:
        customers = (await session.scalars(select(CustomerRow))).all()
    assert [(c.external_id, c.email, c.name, c.groups) for c in customers] == [
        ("c-1", "ann@shop.test", "Ann", ["vip"])
    ]
    assert [row.id for row in rows] == [customers[0].id] * CALLERS
    assert await _count(db, IdempotencyRecordRow.id) == 1


async def test_concurrent_registrations_of_one_external_id_make_one_customer(
    db: Database, clock: Clock
):
    # given
    site_id = await _site(db, clock)
    profile = CustomerProfile("c-1", email="ann@shop.test")
    # when
    rows = await asyncio.gather(
        *(
            register_customer(
                db, site_id=site_id, profile=profile, enroll=False, actor=SERVICE, clock=clock
            )
            for _ in range(CALLERS)
        )
    )
    # then
    async with db.read_sessions() as session:
        ids = (await session.scalars(select(CustomerRow.id))).all()
    assert len(ids) == 1
    assert [row.id for row in rows] == [ids[0]] * CALLERS
    assert await _count(db, IdempotencyRecordRow.id) == 0


async def test_concurrent_registrations_with_enrolment_enrol_the_customer_once(
    db: Database, clock: Clock
):
    # given
    site_id = await _site(db, clock)
    # when
    rows = await asyncio.gather(
        *(
            register_customer(
                db,
                site_id=site_id,
                profile=CustomerProfile("c-1"),
                enroll=True,
                actor=SERVICE,
                clock=clock,
                retry=Idempotency("registerCustomer", "reg-c-1"),
            )
            for _ in range(CALLERS)
        )
    )
    # then
    assert {row.id for row in rows} == {rows[0].id}
    assert {row.enrolled_at for row in rows} == {clock.now}
    assert await _count(db, CustomerRow.id) == 1
    assert await _count(db, EnrollmentEventRow.id, EnrollmentEventRow.kind == "ENROLLED") == 1


async def test_concurrent_registrations_of_different_customers_all_succeed(
    db: Database, clock: Clock
):
    # given
    site_id = await _site(db, clock)
    # when
    rows = await asyncio.gather(
        *(
            register_customer(
                db,
                site_id=site_id,
                profile=CustomerProfile(f"c-{n}"),
                enroll=False,
                actor=SERVICE,
                clock=clock,
                retry=Idempotency("registerCustomer", f"reg-c-{n}"),
            )
            for n in range(CALLERS)
        )
    )
    # then
    assert sorted(row.external_id for row in rows) == sorted(f"c-{n}" for n in range(CALLERS))
    assert len({row.id for row in rows}) == CALLERS
    assert await _count(db, CustomerRow.id) == CALLERS


async def test_concurrent_site_creations_with_one_key_make_one_site(db: Database, clock: Clock):
    # when
    rows = await asyncio.gather(
        *(
            create_site(
                db,
                code="shop-a",
                name="Shop A",
                currency="EUR",
                actor=ADMIN,
                clock=clock,
                retry=Idempotency("createSite", "site-a"),
            )
            for _ in range(CALLERS)
        )
    )
    # then
    async with db.read_sessions() as session:
        sites = (await session.scalars(select(SiteRow))).all()
    assert [(s.code, s.name, s.settings_version) for s in sites] == [("shop-a", "Shop A", 1)]
    assert [row.id for row in rows] == [sites[0].id] * CALLERS
    assert await _count(db, AuditTrailRow.id) == 1


async def test_concurrent_site_creations_of_one_code_create_it_once(db: Database, clock: Clock):
    # when
    outcomes = await asyncio.gather(
        *(
            create_site(
                db, code="shop-a", name=f"Shop {n}", currency="EUR", actor=ADMIN, clock=clock
            )
            for n in range(CALLERS)
        ),
        return_exceptions=True,
    )
    # then
    created = [o for o in outcomes if isinstance(o, SiteRow)]
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(created) == 1
    assert len(refused) == CALLERS - 1
    assert {(p.field, p.code) for error in refused for p in error.problems} == {
        (("code",), ErrorCode.ALREADY_EXISTS)
    }
    assert await _count(db, SiteRow.id) == 1


async def test_concurrent_program_changes_are_all_applied_one_after_another(
    db: Database, clock: Clock
):
    # given
    site_id = await _site(db, clock)
    # when
    rows = await asyncio.gather(
        *(
            configure_program(
                db,
                site_id=site_id,
                changes=ProgramChanges(referral_points=n),
                actor=ADMIN,
                clock=clock,
            )
            for n in range(1, CALLERS + 1)
        )
    )
    # then
    assert sorted(row.settings_version for row in rows) == list(range(3, CALLERS + 3))
    async with db.read_sessions() as session:
        site = await session.get_one(SiteRow, site_id)
    assert site.settings_version == CALLERS + 2
    assert await _count(db, AuditTrailRow.id) == CALLERS + 2


async def test_concurrent_program_changes_with_one_key_apply_once(db: Database, clock: Clock):
    # given
    site_id = await _site(db, clock)
    # when
    rows = await asyncio.gather(
        *(
            configure_program(
                db,
                site_id=site_id,
                changes=ProgramChanges(referral_points=250),
                actor=ADMIN,
                clock=clock,
                retry=Idempotency("configureProgram", "cfg-1"),
            )
            for _ in range(CALLERS)
        )
    )
    # then
    assert {(row.settings_version, row.referral_points) for row in rows} == {(3, 250)}
    assert await _count(db, AuditTrailRow.id) == 3


async def test_concurrent_registrations_under_two_keys_all_get_the_customer(
    db: Database, clock: Clock
):
    site_id = await _site(db, clock)
    outcomes = await asyncio.gather(
        *(
            register_customer(
                db,
                site_id=site_id,
                profile=CustomerProfile("c-1"),
                enroll=False,
                actor=SERVICE,
                clock=clock,
                retry=Idempotency("registerCustomer", f"reg-{n % 2}"),
            )
            for n in range(CALLERS)
        ),
        return_exceptions=True,
    )
    assert [o for o in outcomes if not isinstance(o, CustomerRow)] == []
    assert {o.id for o in outcomes if isinstance(o, CustomerRow)} == {outcomes[0].id}  # type: ignore[union-attr]
    assert await _count(db, CustomerRow.id) == 1
