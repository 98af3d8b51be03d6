"""Statements of the hot write paths, sent straight through the session's driver.

A Core statement run through ``Session.execute`` costs about 200-300 microseconds of
Python before and after the database's own work (the ORM's execute path, the
execution context, the cursor and result wrappers); the driver call itself costs
tens (docs/BENCHMARKS.md: an INSERT ... RETURNING through the session 319 us of CPU,
through sqlite3 34 us; on PostgreSQL 410 us and 147 us through asyncpg). A recorded
order sends about ten such statements. Here a statement built once (by a cached
builder in db/repositories) is compiled once per dialect into its SQL, its parameter
order and SQLAlchemy's own bind processors for its types (so values reach the driver
exactly as SQLAlchemy would send them), then sent on the session's connection, in its
transaction:

- SQLite: on the inline connection's ``sqlite3.Connection`` (db/engine.py), in the
  event loop's thread, as every statement of a writer already is;
- PostgreSQL: on the asyncpg connection under SQLAlchemy's adapter, behind the
  adapter's lock and after its ``BEGIN`` (started here when this is the transaction's
  first statement).

What stays as before: the driver's errors arrive as SQLAlchemy's (``IntegrityError``,
``DBAPIError`` with the SQLSTATE; db/errors.py), so retries and refusals are unchanged;
each statement is announced to ``STATEMENT_LISTENERS`` (the tests count statements
there, as they count the version reads); owners are touched by the caller, as for any
scoped statement (db/versions.py), and a statement that is neither scoped nor on a
table no customer reads is refused when it is planned. A session on another driver
(the reports' threaded aiosqlite) and a process tracing its statements (db/tracing.py
turns this off, so every statement is a span) go through ``Session.execute``.
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import asyncpg
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, make_transient_to_detached
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import await_only

from loyalty_gql.db.engine import InlineConnection
from loyalty_gql.db.versions import INVISIBLE, SCOPED, STATEMENT_LISTENERS, SYNC_RUNNER

Statement = Any
"""A Core statement: an ``Executable`` that is also a ``ClauseElement`` (it compiles)."""

ENABLED = [True]
"""Whether statements go through the driver (db/tracing.py turns it off while tracing)."""


@dataclass(frozen=True, slots=True)
class _Plan:
    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    fixed: Mapping[str, Any]
    """Values the statement carries itself (a literal in it), by parameter name."""

    def values(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        fixed = self.fixed
        out = []
        for name, process in zip(self.names, self.processors, strict=True):
            value = params[name] if name in params or name not in fixed else fixed[name]
            out.append(value if process is None or value is None else process(value))
        return tuple(out)


_PLANS: weakref.WeakKeyDictionary[Statement, dict[Any, _Plan]] = weakref.WeakKeyDictionary()


def _plan(statement: Statement, dialect: Dialect, keys: Sequence[str] | None) -> _Plan:
    by_dialect = _PLANS.get(statement)
    if by_dialect is None:
        _check_owners(statement)
        by_dialect = _PLANS[statement] = {}
    key = (dialect.name, tuple(keys) if keys is not None else None)
    plan = by_dialect.get(key)
    if plan is None:
        compiled = statement.compile(
            dialect=dialect, column_keys=list(keys) if keys is not None else None
        )
        if not isinstance(compiled, SQLCompiler) or compiled.positiontup is None:
            msg = "a direct statement needs a positional SQL compilation"
            raise TypeError(msg)
        if any(bind.expanding for bind in compiled.binds.values()):
            msg = "a direct statement cannot expand a list into IN (...)"
            raise TypeError(msg)
        if compiled.insert_prefetch or compiled.update_prefetch:
            # a column default SQLAlchemy computes per execution: give the column instead
            msg = "a direct statement must be given every column that has a Python default"
            raise TypeError(msg)
        names = tuple(compiled.positiontup)
        processors = compiled._bind_processors  # SQLAlchemy's own, reused
        fixed = {
            name: bind.effective_value
            for name, bind in compiled.binds.items()
            if not bind.required and bind.callable is None
        }
        chosen = tuple(cast("Callable[[Any], Any] | None", processors.get(n)) for n in names)
        plan = _Plan(compiled.string, names, chosen, fixed)
        by_dialect[key] = plan
    return plan


def _check_owners(statement: Statement) -> None:
    """Refuse a write whose owners nobody touches (the session's hook, which would
    notice, does not see direct statements)."""
    if statement.get_execution_options().get(SCOPED):
        return
    if getattr(statement, "is_dml", False):
        if getattr(getattr(statement, "table", None), "name", None) in INVISIBLE:
            return
        msg = "a direct DML statement must be scoped (db/versions.py) or on an unseen table"
        raise TypeError(msg)
    text = getattr(statement, "text", None)
    if text is not None and not str(text).lstrip().upper().startswith("SELECT"):
        msg = "a direct text statement must be a SELECT, or scoped"
        raise TypeError(msg)


def _prepared(
    statement: Statement, dialect: Dialect, params: Mapping[str, Any], keys: Sequence[str] | None
) -> tuple[_Plan, tuple[Any, ...]]:
    """The statement's plan and its values for ``params``, announced to the listeners."""
    plan = _plan(statement, dialect, keys)
    values = plan.values(params)
    _announce(plan.sql)
    return plan, values


