"""What the MongoDB repositories share: record <-> document, error translation, paging.

Records keep their string id as ``_id``. Two allowances for the nx-27017 stand-in the tests
use, both meaning the same on a real MongoDB: filters test for null with ``{"$eq": None}``
(:data:`IS_NULL`), as nx-27017 mis-evaluates a bare ``None`` next to ``$or``/``$expr``; and
datetimes that come back as text are parsed (see :func:`from_doc`).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from pymongo.errors import DuplicateKeyError, PyMongoError

from ...errors import DuplicateError, StoreError
from .. import codec
from ..base import PageCursor
from ..codec import Kind

Document = dict[str, Any]
IS_NULL: Document = {"$eq": None}  # null or missing
R = TypeVar("R")
T = TypeVar("T")
P = ParamSpec("P")


class MongoRepository:
    """A repository over one collection; ``unique`` maps stored unique keys to the field
    names a :class:`DuplicateError` reports, most specific first."""

    unique: Mapping[str, str] = {"_id": "id"}


S = TypeVar("S", bound=MongoRepository)


def to_doc(record: Any, key: str | None = "id") -> Document:
    """``record`` as a document, its ``key`` field stored as ``_id``."""
    fields = codec.to_fields(record)
    return fields if key is None else {"_id": fields.pop(key), **fields}


def from_doc(cls: type[R], doc: Mapping[str, Any], key: str | None = "id") -> R:
    fields = dict(doc)
    if key is not None:
        fields[key] = fields.pop("_id")
    for name, field_type in codec.field_types(cls).items():
        if field_type.kind is Kind.DATETIME and isinstance(fields[name], str):
            # nx-27017 (0.8) stores a top-level datetime written by $set as naive UTC text;
            # a real MongoDB never gets here.
            fields[name] = datetime.fromisoformat(fields[name])
    return codec.from_fields(cls, fields)


def translated(
    method: Callable[Concatenate[S, P], Awaitable[T]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, T]]:
    """Turn pymongo errors raised by a repository method into the store's errors."""

    async def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(self, *args, **kwargs)
        except DuplicateKeyError as exc:
            raise DuplicateError(duplicate_field(exc, self.unique)) from exc
        except PyMongoError as exc:
            raise StoreError(f"MongoDB failed: {exc}") from exc

    functools.update_wrapper(wrapper, method)
    return wrapper


def duplicate_field(exc: DuplicateKeyError, unique: Mapping[str, str]) -> str:
    """The field a duplicate-key error is about: from ``keyPattern`` (MongoDB) or the
    index named in the message (nx-27017 reports ``idx_<collection>_<key>``)."""
    details = exc.details or {}
    keys = set(details.get("keyPattern") or ())
    message = str(details.get("errmsg", exc))
    for stored, public in unique.items():
        if stored in keys if keys else stored in message:
            return public
    return next(iter(unique.values()))


def page_filter(time_field: str, before: PageCursor | None) -> Document | None:
    """Strictly older than ``before`` in (time, _id) order."""
    if before is None:
        return None
    time, id_ = codec.utc(before[0]), before[1]
    return {"$or": [{time_field: {"$lt": time}}, {time_field: time, "_id": {"$lt": id_}}]}


def all_of(*clauses: Document | None) -> Document:
    """One filter that needs every clause given (``None`` clauses are skipped)."""
    present = [clause for clause in clauses if clause]
    if len(present) == 1:
        return present[0]
    return {"$and": present} if present else {}
