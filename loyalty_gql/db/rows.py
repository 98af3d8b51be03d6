"""New mapped rows written with one INSERT ... RETURNING instead of a flush.

A flush runs SQLAlchemy's unit of work (sorting what is pending, collecting each
row's parameters, the ORM's insert path): the flushes were about 13% of a recorded
order's CPU, most of it for its one ledger entry and its order (docs/BENCHMARKS.md).
`insert_new` writes a row the way a flush would (every column, Python-side defaults
for those not set) with a statement built once per table, sent through the driver
(db/direct.py), then attaches the row to
the session as persistent and unchanged, so later changes to it are flushed as
updates, as before. The row's owners are touched for the read versions, as the flush
hook does (db/versions.py).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Insert, Table, Update, bindparam, insert, update
from sqlalchemy import inspect as inspect_mapper
from sqlalchemy.orm import InstanceState, Mapper, make_transient_to_detached

from loyalty_gql.db import direct
from loyalty_gql.db.session import Session
from loyalty_gql.db.versions import scoped, touch_row


def _mapped(cls: Any) -> tuple[Mapper[Any], Table, Any]:
    """The mapped class's mapper, its table and the table's (one) key column."""
    mapper: Mapper[Any] = inspect_mapper(cls)
    table = mapper.local_table
    if not isinstance(table, Table):  # pragma: no cover - every row maps a table
        msg = f"{cls.__name__} does not map a table"
        raise TypeError(msg)
    (key_column,) = table.primary_key.columns
    return mapper, table, key_column


@cache
def _plan(cls: Any) -> tuple[Insert, str, tuple[tuple[str, str, Any], ...]]:
    """The table's INSERT ... RETURNING its key, the key's attribute, and each other
    column as (attribute, column, default when not set)."""
    mapper, table, key_column = _mapped(cls)
    columns: list[tuple[str, str, Any]] = []
    key_attribute = ""
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if column is key_column:
            key_attribute = prop.key
            continue
        default = column.default
        if default is not None and not default.is_scalar:
            msg = f"{table.name}.{column.key}: only scalar defaults are written without a flush"
            raise TypeError(msg)
        if default is None and column.server_default is not None:
            msg = f"{table.name}.{column.key}: a server default needs the flush"
            raise TypeError(msg)
        columns.append((prop.key, column.key, default.arg if default is not None else None))
    statement = scoped(insert(table).returning(key_column))
    return statement, key_attribute, tuple(columns)


async def insert_new(session: Session, row: Any) -> None:
    """Insert the new (transient) ``row`` now and make it a persistent row of
    ``session``, its key set, as if flushed."""
    kind: Any = type(row)
    statement, key_attribute, columns = _plan(kind)
    state = row.__dict__
    values: dict[str, Any] = {}
    for attribute, column, default in columns:
        if attribute in state:
            values[column] = state[attribute]
        else:
            values[column] = default
            setattr(row, attribute, default)
    touch_row(session, row)
    key = await direct.scalar(session, statement, values, columns=True)
    setattr(row, key_attribute, key)
    make_transient_to_detached(row)
    session.add(row)


@cache
def _update_plan(cls: Any, keys: tuple[str, ...]) -> tuple[Update, str, tuple[str, ...]]:
    """The UPDATE of these attributes of one row by its key (RETURNING the key, so a row
    that is gone is noticed), the key's attribute, and each attribute's column."""
    mapper, table, key_column = _mapped(cls)
    columns = tuple(mapper.column_attrs[key].columns[0].key for key in keys)
    statement = scoped(
        update(table)
        .where(key_column == bindparam("k_key"))
        .values({column: bindparam(f"v_{column}") for column in columns})
        .returning(key_column)
    )
    return statement, mapper.get_property_by_column(key_column).key, columns


def inspect_row(row: Any) -> InstanceState[Any]:
    """The ORM's state of a mapped row."""
    state: InstanceState[Any] = inspect_mapper(row)
    return state


async def flush(session: Session) -> None:
    """Flush ``session``'s pending changes. When it holds changed rows only (nothing
    new or deleted: an order's account, say), each row's UPDATE of its changed columns
    goes through the driver (db/direct.py) instead of SQLAlchemy's unit of work (about
    a tenth of a recorded order's CPU for its one UPDATE); otherwise, and while
    statements are traced, SQLAlchemy flushes. Either way the rows are then unchanged
    and their owners touched (db/versions.py), as after a flush."""
    sync = session.sync_session
    if sync.new or sync.deleted or not direct.ENABLED[0]:
        await session.flush()
        return
    # in the unit of work's order (tables by their dependencies, rows by key), so two
    # writers take the rows' locks in the same order as before
    for row in sorted(sync.dirty, key=_flush_order):
        state = inspect_row(row)
        changed = {
            key: state.dict[key]
            for key, old in state.committed_state.items()
            if key in state.dict and state.dict[key] != old
        }
        if changed:
            touch_row(session, row)
            keys = tuple(sorted(changed))
            kind: Any = type(row)
            statement, key_attribute, columns = _update_plan(kind, keys)
            values = {f"v_{c}": changed[k] for k, c in zip(keys, columns, strict=True)}
            values["k_key"] = state.dict[key_attribute]
            if await direct.scalar(session, statement, values) is None:
                msg = f"{type(row).__name__} {values['k_key']} is gone: its UPDATE matched no row"
                raise StaleRowError(msg)
        # the row is as written: no history left, out of the session's changed rows
        state._commit_all(state.dict, sync.identity_map)  # SQLAlchemy's, as its flush does


def _flush_order(row: Any) -> tuple[int, Any]:
    state = inspect_row(row)
    table: Any = state.mapper.local_table
    return _table_rank(table.name), state.identity


@cache
def _table_rank(name: str) -> int:
    from loyalty_gql.db.models import Base

    return [table.name for table in Base.metadata.sorted_tables].index(name)


class StaleRowError(RuntimeError):
    """A changed row's UPDATE matched no row (it was deleted meanwhile)."""
