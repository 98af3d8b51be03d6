"""Per-request dataloaders: one per lookup, batching keys into one query each."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Generic, TypeVar

from aiodataloader import DataLoader

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import (
    CampaignRow,
    CustomerRow,
    LedgerEntryRow,
    OfferRow,
    OrderRow,
    OutboxEventRow,
    PointAccountRow,
    SiteRow,
    TierRow,
    VoucherRow,
    WebhookEndpointRow,
)
from loyalty_gql.db.paging import Window
from loyalty_gql.db.repositories.campaigns import campaigns_by_ids
from loyalty_gql.db.repositories.customers import customers_by_ids, snapshot_data_version
from loyalty_gql.db.repositories.insight import OfferUse
from loyalty_gql.db.repositories.notifications import outbox_events_by_ids
from loyalty_gql.db.repositories.offers.catalog import offers_by_ids
from loyalty_gql.db.repositories.orders import order_counts, order_pages, orders_by_ids, shard_uses
from loyalty_gql.db.repositories.points.ledger import (
    accounts_by_customer_ids,
    entries_by_ids,
    expiring_lots_by_customer,
    ledger_lengths,
    ledger_pages,
    vouchers_by_customer,
)
from loyalty_gql.db.repositories.referrals import referral_points_earned, referred_counts
from loyalty_gql.db.repositories.sites import sites_by_ids
from loyalty_gql.db.repositories.tiers import (
    measures_for_many,
    rule_of,
    tiers_by_ids,
    tiers_of_sites,
)
from loyalty_gql.db.repositories.webhooks import endpoints_by_ids
from loyalty_gql.db.session import Session
from loyalty_gql.domain.tiers import Measures, TierRule
from loyalty_gql.services.insight import CustomerInsight, customer_insights, offer_performance

Sessions = Callable[[], AbstractAsyncContextManager[Session]]
"""Where a loader gets the session of a batch: a new read session, or the request's."""


class SharedReads:
    """One read session for every loader of a request, one batch at a time.

    A dashboard's loaders dispatch their batches together; each on a session of its own
    holds as many pooled connections at once, and under load the pool runs dry and
    opens (and closes) new ones for every request. Sharing one keeps a query request
    to one connection. Only for queries: a mutation's answer must not see rows its
    session loaded before the write.
    """

    def __init__(self, db: Database, *, snapshot_of: int | None = None) -> None:
        self._db = db
        self._session: Session | None = None
        self._lock = asyncio.Lock()
        self._closed = False
        self._snapshot_of = snapshot_of
        self.snapshot_version: int | None = None
        """With ``snapshot_of`` (a customer id): the session reads one snapshot, and this
        is that customer's data version in it (None until the first read, or when the
        customer is gone)."""

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[Session]:
        if not self._closed:
            async with self._lock:
                if not self._closed:
                    if self._session is None:
                        self._session = self._db.read_sessions()
                        if self._snapshot_of is not None:
                            self.snapshot_version = await snapshot_data_version(
                                self._session, self._snapshot_of
                            )
                    yield self._session
                    return
        # a resolver still running after its request was answered (a sibling failed and
        # graphql-core does not cancel the others): a session of its own
        async with self._db.read_sessions() as session:
            yield session

    async def close(self) -> None:
        """End the request's read session, if it was opened; later batches open their own."""
        self._closed = True
        if self._session is None and not self._lock.locked():
            return  # never opened, and no batch is opening it: nothing to end
        async with self._lock:
            if self._session is not None:
                session, self._session = self._session, None
                await session.close()


K = TypeVar("K")
V = TypeVar("V")


class RowLoader(DataLoader, Generic[K, V]):  # type: ignore[type-arg]
    """Loads rows by key in one query per batch, in key order (None when missing)."""

    def __init__(
        self,
        sessions: Sessions,
        fetch: Callable[[Session, Sequence[K]], Awaitable[dict[K, V]]],
    ) -> None:
        super().__init__()
        self._sessions = sessions
        self._fetch = fetch

    async def batch_load_fn(self, keys: Sequence[K]) -> list[V | None]:
        """Fetch every key of the batch with one statement."""
        async with self._sessions() as session:
            found = await self._fetch(session, list(dict.fromkeys(keys)))
        return [found.get(key) for key in keys]


