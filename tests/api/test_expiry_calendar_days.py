"""Expiry and its warnings by calendar day in the site's timezone: a daily job at any
hour sends each warning on its day, once, and points are usable all of their last day."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import OutboxEventRow
from loyalty_gql.services.points.expiry import expire_points, warn_expiring
from tests.conftest import GraphQLClient
from tests.support.clock import Clock
from tests.support.shop import Shop, line

PROGRAM = """
mutation($input: ConfigureProgramInput!) {
  configureProgram(input: $input) { program { timezone } userErrors { field code } }
}
"""

BALANCE = """
query($id: ID!) { customer(id: $id) { balance { available nextExpiry { expiresAt points } } } }
"""

# east and west of UTC, each on its own side of its own daylight-saving switch in March
EAST, WEST = "Asia/Tokyo", "America/Los_Angeles"
ZONES = [EAST, WEST]
# the end of 31 March in each zone, as the API writes it (UTC)
END_OF_31_MARCH = {
    EAST: "2026-03-31T15:00:00+00:00",  # JST is UTC+9
    WEST: "2026-04-01T07:00:00+00:00",  # PDT (from 8 March) is UTC-7
}


def local(clock: Clock, zone: str, day: int, hour: int, minute: int) -> Clock:
    """Set the clock to a local time of March 2026 in ``zone``."""
    month, day = (4, day - 31) if day > 31 else (3, day)
    clock.now = datetime(2026, month, day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(
        ZoneInfo("UTC")
    )
    return clock


async def _events(db: Database, kind: str) -> list[dict[str, Any]]:
    async with db.read_sessions() as session:
        rows = await session.scalars(
            select(OutboxEventRow).where(OutboxEventRow.kind == kind).order_by(OutboxEventRow.id)
        )
        return [row.payload for row in rows]


async def _ann_with_100_points(gql: GraphQLClient, clock: Clock, zone: str, **program: Any) -> Shop:
    """A shop in ``zone`` whose customer ann was given 100 points at noon on 1 March,
    local time, valid 30 days (so through 31 March)."""
    local(clock, zone, 1, 12, 0)
    shop = await Shop.open(
        gql, timezone=zone, validityPolicy="FIXED_DAYS", validityDays=30, **program
    )
    await shop.register("ann", enroll=True)
    await shop.grant("ann", 100)
    return shop


async def test_a_site_is_on_utc_until_given_a_timezone(gql: GraphQLClient) -> None:
    # given
    shop = await Shop.open(gql)
    # when
    unchanged = await gql.execute(PROGRAM, {"input": {"siteId": shop.site_id}}, token=shop.admin)
    berlin = await gql.execute(
        PROGRAM,
        {"input": {"siteId": shop.site_id, "timezone": " Europe/Berlin "}},
        token=shop.admin,
    )
    # then
    assert unchanged["data"]["configureProgram"]["program"] == {"timezone": "UTC"}
    assert berlin["data"]["configureProgram"] == {
        "program": {"timezone": "Europe/Berlin"},
        "userErrors": [],
    }


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "CEST", "../etc/passwd", "", "utc"])
async def test_a_name_that_is_no_iana_timezone_is_refused_and_nothing_changes(
    gql: GraphQLClient, name: str
) -> None:
    # given
    shop = await Shop.open(gql, timezone="Asia/Tokyo")
    # when
    body = await gql.execute(
        PROGRAM, {"input": {"siteId": shop.site_id, "timezone": name}}, token=shop.admin
    )
    null = await gql.execute(
        PROGRAM, {"input": {"siteId": shop.site_id, "timezone": None}}, token=shop.admin
    )
    # then
    assert body["data"]["configureProgram"] == {
        "program": None,
        "userErrors": [{"field": ["input", "timezone"], "code": "INVALID_VALUE"}],
    }
    assert null["data"]["configureProgram"]["userErrors"] == [
        {"field": ["input", "timezone"], "code": "REQUIRED"}
    ]
    after = await gql.execute(PROGRAM, {"input": {"siteId": shop.site_id}}, token=shop.admin)
    assert after["data"]["configureProgram"]["program"] == {"timezone": "Asia/Tokyo"}


@pytest.mark.parametrize("zone", ZONES)
async def test_points_are_valid_until_the_end_of_their_last_local_day(
    gql: GraphQLClient, clock: Clock, zone: str
) -> None:
    # given: 100 points at noon on 1 March, local time, valid 30 days
    shop = await _ann_with_100_points(gql, clock, zone)
    # when
    body = await gql.execute(BALANCE, {"id": shop.customers["ann"]}, token=shop.admin)
    # then: they expire when 31 March ends there
    assert body["data"]["customer"]["balance"] == {
        "available": 100,
        "nextExpiry": {"expiresAt": END_OF_31_MARCH[zone], "points": 100},
    }


@pytest.mark.parametrize("hour_minute", [(0, 5), (23, 55)], ids=["00:05", "23:55"])
@pytest.mark.parametrize("zone", ZONES)
async def test_a_warning_is_written_on_its_local_day_at_any_hour_once(
    gql: GraphQLClient, clock: Clock, db: Database, zone: str, hour_minute: tuple[int, int]
) -> None:
    hour, minute = hour_minute
    # given: 100 points valid through 31 March, warned 7 days before: on 24 March
    await _ann_with_100_points(gql, clock, zone, expiryWarningDays=[7])
    # when / then: a daily job at this hour writes nothing on the 23rd
    assert await warn_expiring(db, clock=local(clock, zone, 23, hour, minute)) == 0
    # on the 24th it writes the warning, and again that day nothing
    assert await warn_expiring(db, clock=local(clock, zone, 24, hour, minute)) == 1
    assert await warn_expiring(db, clock=local(clock, zone, 24, hour, minute)) == 0
    assert await warn_expiring(db, clock=local(clock, zone, 24, 23, 59)) == 0
    # nor on the days after
    assert await warn_expiring(db, clock=local(clock, zone, 25, hour, minute)) == 0
    assert await warn_expiring(db, clock=local(clock, zone, 31, hour, minute)) == 0
    assert await _events(db, "POINTS_EXPIRING") == [
        {
            "points": 100,
            "expires_at": END_OF_31_MARCH[zone],
            "expires_on": "2026-03-31",
            "days_before": 7,
        }
    ]


@pytest.mark.parametrize("zone", ZONES)
async def test_each_step_of_a_schedule_is_due_on_its_own_local_day(
    gql: GraphQLClient, clock: Clock, db: Database, zone: str
) -> None:
    # given: warnings 14 and 7 days before 31 March (17 and 24 March); a job at 00:05
    # and one at 23:55 every day of March
    await _ann_with_100_points(gql, clock, zone, expiryWarningDays=[14, 7])
    written: dict[int, int] = {}
    for day in range(2, 32):
        for hour, minute in ((0, 5), (23, 55)):
            count = await warn_expiring(db, clock=local(clock, zone, day, hour, minute))
            if count:
                written[day] = written.get(day, 0) + count
    # then: one warning on the 17th, one on the 24th, both by the 00:05 run
    assert written == {17: 1, 24: 1}
    events = await _events(db, "POINTS_EXPIRING")
    assert [(e["days_before"], e["expires_on"]) for e in events] == [
        (14, "2026-03-31"),
        (7, "2026-03-31"),
    ]


@pytest.mark.parametrize("zone", ZONES)
async def test_points_expire_when_the_job_runs_on_the_next_local_day(
    gql: GraphQLClient, clock: Clock, db: Database, zone: str
) -> None:
    # given: 100 points valid through 31 March
    shop = await _ann_with_100_points(gql, clock, zone)
    # when / then: at 23:55 on 31 March they are still there
    assert await expire_points(db, clock=local(clock, zone, 31, 23, 55)) == 0
    assert (await shop.balance("ann"))["available"] == 100
    # at 00:05 on 1 April they expire, once, however often the job runs that day
    assert await expire_points(db, clock=local(clock, zone, 32, 0, 5)) == 1
    assert await expire_points(db, clock=local(clock, zone, 32, 0, 5)) == 0
    assert await expire_points(db, clock=local(clock, zone, 32, 23, 55)) == 0
    assert (await shop.balance("ann"))["available"] == 0
    assert [e["points"] for e in await _events(db, "POINTS_EXPIRED")] == [100]


@pytest.mark.parametrize("zone", ZONES)
async def test_rolling_points_are_valid_through_the_local_day_n_days_after_the_last_order(
    gql: GraphQLClient, clock: Clock, db: Database, zone: str
) -> None:
    # given: an order of 10.00 (100 points at once) at 23:30 local on 1 March, which is
    # already 2 March in UTC for Los Angeles and still 1 March in UTC for Tokyo
    local(clock, zone, 1, 23, 30)
    shop = await Shop.open(
        gql,
        timezone=zone,
        validityPolicy="ROLLING_DAYS",
        validityDays=30,
        orderPointsPending=False,
        expiryWarningDays=[7],
    )
    ann = await shop.register("ann", enroll=True)
    recorded = await shop.record("o-1", "ann", lines=[line("p1", 1, "10.00")])
    assert recorded["userErrors"] == []
    # when
    body = await gql.execute(BALANCE, {"id": ann}, token=shop.admin)
    # then: valid through 31 March, warned on 24 March, expired on 1 April
    assert body["data"]["customer"]["balance"]["nextExpiry"] == {
        "expiresAt": END_OF_31_MARCH[zone],
        "points": 100,
    }
    assert await warn_expiring(db, clock=local(clock, zone, 23, 23, 55)) == 0
    assert await warn_expiring(db, clock=local(clock, zone, 24, 0, 5)) == 1
    assert await warn_expiring(db, clock=local(clock, zone, 24, 23, 55)) == 0
    assert await expire_points(db, clock=local(clock, zone, 31, 23, 55)) == 0
    assert await expire_points(db, clock=local(clock, zone, 32, 0, 5)) == 1
    assert (await shop.balance("ann"))["available"] == 0
