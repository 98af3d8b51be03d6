"""Where a webhook delivery stands; stored as these strings."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum


class DeliveryStatus(StrEnum):
    """PENDING until the receiver answers 2xx (DELIVERED) or attempts run out (DEAD)."""

    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    DEAD = "DEAD"


# the rules every delivery follows, whatever carries it (webhooks, e-mail, Web Push)

MAX_ATTEMPTS = 8


FIRST_BACKOFF = timedelta(seconds=10)


MAX_BACKOFF = timedelta(hours=6)


LEASE = timedelta(seconds=60)


def backoff(attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: 10 s, 20 s, 40 s ... at most 6 hours."""
    wait: timedelta = FIRST_BACKOFF * 2 ** max(0, attempts - 1)
    return min(wait, MAX_BACKOFF)
