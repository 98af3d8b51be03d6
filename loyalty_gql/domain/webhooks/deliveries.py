"""Where a webhook delivery stands; stored as these strings."""

from __future__ import annotations

from enum import StrEnum


class DeliveryStatus(StrEnum):
    """PENDING until the receiver answers 2xx (DELIVERED) or attempts run out (DEAD)."""

    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    DEAD = "DEAD"
