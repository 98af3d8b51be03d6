"""Expiry dates and warning days are calendar days of the site's timezone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from loyalty_gql.domain.points import last_valid_day, lot_expiry, rolling_expiry, warning_due
from loyalty_gql.domain.sites import ValidityPolicy, is_known_timezone

BERLIN = ZoneInfo("Europe/Berlin")


def test_points_earned_late_at_night_count_from_the_local_day():
    # given: 23:30 on 1 March in Berlin is 22:30 UTC, the same day
    earned = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)
    # when
    expires = lot_expiry(ValidityPolicy.FIXED_DAYS, 30, earned, BERLIN)
    # then: valid through 31 March; Berlin is on summer time (UTC+2) by then
    assert expires == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
    assert expires is not None
    assert last_valid_day(expires, BERLIN) == date(2026, 3, 31)


def test_points_earned_after_local_midnight_get_the_next_day():
    # given: 00:30 on 2 March in Berlin is still 1 March in UTC
    earned = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    # then: valid through 1 April
    assert lot_expiry(ValidityPolicy.FIXED_DAYS, 30, earned, BERLIN) == datetime(
        2026, 4, 1, 22, 0, tzinfo=UTC
    )
    assert rolling_expiry(ValidityPolicy.ROLLING_DAYS, 30, earned, BERLIN) == datetime(
        2026, 4, 1, 22, 0, tzinfo=UTC
    )
    assert lot_expiry(ValidityPolicy.ROLLING_DAYS, 30, earned, BERLIN) is None
    assert rolling_expiry(ValidityPolicy.ROLLING_DAYS, 30, None, BERLIN) is None


def test_a_stored_expiry_at_an_hour_names_that_day_as_the_last():
    # points stored before expiry went by calendar day expire at an hour of their day
    assert last_valid_day(datetime(2026, 3, 31, 9, 0, tzinfo=UTC), ZoneInfo("UTC")) == date(
        2026, 3, 31
    )


def test_a_warning_is_due_all_of_its_local_day_and_not_the_day_before():
    expires = datetime(2026, 3, 31, 22, 0, tzinfo=UTC)  # the end of 31 March in Berlin
    schedule = (14, 7)
    # 23 March 23:59 Berlin (22:59 UTC): the 14-day step is the nearest not yet passed
    assert warning_due(expires, datetime(2026, 3, 23, 22, 59, tzinfo=UTC), BERLIN, schedule) == 14
    # 24 March from 00:00 to 23:59 Berlin: the 7-day warning
    assert warning_due(expires, datetime(2026, 3, 23, 23, 0, tzinfo=UTC), BERLIN, schedule) == 7
    assert warning_due(expires, datetime(2026, 3, 24, 22, 59, tzinfo=UTC), BERLIN, schedule) == 7
    # 16 March: none yet
    assert warning_due(expires, datetime(2026, 3, 16, 12, 0, tzinfo=UTC), BERLIN, schedule) is None


def test_only_iana_names_are_timezones():
    assert is_known_timezone("UTC")
    assert is_known_timezone("America/New_York")
    assert not is_known_timezone("utc")
    assert not is_known_timezone("Mars/Olympus_Mons")
    assert not is_known_timezone("")
