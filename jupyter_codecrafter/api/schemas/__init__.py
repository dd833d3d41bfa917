"""Request and response schemas: they validate requests and generate the OpenAPI document.

One module per concern. Requests reject unknown fields; responses are built from store
records by ``from_record`` constructors, so the wire format is defined once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer, StringConstraints, WithJsonSchema

Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{3,32}$")]
Password = Annotated[str, StringConstraints(min_length=8, max_length=1024)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9+#-]{0,31}$")]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
CellId = Annotated[str, StringConstraints(min_length=1, max_length=128)]


def _timestamp(moment: datetime) -> str:
    # Fixed width, so timestamps compare as text too (pydantic drops ".000000" otherwise).
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


Timestamp = Annotated[
    datetime,
    PlainSerializer(_timestamp, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class Request(BaseModel):
    """A request body or query: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    code: str
    message: str
    details: object = None


class ErrorResponse(BaseModel):
    """Every error: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorBody
