"""Referral codes: a customer's personal code a friend registers with, and the month a
per-referrer cap counts in."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from loyalty_gql.domain.codes import CODE_ALPHABET, random_code

REFERRAL_CODE_LENGTH = 8
MAX_TYPED_CODE = 40


def new_referral_code() -> str:
    """A fresh referral code: 8 characters without look-alikes (32^8 codes, so a clash
    within a site is rare; the unique key turns one into a retry with another code)."""
    return random_code(REFERRAL_CODE_LENGTH)


def normalise_referral_code(typed: str) -> str:
    """A code as a customer typed it, in the stored spelling: upper-cased, without
    spaces or dashes (codes are matched case-insensitively)."""
    return "".join(ch for ch in typed.upper() if ch not in " -\t")[:MAX_TYPED_CODE]


def is_referral_code(code: str) -> bool:
    """Whether a normalised code could be one we issued (others are looked up as not found
    without a query)."""
    return len(code) == REFERRAL_CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code)


def month_start(now: datetime, zone: ZoneInfo) -> datetime:
    """When the month of ``now`` began in ``zone``, in UTC (the cap's period)."""
    local = now.astimezone(zone)
    start = datetime(local.year, local.month, 1, tzinfo=zone)
    return start.astimezone(UTC)
