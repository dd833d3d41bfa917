"""The OpenAPI document: served, valid 3.1, and complete for every route in the URL table."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from jupyter_codecrafter.api import url_table
from jupyter_codecrafter.api.openapi import HTTP_METHODS, openapi_document, openapi_path
from jupyter_codecrafter.api.operation import Operation, operation_of
from jupyter_codecrafter.constants import API_PREFIX
from jupyter_codecrafter.ratelimit import RULES
from tests.client import Api

ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}


def declared_operations() -> list[tuple[str, str, Operation]]:
    """(OpenAPI path, method, operation) of every @operation in the URL table."""
    found = []
    for pattern, handler in url_table():
        for method in HTTP_METHODS:
            spec = operation_of(getattr(handler, method, None))
            if spec is not None:
                path, _ = openapi_path(pattern.removeprefix("/" + API_PREFIX))
                found.append((path, method, spec))
    return found


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document(url_table())


async def test_document_is_served_without_auth(api: Api, document: dict[str, Any]) -> None:
    """GET /openapi.json needs no token and answers the document generated from the code."""
    response = await api.http.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    served = response.json()
    assert served["servers"] == [{"url": "/" + API_PREFIX}]
    assert served == document


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    """The document passes the OpenAPI 3.1 validator."""
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_operation_is_documented(document: dict[str, Any]) -> None:
    """Each @operation in the URL table is in the document, and nothing else is."""
    expected = {(path, method) for path, method, _ in declared_operations()}
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert documented == expected
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


def test_errors_and_security_follow_each_declaration(document: dict[str, Any]) -> None:
    """Every operation documents 503 with Retry-After and the error shape; authenticated
    ones the Bearer scheme and 401/403; ones with a body the body schema and 400/413/415/422;
    rated ones 429 with Retry-After; ones with path parameters 404."""
    for path, method, spec in declared_operations():
        doc = document["paths"][path][method]
        responses = doc["responses"]
        statuses = {int(status) for status in responses}
        assert "Retry-After" in responses["503"]["headers"], (path, method)
        for status in statuses - set(spec.responses):
            assert responses[str(status)]["content"]["application/json"]["schema"] == ERROR_REF
        if spec.auth:
            assert doc["security"] == [{"bearerAuth": []}] and {401, 403} <= statuses
        else:
            assert doc["security"] == []
        if spec.request is not None:
            schema = doc["requestBody"]["content"]["application/json"]["schema"]
            assert schema["$ref"].endswith("/" + spec.request.__name__)
            assert {400, 413, 415, 422} <= statuses
        if spec.rate_limited:
            assert "Retry-After" in responses["429"]["headers"]
        else:
            assert 429 not in statuses
        if "{" in path:
            assert 404 in statuses


def test_path_parameters_carry_the_url_patterns(document: dict[str, Any]) -> None:
    """Path parameters are required strings with the pattern the URL table routes on."""
    for path, item in document["paths"].items():
        for op in item.values():
            params = {p["name"]: p for p in op["parameters"] if p["in"] == "path"}
            assert set(params) == {part[1:-1] for part in path.split("/") if part.startswith("{")}
            for param in params.values():
                assert param["required"] and param["schema"]["pattern"].startswith("^")


def test_schemas_are_the_pydantic_models(document: dict[str, Any]) -> None:
    """Component schemas are generated from the models: requests forbid unknown fields,
    and the error shape is {error: {code, message, details}}."""
    schemas = document["components"]["schemas"]
    assert schemas["RegisterRequest"]["additionalProperties"] is False
    assert set(schemas["RegisterRequest"]["required"]) == {"username", "email", "password"}
    assert schemas["ErrorResponse"]["properties"]["error"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    assert set(schemas["ErrorBody"]["properties"]) == {"code", "message", "details"}
    bearer = document["components"]["securitySchemes"]["bearerAuth"]
    assert bearer == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


def test_rate_limit_rules_exist() -> None:
    """Every operation's rate_limit names a configured rule (a typo would limit nothing)."""
    for path, method, spec in declared_operations():
        assert spec.rate_limit is None or spec.rate_limit in RULES, (path, method)


@pytest.mark.parametrize(
    ("pattern", "path", "params"),
    [
        (r"/openapi\.json", "/openapi.json", {}),
        (r"/a/(?P<id>[0-9]+)/b", "/a/{id}/b", {"id": "^[0-9]+$"}),
        (r"/a/(?P<x>(ab|cd)+)/(?P<y>\(\w\))", "/a/{x}/{y}", {"x": "^(ab|cd)+$", "y": r"^\(\w\)$"}),
    ],
)
def test_url_patterns_become_openapi_paths(pattern: str, path: str, params: dict[str, str]) -> None:
    """Named groups become {parameters} with their regex; escapes are unescaped."""
    assert openapi_path(pattern) == (path, params)


def test_unnamed_groups_are_refused() -> None:
    """A route with an unnamed group cannot be documented, so it is an error."""
    with pytest.raises(ValueError, match="named groups"):
        openapi_path(r"/a/([0-9]+)")
