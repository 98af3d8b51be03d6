"""What every resolver gets: settings, database, the caller's access, loaders, clock."""

from __future__ import annotations

from collections import OrderedDict
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from loyalty_gql.api.auth import Access, Principal, Role
from loyalty_gql.api.loaders import Loaders, SharedReads
from loyalty_gql.api.response_cache import Freshness
from loyalty_gql.api.throttle import Throttle
from loyalty_gql.config import Settings
from loyalty_gql.db.engine import Database
from loyalty_gql.db.repositories.identities import customer_id_by_external_id, site_ids_by_codes
from loyalty_gql.db.session import Session
from loyalty_gql.services.core.common import Actor, Clock

CUSTOMER_CACHE_SIZE = 100_000


class IdentityCache:
    """Process-wide caches of facts that never change: site code -> id, customer key -> id.

    Site codes and customers' external ids are immutable and rows are never
    deleted, so a hit can never be stale; misses are not cached.
    """

    def __init__(self) -> None:
        self.site_ids: dict[str, int] = {}
        self.customer_ids: OrderedDict[tuple[int, str], int] = OrderedDict()

    def remember_customer(self, key: tuple[int, str], customer_id: int) -> None:
        """Cache a customer's id, evicting the oldest beyond the size limit."""
        self.customer_ids[key] = customer_id
        if len(self.customer_ids) > CUSTOMER_CACHE_SIZE:
            self.customer_ids.popitem(last=False)


async def resolve_access(principal: Principal, db: Database, cache: IdentityCache) -> Access:
    """Turn a token's site codes and customer external id into database ids."""
    if principal.role is Role.ANONYMOUS:
        return Access(principal)
    missing = [code for code in principal.site_codes if code not in cache.site_ids]
    if missing:
        async with db.read_sessions() as session:
            cache.site_ids.update(await site_ids_by_codes(session, missing))
    by_id = {cache.site_ids[c]: c for c in principal.site_codes if c in cache.site_ids}
    access = Access(principal, frozenset(by_id), None, by_id)
    if principal.role is Role.CUSTOMER and by_id and principal.customer_external_id is not None:
        (site_id,) = by_id
        key = (site_id, principal.customer_external_id)
        customer_id = cache.customer_ids.get(key)
        if customer_id is None:
            async with db.read_sessions() as session:
                customer_id = await customer_id_by_external_id(session, site_id, key[1])
            if customer_id is not None:
                cache.remember_customer(key, customer_id)
        access.customer_id = customer_id
    return access


@dataclass(slots=True)
class Context:
    """Per-request state handed to every resolver."""

    settings: Settings
    db: Database
    access: Access
    clock: Clock
    loaders: Loaders
    extra: dict[str, object] = field(default_factory=dict)
    caller: str = ""
    throttle: Throttle | None = None
    reads: SharedReads | None = None
    """The one read session the loaders of a query share."""
    freshness: Freshness | None = None
    """Set when the answer may be cached: fields whose answer turns at an instant of their
    own tell it when (api/response_cache.py)."""

    def read_session(self) -> AbstractAsyncContextManager[Session]:
        """A read session for a resolver's own statements: the query's shared one (so a
        customer's answer read in one snapshot reads all of it there), else a new one."""
        return self.reads() if self.reads is not None else self.db.read_sessions()

    @property
    def actor(self) -> Actor:
        """The caller as services record it."""
        principal = self.access.principal
        return Actor(principal.role.value, principal.subject)
