"""The response cache's bookkeeping: what it keeps, for how long, and how much."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from loyalty_gql.api.response_cache import Freshness, ResponseCache, cache_key, next_midnights
from loyalty_gql.db.versions import ReadVersions

NOW = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)
V1 = ReadVersions(customer=3, site=7, site_id=1, timezone="UTC")


def _cache(size: int = 10, max_bytes: int = 10_000) -> ResponseCache:
    db: Any = None  # never touched: these answers did not read the clock
    return ResponseCache(db, size, max_bytes)


async def test_an_answer_holds_while_both_versions_are_unchanged():
    # given
    cache = _cache()
    key = cache_key(1, "{ viewer { id } }", None, None)
    await cache.store(key, V1, Freshness(NOW), b'{"viewer":null}')
    # when
    same = cache.lookup(key, V1, NOW)
    customer_wrote = cache.lookup(key, ReadVersions(4, 7, 1, "UTC"), NOW)
    # then
    assert same == b'{"viewer":null}'
    assert customer_wrote is None
    assert cache.lookup(key, V1, NOW) is None  # a stale entry is dropped, not kept


async def test_a_site_write_makes_the_answer_stale():
    cache = _cache()
    key = cache_key(1, "q", None, None)
    await cache.store(key, V1, Freshness(NOW), b"1")
    assert cache.lookup(key, ReadVersions(3, 8, 1, "UTC"), NOW) is None


async def test_an_answer_with_an_instant_of_its_own_ends_there():
    # given
    cache = _cache()
    key = cache_key(1, "q", None, {"d": 30})
    freshness = Freshness(NOW)
    freshness.expires(NOW + timedelta(minutes=5))
    freshness.expires(NOW - timedelta(minutes=5))  # the past bounds nothing
    await cache.store(key, V1, freshness, b"1")
    # then
    assert cache.lookup(key, V1, NOW + timedelta(minutes=4, seconds=59)) == b"1"
    assert cache.lookup(key, V1, NOW + timedelta(minutes=5)) is None


async def test_a_refused_answer_is_not_kept():
    cache = _cache()
    key = cache_key(1, "q", None, None)
    freshness = Freshness(NOW)
    freshness.refuse()
    await cache.store(key, V1, freshness, b"1")
    assert cache.lookup(key, V1, NOW) is None


async def test_variables_in_any_order_are_one_key_and_other_values_another():
    assert cache_key(1, "q", "Op", {"a": 1, "b": 2}) == cache_key(1, "q", "Op", {"b": 2, "a": 1})
    assert cache_key(1, "q", "Op", {"a": 1}) != cache_key(1, "q", "Op", {"a": 2})
    assert cache_key(1, "q", "Op", None) != cache_key(2, "q", "Op", None)
    assert cache_key(1, "q", "Op", None) != cache_key(1, "q", "Other", None)


async def test_the_least_recently_used_go_beyond_the_count_or_the_bytes():
    # given: room for 3 answers or 100 bytes
    cache = _cache(size=3, max_bytes=100)
    keys = [cache_key(1, f"q{n}", None, None) for n in range(4)]
    for key in keys[:3]:
        await cache.store(key, V1, Freshness(NOW), b"x")
    cache.lookup(keys[0], V1, NOW)  # used again: the oldest is now q1
    # when
    await cache.store(keys[3], V1, Freshness(NOW), b"x")
    # then
    assert cache.lookup(keys[1], V1, NOW) is None
    assert [cache.lookup(k, V1, NOW) for k in (keys[0], keys[2], keys[3])] == [b"x"] * 3
    # and a big answer pushes the others out
    await cache.store(keys[1], V1, Freshness(NOW), b"y" * 90)
    assert cache.lookup(keys[1], V1, NOW) == b"y" * 90
    assert cache.lookup(keys[0], V1, NOW) is None


def test_the_next_midnight_is_the_sooner_of_utc_and_the_sites():
    # 22:30 UTC, the evening before Europe/Warsaw moves to summer time: it is 23:30 there
    # (UTC+1), so Warsaw's midnight comes at 23:00 UTC, before UTC's
    assert next_midnights(NOW, "Europe/Warsaw") == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    # New York's midnight (UTC-4 in March) is 04:00 UTC, after UTC's
    assert next_midnights(NOW, "America/New_York") == datetime(2026, 3, 29, tzinfo=UTC)
    # Tokyo (UTC+9): it is 07:30 on the 29th there; its midnight is 15:00 UTC on the 29th
    late = datetime(2026, 3, 29, 10, 0, tzinfo=UTC)
    assert next_midnights(late, "Asia/Tokyo") == datetime(2026, 3, 29, 15, 0, tzinfo=UTC)
