"""The OpenAPI 3.1 document, generated from the URL table and each handler's ``@operation``.

The schemas are the pydantic models that validate requests and build responses, so the
document cannot drift from what the server does. Every operation also lists the error
answers its declaration implies (401/403 with auth, 400/413/415/422 with a body, 404 with
path parameters, 429 when rate limited, 503 always), all with the one error shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from .._version import __version__
from ..constants import API_PREFIX
from .base import CodeCrafterHandler
from .operation import Operation, operation, operation_of
from .schemas import ErrorResponse

HTTP_METHODS = ("get", "put", "post", "patch", "delete")
REF_TEMPLATE = "#/components/schemas/{model}"
BEARER = "bearerAuth"
DESCRIPTION = (
    "The CodeCrafter REST API. Authenticate with `Authorization: Bearer <access token>` "
    "from /auth/register or /auth/login. Every error is "
    '`{"error": {"code", "message", "details"}}`. Collaborative editing uses the '
    "y-websocket protocol on the WebSocket `/rooms/{session_id}?token=<access token>`; "
    "a session's kernel speaks Jupyter's kernel WebSocket protocol on "
    "`/sessions/{session_id}/kernel/channels?token=<access token>`. OpenAPI cannot "
    "describe either."
)

Route = tuple[str, Any]
# (model, validation|serialization) -> its {"$ref": ...}
Refs = dict[tuple[Any, JsonSchemaMode], dict[str, Any]]


class OpenAPIDocument(BaseModel):
    """An OpenAPI 3.1 document."""

    model_config = ConfigDict(extra="allow")
    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]


def openapi_document(
    routes: Iterable[Route], *, server_url: str = "/" + API_PREFIX
) -> dict[str, Any]:
    """The document of every operation in ``routes`` (patterns under ``/API_PREFIX``)."""
    operations = list(_operations(routes))
    schemas, refs = _components(operations)
    paths: dict[str, dict[str, Any]] = {}
    for path, method, spec, path_params in operations:
        paths.setdefault(path, {})[method] = _operation(
            path, method, spec, path_params, refs, schemas
        )
    return {
        "openapi": "3.1.0",
        "info": {"title": "CodeCrafter API", "version": __version__, "description": DESCRIPTION},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def _operations(routes: Iterable[Route]) -> Iterable[tuple[str, str, Operation, dict[str, str]]]:
    prefix = "/" + API_PREFIX
    for pattern, handler in routes:
        for method in HTTP_METHODS:
            spec = operation_of(getattr(handler, method, None))
            if spec is not None:
                path, path_params = openapi_path(pattern.removeprefix(prefix))
                yield path, method, spec, path_params


def openapi_path(pattern: str) -> tuple[str, dict[str, str]]:
    """``/a/(?P<id>[0-9]+)`` -> (``/a/{id}``, ``{"id": "^[0-9]+$"}``)."""
    path, params, rest = "", {}, pattern
    while (start := rest.find("(")) >= 0:
        end = _closing(rest, start)
        group = re.fullmatch(r"\(\?P<(\w+)>(.*)\)", rest[start : end + 1], re.DOTALL)
        if group is None:
            raise ValueError(f"Only named groups can become path parameters: {pattern!r}")
        path += _literal(rest[:start]) + "{" + group[1] + "}"
        params[group[1]] = f"^{group[2]}$"
        rest = rest[end + 1 :]
    return path + _literal(rest), params


def _literal(regex: str) -> str:
    """The text a group-free regex part matches (``\\.`` -> ``.``)."""
    return re.sub(r"\\(.)", r"\1", regex)


def _closing(text: str, start: int) -> int:
    """The index of the parenthesis closing the one at ``start`` (escapes respected)."""
    depth, index = 0, start
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise ValueError(f"Unbalanced parentheses in {text!r}")


def _components(
    operations: list[tuple[str, str, Operation, dict[str, str]]],
) -> tuple[dict[str, Any], Refs]:
    """Every model's schema under components, and each (model, mode)'s ``$ref``."""
    pairs: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {
        (ErrorResponse, "serialization"): None
    }
    for _, _, spec, _ in operations:
        for model in (spec.request, spec.query):
            if model is not None:
                pairs[(model, "validation")] = None
        for response in spec.responses.values():
            if response is not None:
                pairs[(response, "serialization")] = None
    refs, top = models_json_schema(list(pairs), ref_template=REF_TEMPLATE)
    return top.get("$defs", {}), dict(refs)


def _operation(
    path: str,
    method: str,
    spec: Operation,
    path_params: dict[str, str],
    refs: Refs,
    schemas: dict[str, Any],
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "operationId": _operation_id(method, path),
        "summary": spec.summary,
        "tags": list(spec.tags),
        "security": [{BEARER: []}] if spec.auth else [],
        "parameters": _parameters(spec, path_params, refs, schemas),
        "responses": _responses(method, spec, bool(path_params), refs),
    }
    if spec.description:
        doc["description"] = spec.description
    if spec.request is not None:
        schema = refs[(spec.request, "validation")]
        doc["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    return doc


def _operation_id(method: str, path: str) -> str:
    return method + "_" + "_".join(re.findall(r"\w+", path.replace("-", "_")))


def _parameters(
    spec: Operation,
    path_params: dict[str, str],
    refs: Refs,
    schemas: dict[str, Any],
) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "pattern": rx}}
        for name, rx in path_params.items()
    ]
    if spec.query is not None:
        name = refs[(spec.query, "validation")]["$ref"].rsplit("/", 1)[-1]
        query = schemas[name]
        required = set(query.get("required", ()))
        for field, schema in query.get("properties", {}).items():
            schema = _without_null(schema)
            params.append(
                {"name": field, "in": "query", "required": field in required, "schema": schema}
            )
    return params


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query argument is absent or a string, never null: drop the null alternative."""
    options = schema.get("anyOf", [])
    kept = [option for option in options if option != {"type": "null"}]
    if len(kept) != 1 or len(options) != 2:
        return schema
    rest = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
    return {**rest, **kept[0]}


