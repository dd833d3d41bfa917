"""What may seed a session's document, and what an export gives back."""

from __future__ import annotations

import json
from typing import Any

import nbformat
import pytest

from jupyter_codecrafter.errors import ValidationFailed
from jupyter_codecrafter.sessions.content import (
    NOTEBOOK_MEDIA_TYPE,
    InvalidNotebook,
    render_export,
    validated_content,
)
from jupyter_codecrafter.store.records import SessionKind


def code_cell(source: Any, **extra: Any) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "source": source,
        "metadata": {},
        "outputs": [],
        "execution_count": None,
        **extra,
    }


def notebook(*cells: dict[str, Any], minor: int = 5) -> dict[str, Any]:
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": minor}


def test_older_minor_version_is_upgraded_with_cell_ids() -> None:
    """An nbformat 4.4 notebook is accepted as 4.5, each cell given an id, sources joined."""
    content = validated_content(
        SessionKind.NOTEBOOK, notebook(code_cell(["a = 1\n", "b"]), minor=4)
    )
    assert isinstance(content, dict)
    assert content["nbformat_minor"] == 5
    assert content["cells"][0]["source"] == "a = 1\nb"
    assert content["cells"][0]["id"]
    nbformat.validate(nbformat.from_dict(content))


def test_version_3_notebook_is_converted() -> None:
    """An nbformat 3 notebook is converted to version 4."""
    v3 = {
        "nbformat": 3,
        "nbformat_minor": 0,
        "metadata": {},
        "worksheets": [
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "input": "x = 2",
                        "outputs": [],
                        "language": "python",
                        "metadata": {},
                    }
                ],
                "metadata": {},
            }
        ],
    }
    content = validated_content(SessionKind.NOTEBOOK, v3)
    assert isinstance(content, dict)
    assert content["nbformat"] == 4
    assert [cell["source"] for cell in content["cells"]] == ["x = 2"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (notebook({"cell_type": "code", "id": "a"}), "metadata"),
        (notebook(code_cell("x", id="a", outputs=[{"output_type": "bogus"}])), "cells/0/outputs/0"),
        ({"nbformat": 99, "nbformat_minor": 0}, "Unsupported nbformat version 99"),
        ({"cells": []}, "format version"),
        ("print(1)", "nbformat JSON object"),
    ],
)
def test_invalid_notebook_is_refused_naming_the_problem(content: Any, problem: str) -> None:
    """Content that is not a valid notebook answers 422 with what is wrong and where."""
    with pytest.raises(ValidationFailed) as caught:
        validated_content(SessionKind.NOTEBOOK, content)
    assert caught.value.status == 422
    (detail,) = caught.value.details
    assert detail["field"] == "content"
    assert problem in json.dumps(detail)


def test_file_content_is_text() -> None:
    """A file session takes text as it is, and refuses a JSON object."""
    assert validated_content(SessionKind.FILE, "print('hi')\n") == "print('hi')\n"
    assert validated_content(SessionKind.FILE, None) is None
    with pytest.raises(ValidationFailed):
        validated_content(SessionKind.FILE, {"not": "text"})


def test_notebook_export_is_valid_ipynb_without_foreign_keys() -> None:
    """Keys a client added beyond the schema are dropped; the export is a valid 4.5 notebook."""
    content = validated_content(SessionKind.NOTEBOOK, notebook(code_cell("x = 1", id="c1")))
    assert isinstance(content, dict)
    content["cells"][0]["execution_state"] = "idle"
    content["extra"] = True
    export = render_export(SessionKind.NOTEBOOK, "Lesson 1", "python", content)
    assert export.media_type == NOTEBOOK_MEDIA_TYPE
    assert export.filename == "Lesson 1.ipynb"
    parsed = nbformat.reads(export.body.decode(), as_version=4)
    nbformat.validate(parsed)
    assert [cell.source for cell in parsed.cells] == ["x = 1"]


def test_hopeless_document_is_not_exported_as_a_notebook() -> None:
    """A document that cannot be made valid is refused, never exported broken."""
    content = notebook(
        {
            "cell_type": "code",
            "id": "a",
            "source": 5,
            "metadata": {},
            "outputs": [],
            "execution_count": None,
        }
    )
    with pytest.raises(InvalidNotebook):
        render_export(SessionKind.NOTEBOOK, "x", "python", content)


@pytest.mark.parametrize(
    ("title", "language", "filename", "ascii_name"),
    [
        ("Lesson 1", "python", "Lesson 1.py", "Lesson 1.py"),
        ("Week 1 (copy)", "python", "Week 1 (copy).py", "Week 1 (copy).py"),
        ("../../etc/passwd", "bash", "etc_passwd.sh", "etc_passwd.sh"),
        ('Übung "1"\r\n', "c", "Übung _1.c", "Ubung _1.c"),
        ("notes.md", "markdown", "notes.md", "notes.md"),
        ("data", "cobol", "data.txt", "data.txt"),
    ],
)
def test_file_export_name_is_safe(
    title: str, language: str, filename: str, ascii_name: str
) -> None:
    """The download name comes from the title without paths, quotes or control characters."""
    export = render_export(SessionKind.FILE, title, language, "text")
    assert export.filename == filename
    assert export.body == b"text"
    assert export.media_type.startswith("text/plain")
    disposition = export.content_disposition
    assert disposition.startswith(f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''")
    assert "\r" not in disposition and "\n" not in disposition and "/" not in disposition
