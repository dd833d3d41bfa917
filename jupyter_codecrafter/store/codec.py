"""Records <-> plain field dicts, shared by the SQLite and MongoDB stores.

:func:`to_fields` turns a record into ``{field: value}`` with enums as their string values,
:class:`~.records.Limits` as a dict and datetimes in UTC; :func:`from_fields` turns such a
dict back into the record. Each backend then adapts the few kinds it cannot hold natively
(SQLite: datetimes as ISO text, dicts as JSON, booleans as integers).
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from .records import Limits

R = TypeVar("R")


class Kind(enum.Enum):
    """How a field's value is stored."""

    PLAIN = "plain"  # str, int, float, bytes
    BOOL = "bool"
    DATETIME = "datetime"
    ENUM = "enum"
    LIMITS = "limits"
    JSON = "json"  # dicts and lists of JSON-like values


@dataclasses.dataclass(frozen=True, slots=True)
class FieldType:
    kind: Kind
    enum_type: type[enum.Enum] | None = None


_FIELD_TYPES: dict[type[Any], dict[str, FieldType]] = {}


def field_types(cls: type[Any]) -> dict[str, FieldType]:
    """The storage kind of every field of the record class ``cls``."""
    if cls not in _FIELD_TYPES:
        hints = typing.get_type_hints(cls)
        fields = dataclasses.fields(cls)
        _FIELD_TYPES[cls] = {field.name: _classify(hints[field.name]) for field in fields}
    return _FIELD_TYPES[cls]


def _classify(hint: Any) -> FieldType:
    if isinstance(hint, types.UnionType):  # "X | None": the non-None member decides
        (hint,) = (arg for arg in typing.get_args(hint) if arg is not type(None))
    origin = typing.get_origin(hint) or hint
    if isinstance(origin, type):
        if issubclass(origin, enum.Enum):
            return FieldType(Kind.ENUM, origin)
        for base, kind in _KIND_BY_TYPE:
            if issubclass(origin, base):
                return FieldType(kind)
    return FieldType(Kind.PLAIN)


_KIND_BY_TYPE: tuple[tuple[type, Kind], ...] = (
    (bool, Kind.BOOL),
    (datetime, Kind.DATETIME),
    (Limits, Kind.LIMITS),
    (dict, Kind.JSON),
    (list, Kind.JSON),
)


def utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def encode_value(field_type: FieldType, value: Any) -> Any:
    """One field's value as a backend-neutral plain value."""
    if value is None:
        return None
    if field_type.kind is Kind.ENUM and field_type.enum_type is not None:
        return field_type.enum_type(value).value  # also validates a plain string
    if field_type.kind is Kind.DATETIME:
        return utc(value)
    if field_type.kind is Kind.LIMITS:
        return dataclasses.asdict(value)
    return value


def decode_value(field_type: FieldType, value: Any) -> Any:
    if value is None:
        return None
    if field_type.kind is Kind.ENUM and field_type.enum_type is not None:
        return field_type.enum_type(value)
    if field_type.kind is Kind.DATETIME:
        return utc(value)
    if field_type.kind is Kind.LIMITS:
        return Limits(**value)
    if field_type.kind is Kind.BOOL:
        return bool(value)
    return value


def to_fields(record: Any) -> dict[str, Any]:
    """Every field of ``record`` as a plain value."""
    types_ = field_types(type(record))
    return {name: encode_value(ft, getattr(record, name)) for name, ft in types_.items()}


def from_fields(cls: type[R], values: Mapping[str, Any]) -> R:
    """The record ``cls`` from plain values (extra keys are ignored)."""
    types_ = field_types(cls)
    return cls(**{name: decode_value(ft, values[name]) for name, ft in types_.items()})


def encode_changes(cls: type[Any], changes: Mapping[str, Any], *, key: str) -> dict[str, Any]:
    """Validated plain values for an update of ``cls``; its ``key`` field cannot change."""
    types_ = field_types(cls)
    unknown = sorted(set(changes) - set(types_))
    if unknown:
        raise ValueError(f"{cls.__name__} has no field(s) {', '.join(unknown)}")
    if key in changes:
        raise ValueError(f"{cls.__name__}.{key} cannot be changed")
    return {name: encode_value(types_[name], value) for name, value in changes.items()}
