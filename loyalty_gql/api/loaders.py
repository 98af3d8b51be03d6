"""Per-request dataloaders: one per lookup, batching keys into one query each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from aiodataloader import DataLoader
from sqlalchemy.ext.asyncio import AsyncSession

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import CustomerRow, SiteRow
from loyalty_gql.db.repositories.customers import customers_by_ids
from loyalty_gql.db.repositories.sites import sites_by_ids

K = TypeVar("K")
V = TypeVar("V")


class RowLoader(DataLoader, Generic[K, V]):  # type: ignore[type-arg]
    """Loads rows by key in one query per batch, in key order (None when missing)."""

    def __init__(
        self,
        db: Database,
        fetch: Callable[[AsyncSession, Sequence[K]], Awaitable[dict[K, V]]],
    ) -> None:
        super().__init__()
        self._db = db
        self._fetch = fetch

    async def batch_load_fn(self, keys: Sequence[K]) -> list[V | None]:
        """Fetch every key of the batch with one statement."""
        async with self._db.read_sessions() as session:
            found = await self._fetch(session, list(dict.fromkeys(keys)))
        return [found.get(key) for key in keys]


class Loaders:
    """The loaders of one request."""

    def __init__(self, db: Database) -> None:
        self.site_by_id: RowLoader[int, SiteRow] = RowLoader(db, sites_by_ids)
        self.customer_by_id: RowLoader[int, CustomerRow] = RowLoader(db, customers_by_ids)