def _rows_of(result: Any) -> list[tuple[Any, ...]]:
    """The rows of a result of the session's path, as the driver's path gives them."""
    return [tuple(row) for row in result.all()] if getattr(result, "returns_rows", False) else []


def _announce(sql: str) -> None:
    for listener in STATEMENT_LISTENERS:
        listener(sql)


_DRIVERS: weakref.WeakKeyDictionary[Any, tuple[Dialect, Any]] = weakref.WeakKeyDictionary()
"""The driver of each open transaction (a transaction keeps its connection to the end)."""


def _driver_of(connection: Connection) -> tuple[Dialect, Any]:
    """The connection's dialect and driver: the inline sqlite3 connection, SQLAlchemy's
    asyncpg adapter, or None when statements must go through SQLAlchemy."""
    fairy = connection.connection
    driver = fairy.driver_connection
    if isinstance(driver, InlineConnection):
        return connection.dialect, driver._connection  # ours (db/engine.py)
    if isinstance(driver, asyncpg.Connection):
        return connection.dialect, fairy.dbapi_connection
    return connection.dialect, None


async def _driver(session: AsyncSession) -> tuple[Dialect, Any]:
    """The session's dialect and driver (see :func:`_driver_of`), found once per
    transaction."""
    transaction = session.sync_session.get_transaction()
    if transaction is not None:
        known = _DRIVERS.get(transaction)
        if known is not None:
            return known if ENABLED[0] else (known[0], None)
    connection = await session.connection()
    if connection.sync_connection is None:  # pragma: no cover - a connection just opened
        return connection.dialect, None
    found = _driver_of(connection.sync_connection)
    transaction = session.sync_session.get_transaction()
    if transaction is not None:
        _DRIVERS[transaction] = found
    return found if ENABLED[0] else (found[0], None)


def _sqlite_fetch(driver: sqlite3.Connection, plan: _Plan, values: tuple[Any, ...]) -> list[Any]:
    try:
        cursor = driver.execute(plan.sql, values)
        try:
            return cursor.fetchall() if cursor.description else []
        finally:
            cursor.close()
    except sqlite3.Error as error:
        raise _wrapped(plan.sql, values, error, sqlite3.Error) from error


async def fetch(
    session: AsyncSession,
    statement: Statement,
    params: Mapping[str, Any],
    *,
    columns: bool = False,
) -> list[tuple[Any, ...]]:
    """Run ``statement`` (built once) with ``params`` in the session's transaction; the
    rows it returns (RETURNING or a SELECT), as tuples of the driver's values (no
    result processing: integers and text come back as they are, so return only those).
    With ``columns``, ``params`` are the values of a bare ``insert(table)``, by column
    (the same columns on every call)."""
    dialect, driver = await _driver(session)
    if driver is None:
        return _rows_of(await session.execute(statement, params))
    plan, values = _prepared(statement, dialect, params, list(params) if columns else None)
    if isinstance(driver, sqlite3.Connection):
        return _sqlite_fetch(driver, plan, values)
    return [tuple(row) for row in await _pg(driver, plan.sql, values, many=False)]


