"""Opaque list cursors: they round-trip, and anything else is refused with 422."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from jupyter_codecrafter.errors import ValidationFailed
from jupyter_codecrafter.paging import decode_cursor, encode_cursor
from tests.store import factories


def test_cursor_round_trips() -> None:
    """A page's cursor stands for its last session's (created_at, id)."""
    session = factories.session("owner")
    cursor = encode_cursor(session.created_at, session.id)
    assert "=" not in cursor and "|" not in cursor
    assert decode_cursor(cursor) == (session.created_at, session.id)


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        base64.urlsafe_b64encode(b"yesterday|abc").decode(),
        base64.urlsafe_b64encode(b"2024-01-01T00:00:00|abc").decode(),  # no time zone
        base64.urlsafe_b64encode(b"2024-01-01T00:00:00+00:00|").decode(),  # no id
    ],
)
def test_foreign_cursor_is_422(cursor: str) -> None:
    """A cursor the server did not make is a validation error naming the cursor."""
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(cursor)
    assert caught.value.details[0]["field"] == "cursor"


def test_split_page_gives_a_cursor_only_when_more_rows_exist() -> None:
    """A page gets a cursor after its last row when the extra row was read, none otherwise."""
    from jupyter_codecrafter.paging import split_page

    rows = [factories.session("owner") for _ in range(3)]

    def position(s: Any) -> tuple[Any, str]:
        return (s.created_at, s.id)

    page, cursor = split_page(rows, 2, position)
    assert page == rows[:2]
    assert cursor is not None and decode_cursor(cursor) == position(rows[1])
    assert split_page(rows, 3, position) == (rows, None)
    assert split_page([], 3, position) == ([], None)
