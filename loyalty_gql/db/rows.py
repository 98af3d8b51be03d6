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

from sqlalchemy import Insert, Table, insert
from sqlalchemy import inspect as inspect_mapper
from sqlalchemy.orm import Mapper, make_transient_to_detached

from loyalty_gql.db import direct
from loyalty_gql.db.session import Session
from loyalty_gql.db.versions import scoped, touch_row


@cache
def _plan(cls: Any) -> tuple[Insert, str, tuple[tuple[str, str, Any], ...]]:
    """The table's INSERT ... RETURNING its key, the key's attribute, and each other
    column as (attribute, column, default when not set)."""
    mapper: Mapper[Any] = inspect_mapper(cls)
    table = mapper.local_table
    if not isinstance(table, Table):  # pragma: no cover - every row maps a table
        msg = f"{cls.__name__} does not map a table"
        raise TypeError(msg)
    (key_column,) = table.primary_key.columns
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