PageKey = tuple[int, Window]  # customer id, which rows
PageFetch = Callable[..., Awaitable[dict[int, list[V]]]]


class PageLoader(DataLoader, Generic[V]):  # type: ignore[type-arg]
    """Pages of many customers' lists (ledger, orders): one window query per window in
    the batch."""

    def __init__(self, sessions: Sessions, fetch: PageFetch[V]) -> None:
        super().__init__()
        self._sessions = sessions
        self._fetch = fetch

    async def batch_load_fn(self, keys: Sequence[PageKey]) -> list[list[V]]:
        """Group the keys by page shape and run one query per shape."""
        shapes: dict[Window, list[int]] = defaultdict(list)
        for customer_id, window in keys:
            shapes[window].append(customer_id)
        pages: dict[PageKey, list[V]] = {}
        async with self._sessions() as session:
            for window, ids in shapes.items():
                found = await self._fetch(session, ids, window)
                for customer_id in ids:
                    pages[(customer_id, window)] = found[customer_id]
        return [pages[key] for key in keys]


@dataclass(frozen=True, slots=True)
class TierStanding:
    """What tier progress needs: the site's tiers (rules, and their rows by id, so the next
    tier needs no query of its own), the customer's tier and measures."""

    rules: list[TierRule]
    current: TierRule | None
    measures: Measures
    today: date
    rows: dict[int, TierRow]


class TierStandingLoader(DataLoader):  # type: ignore[type-arg]
    """Tier standings of many customers: accounts, tiers and windowed sums in a few queries."""

    def __init__(self, sessions: Sessions, today: date) -> None:
        super().__init__()
        self._sessions = sessions
        self._today = today

    async def batch_load_fn(self, keys: Sequence[int]) -> list[TierStanding | None]:
        """Load accounts, their sites' tiers, then measures per site."""
        async with self._sessions() as session:
            accounts = await accounts_by_customer_ids(session, list(set(keys)))
            by_site: dict[int, list[PointAccountRow]] = defaultdict(list)
            for account in accounts.values():
                by_site[account.site_id].append(account)
            tiers = await tiers_of_sites(session, list(by_site))
            standings: dict[int, TierStanding] = {}
            for site_id, site_accounts in by_site.items():
                rules = [rule_of(t) for t in tiers[site_id]]
                rows = {t.id: t for t in tiers[site_id]}
                measures = (
                    await measures_for_many(session, site_accounts, rules, self._today)
                    if rules
                    else {}
                )
                for account in site_accounts:
                    current = next((r for r in rules if r.id == account.tier_id), None)
                    standings[account.customer_id] = TierStanding(
                        rules, current, measures.get(account.customer_id, {}), self._today, rows
                    )
        return [standings.get(key) for key in keys]


