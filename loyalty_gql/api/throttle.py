"""Rate limits per caller: requests, query cost and unknown coupon codes per minute.

Counters are `limits` fixed windows: a caller's minute starts with their first
request and the counter resets a minute later. They live in this process, or in
Redis when ``LOYALTY_REDIS_URL`` is set, so every worker and host sharing it
enforces one limit together. Nothing in them is money: when Redis cannot be
reached, requests pass (and the log says so) rather than the shop going down.

A caller is the token's subject (with its role and sites), or the client's
address for anonymous requests; behind a trusted proxy the address comes from
``X-Forwarded-For`` (the rightmost hop that is not one of the proxies).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from dataclasses import dataclass

import coredis
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from prometheus_client import Counter

from loyalty_gql.api.auth import Principal, Role
from loyalty_gql.config import Settings

log = logging.getLogger(__name__)
THROTTLED = Counter("loyalty_throttled_total", "Requests refused by a rate limit.", ["limit"])
STORAGE_ERRORS = Counter("loyalty_rate_limit_storage_errors_total", "Rate-limit storage failures.")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Budget:
    """One limit after a hit: how much the caller has used and may still use this minute."""

    limit: int
    used: int
    reset_in: float
    exceeded: bool = False

    @property
    def remaining(self) -> int:
        """What is left this minute (never negative)."""
        return max(self.limit - self.used, 0)

    @property
    def retry_after(self) -> int:
        """Whole seconds until the window resets (at least 1)."""
        return max(math.ceil(self.reset_in), 1)


class Throttle:
    """The rate limits of one application (one process; shared through Redis if set)."""

    def __init__(self, settings: Settings) -> None:
        self.storage: Storage = MemoryStorage()
        self._pool: coredis.ConnectionPool | None = None
        if settings.redis_url:
            self._pool = coredis.ConnectionPool.from_url(
                settings.redis_url, connect_timeout=1.0, stream_timeout=1.0
            )
            self.storage = RedisStorage(
                _async_uri(settings.redis_url),
                key_prefix=f"{settings.redis_prefix}:limits",
                # limits hands the pool to coredis; its annotation of options is narrower
                connection_pool=self._pool,  # type: ignore[arg-type]
            )
        self.requests = _per_minute(settings.rate_limit_requests)
        self.cost = _per_minute(settings.rate_limit_cost)
        self.unknown_codes = _per_minute(settings.rate_limit_unknown_codes)
        self.proxies: tuple[Network, ...] = tuple(
            ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies
        )

    async def close(self) -> None:
        """Close the Redis connections, if any."""
        if self._pool is not None:
            self._pool.disconnect()

    def caller(self, principal: Principal, client: str | None, forwarded_for: str | None) -> str:
        """The key a caller's counters are kept under."""
        if principal.role is not Role.ANONYMOUS:
            sites = ",".join(sorted(principal.site_codes))
            return f"{principal.role.value}:{sites}:{principal.subject}"
        return f"ip:{self.client_address(client, forwarded_for)}"

    def client_address(self, peer: str | None, forwarded_for: str | None) -> str:
        """The client's address: the peer's, or behind trusted proxies the forwarded one."""
        address = peer or "unknown"
        if not forwarded_for or not self._trusted(address):
            return address
        for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
            if not hop:
                continue
            address = hop
            if not self._trusted(hop):
                break
        return address

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.proxies)

    async def request(self, caller: str) -> Budget | None:
        """Count one request; None when requests are not limited."""
        return await self._hit(self.requests, "requests", caller, 1)

    async def spend(self, caller: str, cost: int) -> Budget | None:
        """Spend a query's cost; a refused spend is given back. None when not limited."""
        budget = await self._hit(self.cost, "cost", caller, cost)
        if budget is not None and budget.exceeded and cost:
            await self._hit(self.cost, "cost", caller, -cost)
            return Budget(budget.limit, budget.used - cost, budget.reset_in, exceeded=True)
        return budget

    async def codes_refused(self, caller: str) -> Budget | None:
        """The unknown-code budget when the caller has used it up (their codes are not
        checked this minute); None while they may still try codes."""
        item = self.unknown_codes
        if item is None:
            return None
        key = item.key_for("codes", caller)
        try:
            used = await self.storage.get(key)
            if used < item.amount:
                return None
            reset_at = await self.storage.get_expiry(key)
        except Exception:
            _storage_failed()
            return None
        THROTTLED.labels("codes").inc()
        return Budget(item.amount, used, reset_at - time.time(), exceeded=True)

    async def unknown_codes_tried(self, caller: str, count: int) -> None:
        """Count unknown codes the caller tried."""
        if count:
            await self._hit(self.unknown_codes, "codes", caller, count)

    async def _hit(
        self, item: RateLimitItem | None, kind: str, caller: str, amount: int
    ) -> Budget | None:
        if item is None:
            return None
        key = item.key_for(kind, caller)
        try:
            used = await self.storage.incr(key, item.get_expiry(), amount=amount)
            if amount > 0 and used > item.amount:
                reset_at = await self.storage.get_expiry(key)
                THROTTLED.labels(kind).inc()
                return Budget(item.amount, used, reset_at - time.time(), exceeded=True)
        except Exception:
            _storage_failed()
            return None
        return Budget(item.amount, used, 0.0)


_last_logged = 0.0
LOG_EVERY_SECONDS = 60.0


def _storage_failed() -> None:
    """Count the failure; log it (with its traceback, at hand in the except blocks above)
    at most once a minute, so a Redis outage does not write a traceback per request."""
    global _last_logged  # noqa: PLW0603 - one process-wide throttle of the log
    STORAGE_ERRORS.inc()
    now = time.monotonic()
    if now - _last_logged >= LOG_EVERY_SECONDS:
        _last_logged = now
        log.warning(
            "rate-limit storage failed; letting requests pass (logged once a minute, "
            "counted in loyalty_rate_limit_storage_errors_total)",
            exc_info=True,  # noqa: LOG014
        )


def _per_minute(amount: int) -> RateLimitItem | None:
    return RateLimitItemPerMinute(amount) if amount > 0 else None


def _async_uri(url: str) -> str:
    """limits' spelling of a Redis URL for its asyncio storage (coredis)."""
    return url if url.startswith("async+") else f"async+{url}"
