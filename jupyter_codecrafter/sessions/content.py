"""Document content in and out: validating what seeds a session, rendering an export.

Notebooks enter as nbformat JSON of any version nbformat can read and leave as nbformat 4.5,
validated both ways; files are text.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import nbformat as _nbformat

from ..errors import CodeCrafterError, ValidationFailed
from ..store.records import SessionKind

NOTEBOOK_MEDIA_TYPE = "application/x-ipynb+json"
TEXT_MEDIA_TYPE = "text/plain; charset=utf-8"

# nbformat's functions carry no annotations; through Any, mypy --strict accepts the calls.
nbformat: Any = _nbformat

# File extensions of a text session's language, for the export's file name.
_EXTENSIONS = {
    "python": ".py",
    "javascript": ".js",
    "typescript": ".ts",
    "bash": ".sh",
    "c": ".c",
    "c++": ".cpp",
    "cpp": ".cpp",
    "java": ".java",
    "go": ".go",
    "rust": ".rs",
    "ruby": ".rb",
    "r": ".r",
    "julia": ".jl",
    "markdown": ".md",
}


@dataclass(frozen=True, slots=True)
class Export:
    filename: str
    media_type: str
    body: bytes

    @property
    def content_disposition(self) -> str:
        """``attachment`` with an ASCII name and the exact UTF-8 one (RFC 6266/5987)."""
        ascii_name = _ascii_filename(self.filename)
        return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(self.filename)}"


class InvalidNotebook(CodeCrafterError):
    """A document that cannot be exported as a valid notebook (a client wrote nonsense)."""

    code, default_message = "invalid_notebook", "The document is not a valid notebook."


def validated_content(
    kind: SessionKind, content: dict[str, Any] | str | None
) -> dict[str, Any] | str | None:
    """The content to seed a document with; ValidationFailed naming the problem."""
    if content is None:
        return None
    if kind is SessionKind.FILE:
        if not isinstance(content, str):
            raise _invalid("A file's content is text (a JSON string).")
        return content
    if not isinstance(content, dict):
        raise _invalid("A notebook's content is an nbformat JSON object.")
    return _validated_notebook(content)


def _validated_notebook(content: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(content.get("nbformat"), int):
        # nbformat reads a dict without one as version 1 and converts anything.
        raise _invalid('A notebook states its format version, e.g. "nbformat": 4.')
    try:
        # convert() brings older major versions to 4, upgrade() 4.x to the current minor;
        # nbformat.reads() would do the first but log every invalid upload as an error.
        notebook = nbformat.convert(nbformat.reader.reads(json.dumps(content)), 4)
        notebook = nbformat.v4.upgrade(notebook)
        nbformat.validate(notebook)
    except nbformat.ValidationError as exc:
        path = "/".join(str(part) for part in getattr(exc, "absolute_path", ()))
        raise _invalid(f"Not a valid notebook: {exc.message}", path=path) from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # nbformat raises these for notebooks it cannot even read (no or unknown version).
        raise _invalid(f"Not a readable notebook: {exc}") from exc
    return _plain(notebook)


def _invalid(message: str, *, path: str = "") -> ValidationFailed:
    detail: dict[str, Any] = {"field": "content", "message": message}
    if path:
        detail["path"] = path
    return ValidationFailed(message, details=[detail])


def _plain(notebook: Any) -> dict[str, Any]:
    """A NotebookNode as plain JSON types."""
    plain: dict[str, Any] = json.loads(json.dumps(notebook))
    return plain


def render_export(
    kind: SessionKind, title: str, language: str, content: dict[str, Any] | str
) -> Export:
    """The session's document as a downloadable file."""
    if kind is SessionKind.NOTEBOOK:
        if not isinstance(content, dict):
            raise InvalidNotebook()
        text = nbformat.writes(_exportable_notebook(content)) + "\n"
        return Export(_filename(title, ".ipynb"), NOTEBOOK_MEDIA_TYPE, text.encode("utf-8"))
    extension = _EXTENSIONS.get(language, ".txt")
    return Export(_filename(title, extension), TEXT_MEDIA_TYPE, str(content).encode("utf-8"))


def _exportable_notebook(content: dict[str, Any]) -> Any:
    """A valid nbformat 4.5 node; what clients may have added beyond the schema is dropped."""
    notebook = nbformat.from_dict(_schema_keys_only(content))
    try:
        nbformat.validate(notebook)
        return notebook
    except nbformat.ValidationError:
        pass
    _, repaired = nbformat.validator.normalize(notebook, strip_invalid_metadata=True)
    notebook = nbformat.from_dict(repaired)
    try:
        nbformat.validate(notebook)
    except nbformat.ValidationError as exc:
        raise InvalidNotebook(f"The document is not a valid notebook: {exc.message}") from exc
    return notebook


_NOTEBOOK_KEYS = frozenset({"cells", "metadata", "nbformat", "nbformat_minor"})
_CELL_KEYS = {
    "code": frozenset({"id", "cell_type", "metadata", "source", "outputs", "execution_count"}),
    "markdown": frozenset({"id", "cell_type", "metadata", "source", "attachments"}),
    "raw": frozenset({"id", "cell_type", "metadata", "source", "attachments"}),
}


def _schema_keys_only(content: dict[str, Any]) -> dict[str, Any]:
    """The notebook without keys nbformat 4.5 does not define (any collaborator can add some)."""
    notebook = {key: value for key, value in content.items() if key in _NOTEBOOK_KEYS}
    cells = notebook.get("cells")
    if isinstance(cells, list):
        notebook["cells"] = [_cell_keys_only(cell) for cell in cells]
    return notebook


def _cell_keys_only(cell: Any) -> Any:
    if not isinstance(cell, dict) or cell.get("cell_type") not in _CELL_KEYS:
        return cell  # validation will name what is wrong with it
    allowed = _CELL_KEYS[cell["cell_type"]]
    return {key: value for key, value in cell.items() if key in allowed}


def _filename(title: str, extension: str) -> str:
    """A safe file name from the title: no path separators or control characters."""
    name = re.sub(r"[\x00-\x1f\x7f/\\:*?\"<>|]+", "_", title).strip(" ._") or "session"
    name = name[:120]
    return name if name.lower().endswith(extension) else name + extension


def _ascii_filename(filename: str) -> str:
    """Printable ASCII for the quoted ``filename=``: accents folded, quotes replaced."""
    folded = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    return re.sub(r'[^ -~]|["\\%]', "_", folded) or "session"
