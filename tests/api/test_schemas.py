"""Response schemas: what every timestamp looks like on the wire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from pydantic import BaseModel

from jupyter_codecrafter.api.schemas import Timestamp


class Stamped(BaseModel):
    at: Timestamp


def test_timestamps_have_one_width_so_they_sort_as_text() -> None:
    """A whole second keeps its fraction, so text order is time order."""
    whole = Stamped(at=datetime(2026, 11, 28, 11, 39, 52, tzinfo=UTC)).model_dump(mode="json")
    later = Stamped(at=datetime(2026, 11, 28, 11, 39, 52, 14000, tzinfo=UTC))
    assert whole["at"] == "2026-11-28T11:39:52.000000Z"
    assert whole["at"] < later.model_dump(mode="json")["at"] == "2026-11-28T11:39:52.014000Z"


def test_timestamps_are_given_in_utc() -> None:
    """A time in another zone goes out as the same instant in UTC."""
    paris = datetime(2026, 11, 28, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    assert Stamped(at=paris).model_dump(mode="json")["at"] == "2026-11-28T11:00:00.000000Z"


def test_timestamps_are_date_times_in_the_openapi_document() -> None:
    """The schema still says what the field is."""
    schema = Stamped.model_json_schema(mode="serialization")
    assert schema["properties"]["at"] == {"type": "string", "format": "date-time", "title": "At"}