class Loaders:
    """The loaders of one request, each made on first use."""

    def __init__(
        self, db: Database, clock: Callable[[], datetime], *, shared: SharedReads | None = None
    ) -> None:
        self._db = db
        self._clock = clock
        self._sessions: Sessions = shared or db.read_sessions

    @cached_property
    def site_by_id(self) -> RowLoader[int, SiteRow]:
        """Sites by id."""
        return RowLoader(self._sessions, sites_by_ids)

    @cached_property
    def customer_by_id(self) -> RowLoader[int, CustomerRow]:
        """Customers by id."""
        return RowLoader(self._sessions, customers_by_ids)

    @cached_property
    def account_by_customer(self) -> RowLoader[int, PointAccountRow]:
        """Points accounts by customer id."""
        return RowLoader(self._sessions, accounts_by_customer_ids)

    @cached_property
    def expiring_lots(self) -> RowLoader[int, list[tuple[datetime, int]]]:
        """(expiry, points) of open expiring lots by customer id."""
        return RowLoader(self._sessions, expiring_lots_by_customer)

    @cached_property
    def tier_by_id(self) -> RowLoader[int, TierRow]:
        """Tiers by id."""
        return RowLoader(self._sessions, tiers_by_ids)

    @cached_property
    def entry_by_id(self) -> RowLoader[int, LedgerEntryRow]:
        """Ledger entries by id."""
        return RowLoader(self._sessions, entries_by_ids)

    @cached_property
    def tiers_by_site(self) -> RowLoader[int, list[TierRow]]:
        """A site's tiers by site id."""
        return RowLoader(self._sessions, tiers_of_sites)

    @cached_property
    def vouchers_by_customer(self) -> RowLoader[int, list[VoucherRow]]:
        """Vouchers by customer id."""
        return RowLoader(self._sessions, vouchers_by_customer)

    @cached_property
    def referred_count(self) -> RowLoader[int, int]:
        """How many friends each referrer brought, by customer id (None: none)."""
        return RowLoader(self._sessions, referred_counts)

    @cached_property
    def referral_points(self) -> RowLoader[int, int]:
        """Points each customer earned for referrals, net, by customer id (None: none)."""
        return RowLoader(self._sessions, referral_points_earned)

    @cached_property
    def campaign_by_id(self) -> RowLoader[int, CampaignRow]:
        """Campaigns by id."""
        return RowLoader(self._sessions, campaigns_by_ids)

    @cached_property
    def offer_by_id(self) -> RowLoader[int, OfferRow]:
        """Offers by id."""
        return RowLoader(self._sessions, offers_by_ids)

    @cached_property
    def offer_shard_uses(self) -> RowLoader[int, int]:
        """Uses counted on an unlimited offer's shards, by offer id (missing: none)."""
        return RowLoader(self._sessions, shard_uses)

    @cached_property
    def endpoint_by_id(self) -> RowLoader[int, WebhookEndpointRow]:
        """Webhook endpoints by id."""
        return RowLoader(self._sessions, endpoints_by_ids)

    @cached_property
    def order_by_id(self) -> RowLoader[int, OrderRow]:
        """Orders by id."""
        return RowLoader(self._sessions, orders_by_ids)

    @cached_property
    def event_by_id(self) -> RowLoader[int, OutboxEventRow]:
        """Outbox events by id."""
        return RowLoader(self._sessions, outbox_events_by_ids)

    @cached_property
    def customer_insight(self) -> RowLoader[int, CustomerInsight]:
        """Insight by customer id (orders and their lines, two statements a batch)."""
        # reports run in sessions of their own (a snapshot transaction, aiosqlite's thread)
        return RowLoader(self._db.report_sessions, customer_insights)

    @cached_property
    def offer_performance(self) -> RowLoader[int, OfferUse]:
        """All-time performance by offer id (missing for offers never used)."""
        return RowLoader(self._db.report_sessions, offer_performance)

    @cached_property
    def ledger_page(self) -> PageLoader[LedgerEntryRow]:
        """Ledger pages by (customer id, window)."""
        return PageLoader(self._sessions, ledger_pages)

    @cached_property
    def order_page(self) -> PageLoader[OrderRow]:
        """Pages of customers' orders by (customer id, window)."""
        return PageLoader(self._sessions, order_pages)

    @cached_property
    def order_count(self) -> RowLoader[int, int]:
        """How many orders each customer has, by customer id."""
        return RowLoader(self._sessions, order_counts)

    @cached_property
    def ledger_length(self) -> RowLoader[int, int]:
        """How many ledger entries each customer has, by customer id."""
        return RowLoader(self._sessions, ledger_lengths)

    @cached_property
    def tier_standing(self) -> TierStandingLoader:
        """Tier standings by customer id."""
        return TierStandingLoader(self._sessions, self._clock().date())
