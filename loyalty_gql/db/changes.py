"""The change feed: which customers' data and which sites' events a committed write
changed, told to every worker, for GraphQL subscriptions.

A write transaction's commit (db/versions.py) publishes small messages, never state:

- ``c:<customer id>:<site id>:<data version>`` for each customer whose data it changed
  (the version the commit bumped it to);
- ``e:<site id>:<event id>,<event id>...`` for the outbox events it wrote.

On PostgreSQL they are ``pg_notify`` calls inside the transaction's own version bump,
so they are delivered only if it commits, and in commit order; each worker listens on one
asyncpg connection of its own (opened when the first subscriber comes, reopened when it
breaks). On SQLite the commit hands them to this process's hub, or, when Redis is
configured, publishes them on a Redis channel every process subscribes to (so the
writes of `loyalty-gql worker`, jobs and the CLI reach the server too). Subscribers read
the state itself again through the normal resolvers, with their own token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from typing import Any

import asyncpg
import coredis
from coredis.exceptions import RedisError

log = logging.getLogger(__name__)

CHANNEL = "loyalty_changes"
MAX_MESSAGE = 7000
"""Bytes of event ids in one message (PostgreSQL's NOTIFY payload limit is 8000)."""
MAX_PENDING_EVENTS = 10_000
"""Event ids a slow site subscriber may fall behind by before it is told it lost some."""
RECONNECT_SECONDS = (0.1, 0.5, 1.0, 2.0, 5.0)
LISTENER_NAME = "loyalty-change-feed"
"""The application_name of the LISTEN connections (pg_stat_activity shows them so)."""


def customer_message(customer_id: int, site_id: int, version: int) -> str:
    """The message saying a customer's data is now at ``version``."""
    return f"c:{customer_id}:{site_id}:{version}"


def event_messages(events: dict[int, list[int]]) -> list[str]:
    """The messages naming the outbox events written, per site (a long list split)."""
    messages: list[str] = []
    for site_id, ids in sorted(events.items()):
        head = f"e:{site_id}:"
        chunk: list[str] = []
        size = 0
        for event_id in sorted(ids):
            text = str(event_id)
            if chunk and size + len(text) + 1 > MAX_MESSAGE:
                messages.append(head + ",".join(chunk))
                chunk, size = [], 0
            chunk.append(text)
            size += len(text) + 1
        if chunk:
            messages.append(head + ",".join(chunk))
    return messages


class CustomerInbox:
    """What one subscriber of a customer has been told: the newest version committed."""

    __slots__ = ("customer_id", "resync", "version", "wake")

    def __init__(self, customer_id: int) -> None:
        self.customer_id = customer_id
        self.version = 0
        self.resync = False
        """Set when notifications may have been lost (the listener reconnected)."""
        self.wake = asyncio.Event()

    def tell(self, version: int) -> None:
        """A commit moved the customer to ``version``."""
        if version > self.version:
            self.version = version
            self.wake.set()


class SiteInbox:
    """The outbox events of one site a subscriber has not taken yet."""

    __slots__ = ("event_ids", "lost", "site_id", "wake")

    def __init__(self, site_id: int) -> None:
        self.site_id = site_id
        self.event_ids: list[int] = []
        self.lost = False
        """Set when events may have been missed (the listener reconnected, or it lagged)."""
        self.wake = asyncio.Event()

    def tell(self, event_ids: Iterable[int]) -> None:
        """A commit wrote these events of the site."""
        self.event_ids.extend(event_ids)
        if len(self.event_ids) > MAX_PENDING_EVENTS:
            self.event_ids.clear()
            self.lost = True
        self.wake.set()

    def take(self) -> list[int]:
        """The pending event ids, oldest commit first; the inbox is emptied."""
        taken, self.event_ids = self.event_ids, []
        self.wake.clear()
        return taken


class RedisChannel:
    """A Redis pub/sub channel carrying the change messages between processes."""

    def __init__(self, url: str, channel: str) -> None:
        self.url = url
        self.channel = channel
        self._client: coredis.Redis[str] | None = None

    def client(self) -> coredis.Redis[str]:
        """A client for publishing (opened on first use)."""
        if self._client is None:
            self._client = coredis.Redis.from_url(
                self.url, decode_responses=True, connect_timeout=1.0, stream_timeout=2.0
            )
        return self._client

    async def publish(self, messages: Iterable[str]) -> bool:
        """Publish the messages in order; False (logged) when Redis cannot be reached."""
        try:
            for message in messages:
                await self.client().publish(self.channel, message)
        except (RedisError, OSError) as error:
            log.warning("change feed: Redis publish failed (%s); subscribers miss it", error)
            return False
        return True


class ChangeHub:
    """One process's subscribers, by customer and by site, and where their news comes
    from: PostgreSQL's LISTEN (``dsn``), a Redis channel (``redis``, SQLite only), or
    this process's commits (SQLite)."""

    def __init__(
        self, dsn: str | None, redis: RedisChannel | None = None, *, enabled: bool = True
    ) -> None:
        self.enabled = enabled
        """Whether commits publish at all (LOYALTY_CHANGE_FEED; off: no subscriptions)."""
        self._dsn = dsn
        self.redis = None if dsn else redis
        """Where this process's commits are published instead of in process."""
        self._customers: defaultdict[int, set[CustomerInbox]] = defaultdict(set)
        self._sites: defaultdict[int, set[SiteInbox]] = defaultdict(set)
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self.received = 0
        """Messages published to this hub (tests and metrics read it)."""

    @contextlib.asynccontextmanager
    async def customer(self, customer_id: int) -> AsyncIterator[CustomerInbox]:
        """Watch a customer's commits while the block runs."""
        await self._ensure_listening()
        inbox = CustomerInbox(customer_id)
        self._customers[customer_id].add(inbox)
        try:
            yield inbox
        finally:
            self._forget(self._customers, customer_id, inbox)

    @contextlib.asynccontextmanager
    async def site(self, site_id: int) -> AsyncIterator[SiteInbox]:
        """Watch the outbox events of a site while the block runs."""
        await self._ensure_listening()
        inbox = SiteInbox(site_id)
        self._sites[site_id].add(inbox)
        try:
            yield inbox
        finally:
            self._forget(self._sites, site_id, inbox)

    @staticmethod
    def _forget(table: defaultdict[int, set[Any]], key: int, inbox: object) -> None:
        inboxes = table.get(key)
        if inboxes is not None:
            inboxes.discard(inbox)
            if not inboxes:
                del table[key]

    def publish(self, message: str) -> None:
        """Tell the subscribers of this process what one message says (bad ones are
        logged and dropped)."""
        self.received += 1
        kind, _, rest = message.partition(":")
        try:
            if kind == "c":
                customer, _site, version = rest.split(":")
                for inbox in self._customers.get(int(customer), ()):
                    inbox.tell(int(version))
            elif kind == "e":
                site, _, ids = rest.partition(":")
                inboxes = self._sites.get(int(site))
                if inboxes:
                    event_ids = [int(i) for i in ids.split(",") if i]
                    for site_inbox in inboxes:
                        site_inbox.tell(event_ids)
            else:
                raise ValueError(kind)
        except ValueError:
            log.warning("an unreadable change message: %.80s", message)

    def _resync(self) -> None:
        """Notifications may have been lost: every subscriber looks again."""
        for customer_inboxes in self._customers.values():
            for inbox in customer_inboxes:
                inbox.resync = True
                inbox.wake.set()
        for site_inboxes in self._sites.values():
            for site_inbox in site_inboxes:
                site_inbox.lost = True
                site_inbox.wake.set()

    async def _ensure_listening(self) -> None:
        if self._dsn is None and self.redis is None:
            return
        if self._listener is None or self._listener.done():
            if self._dsn is not None:
                self._listener = asyncio.create_task(self._listen(self._dsn))
            elif self.redis is not None:
                self._listener = asyncio.create_task(self._listen_redis(self.redis))
        # a subscriber counts from the moment the listener is up, so wait for it
        await asyncio.wait_for(self._listening.wait(), timeout=30)

    async def _listen(self, dsn: str) -> None:
        """Keep one LISTEN connection open, reopening it when it breaks."""
        failures = 0
        first = True
        while True:
            try:
                connection = await asyncpg.connect(
                    dsn, server_settings={"application_name": LISTENER_NAME}
                )
            except (OSError, asyncpg.PostgresError) as error:
                delay = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
                failures += 1
                log.warning("change feed: cannot connect (%s); again in %ss", error, delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            try:
                await self._listen_on(connection, resync=not first)
            except (OSError, asyncpg.PostgresError) as error:
                log.warning("change feed: %s; reconnecting", error)
            finally:
                self._listening.clear()
                connection.terminate()
            first = False

    async def _listen_on(self, connection: asyncpg.Connection[Any], *, resync: bool) -> None:
        """Listen until the connection is lost."""
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _c: lost.set())
        await connection.add_listener(CHANNEL, self._on_notify)
        if resync:
            self._resync()
        self._listening.set()
        while not lost.is_set():
            # a dead server is found by a keepalive query, not only by the socket
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), timeout=15)
            if not lost.is_set():
                try:
                    await asyncio.wait_for(connection.execute("SELECT 1"), timeout=10)
                except (OSError, TimeoutError, asyncpg.PostgresError):
                    lost.set()
        log.warning("change feed: the LISTEN connection was lost; reconnecting")

    async def _listen_redis(self, redis: RedisChannel) -> None:
        """Keep a subscription to the Redis channel, resubscribing when it breaks."""
        failures = 0
        first = True
        while True:
            client: coredis.Redis[str] = coredis.Redis.from_url(
                redis.url, decode_responses=True, connect_timeout=1.0
            )
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(redis.channel)
                    async with asyncio.timeout(10):
                        while (await pubsub.get_message()) is None:
                            pass  # the subscription's confirmation: listening from now on
                    failures = 0
                    if not first:
                        self._resync()
                    first = False
                    self._listening.set()
                    async for message in pubsub:
                        if message["type"] == "message":
                            self.publish(str(message["data"]))
            except (RedisError, OSError, TimeoutError) as error:
                delay = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
                failures += 1
                log.warning("change feed: Redis subscription lost (%s); again in %ss", error, delay)
                await asyncio.sleep(delay)
            finally:
                self._listening.clear()

    def _on_notify(self, _connection: object, _pid: int, _channel: str, payload: object) -> None:
        self.publish(str(payload))

    async def close(self) -> None:
        """Stop listening."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None


_HUBS: weakref.WeakKeyDictionary[object, ChangeHub] = weakref.WeakKeyDictionary()


def register_hub(pool: object, hub: ChangeHub) -> None:
    """Make ``hub`` the one commits through ``pool`` (SQLite: in process) publish to."""
    _HUBS[pool] = hub


def hub_of(pool: object) -> ChangeHub | None:
    """The hub of the database whose connections ``pool`` holds."""
    return _HUBS.get(pool)