def error_statuses(method: str, spec: Operation, has_path_params: bool) -> set[int]:
    """The error answers an operation's declaration implies."""
    statuses = {503}
    if spec.rate_limited:
        statuses.add(429)
    if spec.auth:
        statuses |= {401, 403}
    if method != "get":
        statuses.add(403)  # a cookie-carrying request without the XSRF token
    if spec.request is not None:
        statuses |= {400, 413, 415, 422}
    if spec.query is not None:
        statuses.add(422)
    if has_path_params:
        statuses.add(404)
    return statuses


def _responses(
    method: str,
    spec: Operation,
    has_path_params: bool,
    refs: Refs,
) -> dict[str, Any]:
    errors = error_statuses(method, spec, has_path_params)
    declared: dict[int, type[BaseModel] | None] = dict.fromkeys(errors, ErrorResponse)
    declared.update(spec.responses)
    responses: dict[str, Any] = {}
    for status, model in sorted(declared.items()):
        response: dict[str, Any] = {"description": HTTPStatus(status).phrase}
        if model is not None:
            schema = refs[(model, "serialization")]
            response["content"] = {"application/json": {"schema": schema}}
        if status in (429, 503):  # rate limited, or a backend coming back
            response["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before retrying.",
                    "schema": {"type": "integer", "minimum": 1},
                }
            }
        responses[str(status)] = response
    return responses


class OpenAPIHandler(CodeCrafterHandler):
    _document: dict[str, Any] | None = None

    @operation(
        "This OpenAPI document",
        auth=False,
        responses={200: OpenAPIDocument},
        tags=("meta",),
    )
    async def get(self) -> None:
        self.reply(200, self.document())

    def document(self) -> dict[str, Any]:
        # The routes never change while the server runs: build the document once.
        cls = type(self)
        if cls._document is None:
            from . import url_table  # here, not at import: the table includes this module

            cls._document = openapi_document(url_table(), server_url=self.base_url + API_PREFIX)
        return cls._document


handlers = [(r"/openapi\.json", OpenAPIHandler)]
