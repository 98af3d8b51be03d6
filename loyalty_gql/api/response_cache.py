"""The response cache of customers' reads: a repeated query costs one keyed lookup.

A storefront asks the same few queries again and again for the same customer: the
points badge on every page view, the dashboard on every visit of the account page,
the cart's price on every render. Each process keeps the `data` of such answers, keyed
by the customer, the document, the operation name and the variables, and serves one
again while all of this holds:

- the customer's and the site's `data_version` are what they were read as *before*
  the answer was computed (every write transaction bumps them at commit for the
  customers and sites whose rows it wrote: db/versions.py), so an answer is never
  older than the last write that changed what it shows;
- the clock has not reached the first instant at which the answer could change by
  time alone. A request that reads the clock (offer windows, voucher expiry, the day
  tier windows count from) is bounded by the next such instant of the customer and
  the site (db/repositories/versions.py) and by the next midnight, in UTC and in the
  site's timezone; a field whose answer turns at an instant of its own says so
  (:meth:`Freshness.expires`, e.g. `expiringSoon(withinDays:)`), and a field that
  cannot tell refuses caching (:meth:`Freshness.refuse`).

The versions are read again after the answer is computed: if they moved, a write
landed between its reads, and the answer is computed again (api/http.py), so what a
customer is shown, cached or not, is one state of their data.

Only queries of customer tokens are cached, only answers without errors, and every
request still pays its rate limits first. Each worker has its own cache; the versions
live in the database, so workers never disagree. Checking costs one indexed read of
two rows per request.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from loyalty_gql.db.engine import Database
from loyalty_gql.db.repositories.versions import customer_time_edge, site_time_edge
from loyalty_gql.db.session import Session
from loyalty_gql.db.versions import ReadVersions

MAX_ENTRY_BYTES = 256 * 1024
MAX_TOTAL_BYTES = 64 * 1024 * 1024


class Freshness:
    """How long the answer being computed stays true without a write: its request's
    single clock reading, and the earliest instant it may change by time alone."""

    __slots__ = ("cacheable", "clock_read", "now", "until")

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.until: datetime | None = None
        self.clock_read = False
        self.cacheable = True

    def clock(self) -> datetime:
        """The request's time (one instant for the whole request), noting that the
        answer depends on it."""
        self.clock_read = True
        return self.now

    def expires(self, at: datetime) -> None:
        """The answer may change at ``at`` (ignored when that is not in the future)."""
        if at > self.now and (self.until is None or at < self.until):
            self.until = at

    def refuse(self) -> None:
        """This answer must not be cached."""
        self.cacheable = False


@dataclass(frozen=True, slots=True)
class Entry:
    """A cached answer: the versions it was computed at, until when it holds, its data."""

    versions: tuple[int, int]
    until: datetime | None
    data: bytes


CacheKey = tuple[int, str, str | None, bytes]


def cache_key(
    customer_id: int, query: str, operation: str | None, variables: dict[str, Any] | None
) -> CacheKey:
    """The key of a customer's request: who, which document and operation, which values."""
    values = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS) if variables else b""
    return (customer_id, query, operation, values)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def next_midnights(now: datetime, timezone: str) -> datetime:
    """The sooner of the next midnight in UTC and in the site's timezone."""
    utc = datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), time(), UTC)
    zone = _zone(timezone)
    local_day: date = now.astimezone(zone).date() + timedelta(days=1)
    local = datetime.combine(local_day, time(), zone).astimezone(UTC)
    return min(utc, local)


@dataclass(frozen=True, slots=True)
class SiteEdge:
    """A site's next time edge after ``since``, as of its data version."""

    version: int
    since: datetime
    edge: datetime | None

    def holds(self, version: int, now: datetime) -> bool:
        """Whether it is still the next edge at ``now``."""
        return (
            version == self.version and now >= self.since and (self.edge is None or now < self.edge)
        )


class ResponseCache:
    """This process's cached answers, least recently used dropped beyond ``size`` answers
    or ``max_bytes`` of answers, documents and variables."""

    def __init__(self, db: Database, size: int, max_bytes: int = MAX_TOTAL_BYTES) -> None:
        self._db = db
        self._size = size
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[CacheKey, Entry] = OrderedDict()
        self._site_edges: dict[int, SiteEdge] = {}
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        """Whether answers are kept at all (size 0 turns the cache off)."""
        return self._size > 0

    async def versions(self, customer_id: int) -> ReadVersions | None:
        """The versions to check entries against, read before anything is computed."""
        return await self._db.versions.read(customer_id)

    def lookup(self, key: CacheKey, versions: ReadVersions, now: datetime) -> bytes | None:
        """The cached data of ``key`` if it still holds at ``versions`` and ``now``."""
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        if entry.versions != versions.key or (entry.until is not None and now >= entry.until):
            self._drop(key)
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry.data

    async def _site_edge(
        self, session: Session, versions: ReadVersions, now: datetime
    ) -> datetime | None:
        """The site's next time edge, read once per site version (and edge passed)."""
        known = self._site_edges.get(versions.site_id)
        if known is not None and known.holds(versions.site, now):
            return known.edge
        edge = await site_time_edge(session, versions.site_id, now)
        if len(self._site_edges) >= self._size:
            self._site_edges.clear()
        self._site_edges[versions.site_id] = SiteEdge(versions.site, now, edge)
        return edge

    async def store(
        self, key: CacheKey, versions: ReadVersions, freshness: Freshness, data: bytes
    ) -> None:
        """Keep ``data``, computed after ``versions`` were read, while it holds."""
        if not self.enabled or not freshness.cacheable or len(data) > MAX_ENTRY_BYTES:
            return
        if freshness.clock_read:
            now = freshness.now
            async with self._db.read_sessions() as session:
                edges = (
                    await self._site_edge(session, versions, now),
                    await customer_time_edge(session, key[0], now),
                    next_midnights(now, versions.timezone),
                )
            for at in edges:
                if at is not None:
                    freshness.expires(at)
        until = freshness.until
        self._drop(key)
        self._entries[key] = Entry(versions.key, until, data)
        self._bytes += len(data) + len(key[1]) + len(key[3])
        while len(self._entries) > self._size or self._bytes > self._max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: CacheKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry.data) + len(key[1]) + len(key[3])
