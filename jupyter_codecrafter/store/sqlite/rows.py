"""Records <-> SQLite rows, on top of the shared codec, and the bits of SQL built from them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from .. import codec
from ..base import PageCursor
from ..codec import FieldType, Kind

R = TypeVar("R")


def to_column(field_type: FieldType, value: Any) -> Any:
    """A plain value (see :mod:`..codec`) as SQLite stores it."""
    if value is None:
        return None
    if field_type.kind is Kind.DATETIME:
        return timestamp(value)
    if field_type.kind in (Kind.JSON, Kind.LIMITS):
        return json.dumps(value, separators=(",", ":"))
    if field_type.kind is Kind.BOOL:
        return int(value)
    return value


def from_column(field_type: FieldType, value: Any) -> Any:
    if value is None:
        return None
    if field_type.kind is Kind.DATETIME:
        return datetime.fromisoformat(value)
    if field_type.kind in (Kind.JSON, Kind.LIMITS):
        return json.loads(value)
    return value


def timestamp(value: datetime) -> str:
    """A datetime as stored: UTC ISO text of fixed width, so text order is time order."""
    return codec.utc(value).isoformat(timespec="microseconds")


def to_row(record: Any) -> dict[str, Any]:
    """``record`` as ``{column: value}``."""
    types = codec.field_types(type(record))
    return {name: to_column(types[name], value) for name, value in codec.to_fields(record).items()}


def from_row(cls: type[R], row: sqlite3.Row) -> R:
    types = codec.field_types(cls)
    return codec.from_fields(cls, {name: from_column(types[name], row[name]) for name in types})


def changes_to_row(cls: type[Any], changes: Mapping[str, Any], *, key: str) -> dict[str, Any]:
    """Validated ``{column: value}`` for an update of ``cls`` (field names are checked, so
    they are safe to use as column names)."""
    types = codec.field_types(cls)
    plain = codec.encode_changes(cls, changes, key=key)
    return {name: to_column(types[name], value) for name, value in plain.items()}


# The SQL builders below only ever join our own table, column and condition strings; every
# value is a bound parameter. Column names from callers are checked against the records'
# fields first (see :func:`changes_to_row`).


def insert_sql(table: str, row: Mapping[str, Any]) -> str:
    columns = ", ".join(row)
    values = ", ".join(f":{name}" for name in row)
    return f"INSERT INTO {table} ({columns}) VALUES ({values})"  # noqa: S608 (see above)


def update_sql(
    table: str, sets: Iterable[str], conditions: Iterable[str], *, returning: bool = True
) -> str:
    """``UPDATE table SET ... WHERE ... [RETURNING *]``; ``sets`` like ``"a = :a"``."""
    sql = f"UPDATE {table} SET {', '.join(sets)} WHERE {' AND '.join(conditions)}"  # noqa: S608 (see above)
    return sql + " RETURNING *" if returning else sql


def select_sql(table: str, conditions: Iterable[str], order_by: str) -> str:
    """``SELECT * ... ORDER BY ... LIMIT :limit`` with every condition required."""
    where = " AND ".join(conditions) or "1"
    return f"SELECT * FROM {table} WHERE {where} ORDER BY {order_by} LIMIT :limit"  # noqa: S608 (see above)


def assignments(row: Mapping[str, Any]) -> list[str]:
    """``["a = :a", "b = :b"]`` for an UPDATE ... SET."""
    return [f"{name} = :{name}" for name in row]


def page_clause(time_column: str, before: PageCursor | None, params: dict[str, Any]) -> str | None:
    """The WHERE condition for "strictly older than ``before``" in (time, id) order."""
    if before is None:
        return None
    params["before_time"], params["before_id"] = timestamp(before[0]), before[1]
    return f"({time_column}, id) < (:before_time, :before_id)"
