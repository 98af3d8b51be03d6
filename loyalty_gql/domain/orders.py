"""Orders: where an order is in its life."""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    """PLACED, then COMPLETED; CANCELLED undoes it; REFUNDED when all money went back.
    Stored as these strings."""

    PLACED = "PLACED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    REFUNDED = "REFUNDED"