def fetch_in_sync(
    session: OrmSession, statement: Statement, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """:func:`fetch` for a sync ORM session running under asyncio (its events: the read
    versions' bump before a commit, db/versions.py)."""
    connection = session.connection()
    dialect, driver = _driver_of(connection) if ENABLED[0] else (connection.dialect, None)
    if driver is None:
        return _rows_of(session.execute(statement, params))
    plan, values = _prepared(statement, dialect, params, None)
    if isinstance(driver, sqlite3.Connection):
        return _sqlite_fetch(driver, plan, values)
    rows = await_only(_pg(driver, plan.sql, values, many=False))
    return [tuple(row) for row in rows]


async def scalar(
    session: AsyncSession,
    statement: Statement,
    params: Mapping[str, Any],
    *,
    columns: bool = False,
) -> Any:
    """The first column of the first row ``statement`` returns (None without a row)."""
    rows = await fetch(session, statement, params, columns=columns)
    return rows[0][0] if rows else None


async def execute_many(
    session: AsyncSession, statement: Statement, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Run ``statement`` (built once, returning nothing) for each of ``rows`` (the same
    keys in each), as one call of the driver."""
    if not rows:
        return
    dialect, driver = await _driver(session)
    if driver is None:
        await session.execute(statement, list(rows))
        return
    plan = _plan(statement, dialect, list(rows[0]))
    values = [plan.values(row) for row in rows]
    _announce(plan.sql)
    if isinstance(driver, sqlite3.Connection):
        try:
            driver.executemany(plan.sql, values).close()
        except sqlite3.Error as error:
            raise _wrapped(plan.sql, values, error, sqlite3.Error) from error
        return
    await _pg(driver, plan.sql, values, many=True)


async def _pg(adapter: Any, sql: str, values: Any, *, many: bool) -> Any:
    """The statement on the asyncpg connection under SQLAlchemy's adapter, in its
    transaction (begun here if this is its first statement)."""
    async with adapter._execute_mutex:  # the adapter's own lock
        if adapter._transaction is None:
            await adapter._start_transaction()  # its BEGIN, as a cursor would
        connection: asyncpg.Connection[Any] = adapter._connection
        try:
            if many:
                await connection.executemany(sql, values)
                return []
            return await connection.fetch(sql, *values)
        except Exception as error:  # translated as SQLAlchemy's adapter does
            try:
                adapter._handle_exception(error)  # raises the DB-API error
            except Exception as translated:
                raise _wrapped(sql, values, translated, adapter.dbapi.Error) from error
            raise  # pragma: no cover - _handle_exception always raises


def _wrapped(sql: str, values: Any, error: Exception, base: type[Exception]) -> DBAPIError:
    """The driver's error as SQLAlchemy raises it (IntegrityError, OperationalError...)."""
    wrapped = DBAPIError.instance(sql, values, error, base)
    if not isinstance(wrapped, DBAPIError):  # pragma: no cover - only for non-DB-API errors
        raise wrapped
    return wrapped


# -- mapped rows read through the driver ----------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entity:
    mapper: Mapper[Any]
    keys: tuple[str, ...]
    """The attribute of each of the entity's result columns."""
    positions: tuple[int, ...]
    """Where the entity's columns are in a result row."""
    key_positions: tuple[int, ...]
    """Where its primary key's columns are."""


@dataclass(frozen=True, slots=True)
class _LoadPlan:
    plan: _Plan
    processors: tuple[Callable[[Any], Any] | None, ...]
    entities: tuple[_Entity, ...]
    populate_existing: bool


_LOADS: weakref.WeakKeyDictionary[Statement, dict[str, _LoadPlan]] = weakref.WeakKeyDictionary()


def _load_plan(statement: Statement, dialect: Dialect) -> _LoadPlan:
    by_dialect = _LOADS.setdefault(statement, {})
    found = by_dialect.get(dialect.name)
    if found is not None:
        return found
    plan = _plan(statement, dialect, None)
    compiled = statement.compile(dialect=dialect)
    mappers: list[Mapper[Any]] = [
        inspect(d["entity"]) for d in statement.column_descriptions if d.get("entity")
    ]
    if len(mappers) != len(statement.column_descriptions):
        msg = "a direct load selects whole mapped rows only"
        raise TypeError(msg)
    by_table = {m.local_table: m for m in mappers}
    if len(by_table) != len(mappers):
        msg = "a direct load reads each table once"
        raise TypeError(msg)
    placed: dict[Any, list[tuple[str, int]]] = {m: [] for m in mappers}
    processors = []
    for position, result_column in enumerate(compiled._result_columns):
        column = next(o for o in result_column.objects if getattr(o, "table", None) in by_table)
        mapper = by_table[column.table]
        placed[mapper].append((mapper.get_property_by_column(column).key, position))
        processors.append(result_column.type._cached_result_processor(dialect, None))
    entities = []
    for mapper in mappers:
        keys = tuple(k for k, _ in placed[mapper])
        positions = tuple(p for _, p in placed[mapper])
        pk_keys = [mapper.get_property_by_column(c).key for c in mapper.primary_key]
        key_positions = tuple(positions[keys.index(k)] for k in pk_keys)
        if len(keys) != len(mapper.column_attrs):
            msg = f"a direct load reads every column of {mapper.class_.__name__}"
            raise TypeError(msg)
        entities.append(_Entity(mapper, keys, positions, key_positions))
    options = statement.get_execution_options()
    found = _LoadPlan(
        plan, tuple(processors), tuple(entities), options.get("populate_existing", False)
    )
    by_dialect[dialect.name] = found
    return found


async def load(
    session: AsyncSession, statement: Statement, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """The mapped rows an ORM ``select(A, B ...)`` (built once) finds, as tuples (None
    for an outer join's missing row), read through the driver and made rows of the
    session as its own query would (a row it holds already is that row, refreshed only
    with ``populate_existing``)."""
    dialect, driver = await _driver(session)
    if driver is None:
        return [tuple(row) for row in (await session.execute(statement, params)).all()]
    loading = _load_plan(statement, dialect)
    plan, values = _prepared(statement, dialect, params, None)
    if isinstance(driver, sqlite3.Connection):
        raw = _sqlite_fetch(driver, plan, values)
    else:
        raw = await _pg(driver, plan.sql, values, many=False)
    processors = loading.processors
    sync = session.sync_session
    identity_map = sync.identity_map
    out = []
    for record in raw:
        row = [
            v if p is None or v is None else p(v) for v, p in zip(record, processors, strict=True)
        ]
        made: list[Any] = []
        for entity in loading.entities:
            pk = tuple(row[i] for i in entity.key_positions)
            if all(v is None for v in pk):
                made.append(None)
                continue
            identity = entity.mapper.identity_key_from_primary_key(pk)
            existing = identity_map.get(identity)
            if existing is not None and not loading.populate_existing:
                made.append(existing)
                continue
            fields = {k: row[i] for k, i in zip(entity.keys, entity.positions, strict=True)}
            if existing is not None:
                state = instance_state(existing)
                state.dict.update(fields)
                state._commit_all(state.dict, identity_map)  # as a refreshing load does
                made.append(existing)
                continue
            instance = entity.mapper.class_manager.new_instance()
            instance_state(instance).dict.update(fields)
            make_transient_to_detached(instance)
            sync.add(instance)
            made.append(instance)
        out.append(tuple(made))
    return out


# the read versions' bumps at commit (db/versions.py, which cannot import this module)
SYNC_RUNNER[0] = fetch_in_sync
