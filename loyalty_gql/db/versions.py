"""Read versions: every write transaction bumps, at commit, the `data_version` of the
customers and sites whose rows it wrote, so a cached answer can tell it is stale.

What a customer's GraphQL read shows comes from two kinds of rows: the customer's own
(their profile, account, ledger, lots, vouchers, holdings, exchanges: rows with a
customer column) and the site's (the site, its offers, tiers, codes, stacking groups).
A response cached for a customer (api/response_cache.py) is kept with the customer's
and the site's `data_version` as they were read *before* it was computed, and served
only while both are unchanged.

The write session learns what it wrote in two ways:

- rows added, changed or deleted through the ORM, from the flush: a row with a
  customer column touches that customer (a customer row touches itself); a row
  with only a site column touches the site;
- Core DML statements (`insert`, `update`, `delete` built in db/repositories) say whom
  they touch: they carry the execution option of :func:`scoped` and the repository
  calls :func:`touch` with the owners. A DML statement without it, on a table customers
  can see, touches every site (nothing is ever served stale because a statement forgot
  to say whom it changed; the cost is a cold cache).

At commit the bumps run last, customers then sites, each in id order, so two writers
never wait for each other's bumps in a cycle. The customers' bump also tells the change
feed (db/changes.py) which customers moved to which version and which outbox events the
transaction wrote (repositories call :func:`touch_events`): on PostgreSQL with
``pg_notify`` in the same statement (a CTE over the UPDATE's RETURNING), so it costs no
statement and is delivered at commit, in commit order; on SQLite the versions come back
through RETURNING and this process's hub is told after the commit.

Tables no customer read shows (outbox, webhooks, idempotency records, templates, order
internals) touch nothing; an order row touches its customer (viewer.orders), a guest's
order nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import URL, event, text
from sqlalchemy.exc import MissingGreenlet
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.orm import SessionTransaction as OrmTransaction
from sqlalchemy.sql import Executable, TextClause
from sqlalchemy.util import await_only

from loyalty_gql.db.changes import CHANNEL, customer_message, event_messages, hub_of

log = logging.getLogger(__name__)

READ_BUSY_TIMEOUT_SECONDS = 5.0
"""How long an in-loop reader waits when SQLite is busy (WAL readers almost never are)."""
SCOPED = "loyalty_scoped"
"""Execution option of a DML statement whose owners the repository touched itself."""
KEY = "loyalty_touched"
PUBLISHED = "loyalty_published"
"""Session info key: the change messages an SQLite commit hands to the hub afterwards."""

# rows no customer read shows: writing them changes no cached answer
INVISIBLE = frozenset(
    {
        "idempotency_records",
        "settings_changes",
        "outbox_events",
        "webhook_endpoints",
        "webhook_deliveries",
        "notification_templates",
        # e-mail and push (#19): settings, opt-outs, subscriptions, deliveries
        "channel_settings",
        "channel_opt_outs",
        "push_subscriptions",
        "channel_deliveries",
        # an order's internals: what it shows its customer is on the orders row (below),
        # what it changes for them (account, ledger, lots, vouchers, uses, punches) is
        # written in rows of their own
        "order_lines",
        "order_offers",
        "order_punches",
        "order_refunds",
        "lot_movements",
        # the use counts of offers without a limit: staff see them, customers do not
        "offer_use_counts",
        # leaderboards: scores change what other customers' boards show, so no cached
        # answer holds a board (viewer.leaderboards refuses the response cache)
        "leaderboard_scores",
        "leaderboard_score_counts",
        "leaderboard_awards",
        "alembic_version",
    }
)
# rows a customer reads (their own, viewer.orders) that touch no site when they have no
# customer: a guest's order is read by staff only
CUSTOMER_ONLY = frozenset({"orders"})
# columns naming a customer whose reads the row changes
CUSTOMER_COLUMNS = {"referrals": ("referrer_id", "referred_id")}
DEFAULT_CUSTOMER_COLUMNS = ("customer_id",)

S = TypeVar("S", bound=Executable)


class Touched:
    """What one transaction changed: customers, sites, or (unknown) everything."""

    __slots__ = ("customers", "events", "everything", "sites")

    def __init__(self) -> None:
        self.customers: set[int] = set()
        self.sites: set[int] = set()
        self.everything = False
        self.events: dict[int, list[int]] = {}
        """Outbox events written, by site (what site subscribers are told)."""


def _touched(session: Session) -> Touched:
    touched: Touched | None = session.info.get(KEY)
    if touched is None:
        touched = session.info[KEY] = Touched()
    return touched


def scoped(statement: S) -> S:
    """The DML statement, marked as one whose owners its repository touches itself."""
    return statement.execution_options(**{SCOPED: True})


def touch(
    session: Any, *, customers: Iterable[int | None] = (), sites: Iterable[int | None] = ()
) -> None:
    """Record that this transaction changes what these customers and sites show.

    ``session`` is the AsyncSession of db.session or its sync Session.
    """
    sync = getattr(session, "sync_session", session)
    touched = _touched(sync)
    touched.customers.update(c for c in customers if c is not None)
    touched.sites.update(s for s in sites if s is not None)


def touch_row(session: Any, row: object) -> None:
    """Record the owners of a mapped row written without a flush, as a flush would."""
    sync = getattr(session, "sync_session", session)
    _row_owners(_touched(sync), row)


def touch_events(session: Any, site_id: int, event_ids: Iterable[int]) -> None:
    """Record that this transaction wrote these outbox events of the site."""
    sync = getattr(session, "sync_session", session)
    _touched(sync).events.setdefault(site_id, []).extend(event_ids)


def _row_owners(touched: Touched, row: object) -> None:
    table = getattr(row, "__table__", None)
    name: str = getattr(table, "name", "")
    if name in INVISIBLE:
        return
    if name == "sites":
        touched.sites.add(row.id)  # type: ignore[attr-defined]
        return
    if name == "customers":  # a customer not flushed yet has no reads to change
        if row.id is not None:  # type: ignore[attr-defined]
            touched.customers.add(row.id)  # type: ignore[attr-defined]
        return
    if name in CUSTOMER_ONLY:
        customer_id = getattr(row, "customer_id", None)
        if customer_id is not None:
            touched.customers.add(customer_id)
        return
    columns = CUSTOMER_COLUMNS.get(name, DEFAULT_CUSTOMER_COLUMNS)
    customers = [getattr(row, c, None) for c in columns]
    if any(c is not None for c in customers):
        touched.customers.update(c for c in customers if c is not None)
        return
    site_id = getattr(row, "site_id", None)
    if site_id is not None:
        touched.sites.add(site_id)
    else:
        if STRICT[0]:
            raise UnscopedWriteError(name)
        log.warning("a %s row without its owners makes every site's cached reads stale", name)
        touched.everything = True


def _before_flush(session: Session, _context: UOWTransaction, _instances: object) -> None:
    touched = _touched(session)
    for row in session.new:
        _row_owners(touched, row)
    for row in session.deleted:
        _row_owners(touched, row)
    for row in session.dirty:
        if session.is_modified(row, include_collections=False):
            _row_owners(touched, row)


def _on_execute(state: ORMExecuteState) -> None:
    if state.execution_options.get(SCOPED):
        return
    statement = state.statement
    if isinstance(statement, TextClause):
        words = statement.text.lstrip().split(None, 1)
        if words and words[0].upper() in ("SELECT", "SET", "SHOW"):
            return
        _unscoped(state.session, statement.text[:40])
        return
    if not getattr(statement, "is_dml", False):
        return
    table = getattr(statement, "table", None)
    name = getattr(table, "name", "")
    if name in INVISIBLE:
        return
    _unscoped(state.session, name)


class UnscopedWriteError(RuntimeError):
    """A write whose owners are unknown, in strict mode (the test suite runs in it)."""


STRICT: list[bool] = [False]
"""Set STRICT[0] (tests do) to raise :class:`UnscopedWriteError` instead of bumping every site."""


def _unscoped(session: Session, what: str) -> None:
    if STRICT[0]:
        raise UnscopedWriteError(what)
    log.warning("a write without its owners (%s) makes every site's cached reads stale", what)
    _touched(session).everything = True


# The customers' bump and the change feed's messages in one statement (PostgreSQL).
# A data-modifying CTE runs whether or not the outer query reads all of it; pg_notify's
# messages are queued in call order and delivered when (and only if) the commit succeeds.
# The bumps, built once per dialect: every write transaction sends one or two of them
# (through the driver, db/direct.py), the ids as one parameter (an array on PostgreSQL,
# a JSON list on SQLite) so the statement is the same whatever their number.
IDS_IN = {
    "postgresql": "= ANY(CAST(:ids AS BIGINT[]))",
    "sqlite": "IN (SELECT value FROM json_each(:ids))",
}
NOTIFY_SQL = "SELECT pg_notify(:channel, m) FROM unnest(CAST(:messages AS text[])) AS m"


@dataclass(frozen=True, slots=True)
class _Bumps:
    notifying: TextClause
    returning: TextClause
    customers: TextClause
    sites: TextClause
    every_site: TextClause
    notify: TextClause


@cache
def _bumps(dialect: str) -> _Bumps:
    ids_in = IDS_IN.get(dialect, IDS_IN["sqlite"])
    # every piece of these texts is a constant of this module: no input reaches them
    bump = f"UPDATE customers SET data_version = data_version + 1 WHERE customers.id {ids_in}"  # noqa: S608

    def built(sql: str) -> TextClause:
        return text(sql).execution_options(**{SCOPED: True})

    return _Bumps(
        notifying=built(
            f"WITH bumped AS ({bump} RETURNING id, site_id, data_version) "  # noqa: S608
            "SELECT pg_notify(:channel, 'c:' || id || ':' || site_id || ':' || data_version) "
            f"FROM bumped UNION ALL {NOTIFY_SQL}"
        ),
        returning=built(bump + " RETURNING id, site_id, data_version"),
        customers=built(bump),
        sites=built(f"UPDATE sites SET data_version = data_version + 1 WHERE sites.id {ids_in}"),  # noqa: S608
        every_site=built("UPDATE sites SET data_version = data_version + 1"),
        notify=built(NOTIFY_SQL),
    )


def _through_session(session: Session, statement: Any, params: dict[str, Any]) -> list[Any]:
    result = session.execute(statement, params)
    return list(result.all()) if getattr(result, "returns_rows", False) else []


SYNC_RUNNER: list[Callable[[Session, Any, dict[str, Any]], list[Any]]] = [_through_session]
"""How the bumps are sent: through the session, until db/direct.py (which imports this
module) puts its driver path here when it is imported, as every write path does."""


def _ids(dialect: str, ids: list[int]) -> Any:
    return ids if dialect == "postgresql" else json.dumps(ids)


def _before_commit(session: Session) -> None:
    if not session.in_transaction():  # pragma: no cover - commit outside a transaction
        return
    session.flush()  # the rows the commit would flush count too
    touched: Touched | None = session.info.pop(KEY, None)
    if touched is None:
        return
    run = SYNC_RUNNER[0]
    events = event_messages(touched.events)
    bind = session.get_bind()
    hub = hub_of(bind.pool)  # type: ignore[union-attr]
    feed = hub is not None and hub.enabled
    dialect = bind.dialect.name
    postgres = dialect == "postgresql"
    bumps = _bumps(dialect)
    if touched.customers:
        ids = _ids(dialect, sorted(touched.customers))
        if feed and postgres:
            run(session, bumps.notifying, {"ids": ids, "channel": CHANNEL, "messages": events})
            events = []
        elif feed:
            bumped = run(session, bumps.returning, {"ids": ids})
            session.info[PUBLISHED] = [customer_message(*row) for row in sorted(bumped)] + events
            events = []
        else:
            run(session, bumps.customers, {"ids": ids})
    if touched.everything:
        run(session, bumps.every_site, {})
    elif touched.sites:
        run(session, bumps.sites, {"ids": _ids(dialect, sorted(touched.sites))})
    if events and feed and postgres:
        # events without a customer's change (rare): their own statement
        run(session, bumps.notify, {"channel": CHANNEL, "messages": events})
    elif events and feed:
        session.info[PUBLISHED] = events


def _after_commit(session: Session) -> None:
    published: list[str] | None = session.info.pop(PUBLISHED, None)
    if not published:
        return
    hub = hub_of(session.get_bind().pool)  # type: ignore[union-attr]
    if hub is None:
        return
    if hub.redis is not None:
        # other processes (and this one) hear it from Redis; the commit waits for the
        # publish, so a job's process does not exit before its news is out
        try:
            await_only(hub.redis.publish(published))
        except MissingGreenlet:  # pragma: no cover - a sync session outside asyncio
            log.warning("change feed: a commit outside asyncio is not published")
        return
    for message in published:
        hub.publish(message)


def _after_transaction_end(session: Session, transaction: OrmTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(KEY, None)
        session.info.pop(PUBLISHED, None)


@dataclass(frozen=True, slots=True)
class ReadVersions:
    """The versions a cached answer of this customer was computed at."""

    customer: int
    site: int
    site_id: int
    timezone: str

    @property
    def key(self) -> tuple[int, int]:
        """What must be unchanged for a cached answer to be served."""
        return (self.customer, self.site)


VERSIONS_SQL = (
    "SELECT c.data_version, s.data_version, s.id, s.timezone FROM customers c "
    "JOIN sites s ON s.id = c.site_id WHERE c.id = {}"
)
PG_BATCH_SQL = (
    "SELECT c.id, c.data_version, s.data_version, s.id, s.timezone FROM customers c "
    "JOIN sites s ON s.id = c.site_id WHERE c.id = ANY($1::bigint[])"
)
STATEMENT_LISTENERS: list[Callable[[str], None]] = []
"""Called with each statement :class:`VersionReader` sends (tests count statements)."""
PG_READERS = 2
"""Batches in flight at once on PostgreSQL, each on an asyncpg connection of its own."""
PG_BATCH_MAX = 256
"""Customers asked for in one batch at most."""


class VersionReader:
    """Reads a customer's read versions straight through the driver.

    Every cached answer costs this one read, so it skips SQLAlchemy's session, pool and
    compilation (hundreds of microseconds under load): on SQLite one sqlite3 connection
    of this process reads in the event loop's thread (a WAL reader never waits for a
    lock); on PostgreSQL the reads of requests in flight together go out as one
    statement (``WHERE id = ANY(...)``) on one of a few asyncpg connections of its own.

    Batching on PostgreSQL: a read joins the batch that has not been sent yet; a batch
    is sent once the event loop has run the callbacks ready with it (so requests that
    arrived together share it) and a connection is free. A read is only ever answered
    by a statement sent after it was asked, so it sees every commit that finished
    before it: a batch already on the wire is never joined. Under load this turns
    sixteen round trips into one or two, so the database's processes wake far less
    often: that CPU, on a machine it shares with the workers, was the long tail of the
    cached reads' latency and what kept more workers from scaling.
    """

    def __init__(self, url: URL) -> None:
        is_sqlite = url.get_backend_name() == "sqlite"
        self._sqlite_path = (url.database or "") if is_sqlite else None
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._dsn = None if is_sqlite else dsn
        self._sqlite: sqlite3.Connection | None = None
        # PostgreSQL: connections opened on demand, up to PG_READERS (asyncpg's Pool
        # costs half a millisecond a call here: its reset on release is a round trip)
        self._idle: list[asyncpg.Connection[Any]] = []
        self._opened = 0
        self._in_flight = 0
        self._waiting: dict[int, list[asyncio.Future[Any]]] = {}
        self._scheduled = False

    async def read(self, customer_id: int) -> ReadVersions | None:
        """The customer's and their site's data versions (None: no such customer)."""
        if self._sqlite_path is not None:
            sql = VERSIONS_SQL.format("?")
            for listener in STATEMENT_LISTENERS:
                listener(sql)
            row = self._sqlite_connection().execute(sql, (customer_id,)).fetchone()
        else:
            row = await self._pg_read(customer_id)
        if row is None:
            return None
        return ReadVersions(int(row[0]), int(row[1]), int(row[2]), str(row[3]))

    async def _pg_read(self, customer_id: int) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._waiting.setdefault(customer_id, []).append(future)
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._dispatch)
        return await future

    def _dispatch(self) -> None:
        """Send the waiting reads as batches while connections allow."""
        self._scheduled = False
        while self._waiting and self._in_flight < PG_READERS:
            ids = list(self._waiting)[:PG_BATCH_MAX]
            batch = {customer_id: self._waiting.pop(customer_id) for customer_id in ids}
            self._in_flight += 1
            task = asyncio.get_running_loop().create_task(self._send(batch))
            task.add_done_callback(_BACKGROUND.discard)
            _BACKGROUND.add(task)

    async def _send(self, batch: dict[int, list[asyncio.Future[Any]]]) -> None:
        try:
            rows = await self._fetch(list(batch))
        except BaseException as error:
            for futures in batch.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(error)
            if not isinstance(error, Exception):
                raise
        else:
            found = {int(row[0]): tuple(row)[1:] for row in rows}
            for customer_id, futures in batch.items():
                for future in futures:
                    if not future.done():
                        future.set_result(found.get(customer_id))
        finally:
            self._in_flight -= 1
            if self._waiting and not self._scheduled:
                self._scheduled = True
                asyncio.get_running_loop().call_soon(self._dispatch)

    async def _fetch(self, ids: list[int]) -> list[Any]:
        for listener in STATEMENT_LISTENERS:
            listener(PG_BATCH_SQL)
        if self._idle:
            connection = self._idle.pop()
        else:
            self._opened += 1
            try:
                connection = await asyncpg.connect(self._dsn)
            except BaseException:
                self._opened -= 1
                raise
        try:
            rows = await connection.fetch(PG_BATCH_SQL, ids)
        except BaseException:
            # a broken or cancelled connection is not handed out again
            self._opened -= 1
            connection.terminate()
            raise
        self._idle.append(connection)
        return list(rows)

    def _sqlite_connection(self) -> sqlite3.Connection:
        if self._sqlite is None:
            connection = sqlite3.connect(
                self._sqlite_path or "",
                timeout=READ_BUSY_TIMEOUT_SECONDS,
                isolation_level=None,
                check_same_thread=False,
            )
            connection.execute("PRAGMA query_only=ON")
            self._sqlite = connection
        return self._sqlite

    async def close(self) -> None:
        """Close the reader's connections."""
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        while self._idle:
            connection = self._idle.pop()
            self._opened -= 1
            await connection.close()


_BACKGROUND: set[asyncio.Task[None]] = set()
"""Batches being sent (kept referenced until done)."""


class VersionedSession(Session):
    """The ORM session every write (and read) session runs on: it bumps read versions."""


event.listen(VersionedSession, "before_flush", _before_flush)
event.listen(VersionedSession, "do_orm_execute", _on_execute)
event.listen(VersionedSession, "before_commit", _before_commit)
event.listen(VersionedSession, "after_commit", _after_commit)
event.listen(VersionedSession, "after_transaction_end", _after_transaction_end)


def touched_limited_offers(session: Any, rows: Iterable[Any]) -> int:
    """Touch the sites of the offers an UPDATE of their use counter returned as
    (site id, usage limit); how many rows it changed.

    Only a limited offer's count shows to customers (it sells out); the count of an
    offer without a limit is for staff, so counting it leaves cached answers alone.
    """
    changed = 0
    for site_id, limit in rows:
        changed += 1
        if limit is not None:
            touch(session, sites=[site_id])
    return changed
