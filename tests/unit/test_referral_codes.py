"""Referral codes and the month a referral cap counts in: pure rules."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from loyalty_gql.domain.codes import CODE_ALPHABET
from loyalty_gql.domain.referrals import (
    is_referral_code,
    month_start,
    new_referral_code,
    normalise_referral_code,
)


def test_a_new_code_is_eight_characters_without_look_alikes() -> None:
    codes = {new_referral_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 8 and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert all(is_referral_code(c) for c in codes)


def test_codes_are_matched_whatever_their_case_spaces_and_dashes() -> None:
    assert normalise_referral_code(" abcd-efgh ") == "ABCDEFGH"
    assert normalise_referral_code("abcd efgh") == "ABCDEFGH"
    assert not is_referral_code(normalise_referral_code("ABCD0EFG"))  # 0 is never issued
    assert not is_referral_code("ABCDEFG")
    assert len(normalise_referral_code("A" * 500)) == 40


def test_the_cap_month_begins_at_midnight_of_the_first_in_the_sites_zone() -> None:
    auckland = ZoneInfo("Pacific/Auckland")
    # 31 January 11:30 UTC is already 1 February 00:30 in Auckland (UTC+13)
    assert month_start(datetime(2026, 1, 31, 11, 30, tzinfo=UTC), auckland) == datetime(
        2026, 1, 31, 11, 0, tzinfo=UTC
    )
    assert month_start(datetime(2026, 1, 31, 10, 0, tzinfo=UTC), auckland) == datetime(
        2025, 12, 31, 11, 0, tzinfo=UTC
    )
    # 20 April is at UTC+12, but April began on daylight saving time (UTC+13)
    assert month_start(datetime(2026, 4, 20, tzinfo=UTC), auckland) == datetime(
        2026, 3, 31, 11, 0, tzinfo=UTC
    )
