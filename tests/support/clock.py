"""The one test clock: the server and the services read it, the test sets and moves it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

START = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


class Clock:
    """A clock tests can set (``clock.now = ...``) and move (``clock.now += ...``)."""

    def __init__(self, now: datetime = START) -> None:
        self.start = now
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def day(self, n: float) -> Clock:
        """Set the clock ``n`` days after its start; the clock, to pass on (``clock.day(3)``)."""
        self.now = self.start + timedelta(days=n)
        return self
