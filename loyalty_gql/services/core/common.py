"""Small pieces every service uses: the clock and who is acting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asked for a change: a role and the subject of their credential."""

    role: str
    subject: str

    def __str__(self) -> str:
        return f"{self.role}:{self.subject}"
