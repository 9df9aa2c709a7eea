"""The OpenAPI document as a contract: clients, mocks and docs are generated from it.

`install_openapi(app)` makes `app.openapi()` (served at `/openapi.json`) list, on every
operation, each error status the operation can return, all with the one error schema
(`ErrorResponse`, the shape `app.core.errors` answers with):

- 422 when the operation takes parameters or a body (`details` lists each problem);
- 400, 413 and 415 when it takes a body (unreadable, too large, another media type);
- 404 when its path has parameters (what they name may not exist);
- whatever a route or router declares with `responses=error_responses(...)`: its own
  domain errors (`error_responses(409)`), or those of a dependency it uses
  (`APIRouter(dependencies=[...], responses=error_responses(401, 403))` for auth).

Optional query, path, header and cookie parameters are published without `null`: a
client sends none by leaving the parameter out. `tests/test_openapi.py` checks the
document against the OpenAPI 3.1 specification and the running application against
the document.
"""

import json
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

REF_PREFIX = "#/components/schemas/"

# What each error status means here; a status not listed gets its HTTP phrase.
ERROR_DESCRIPTIONS = {
    400: "The request cannot be read (a body that is not UTF-8 JSON) or is refused",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "The body is larger than the limit",
    415: "The body's media type is not accepted",
    422: "A parameter or the body is invalid: `details` lists each problem",
    429: "Too many requests",
    503: "Unavailable for now: try again later (after `Retry-After` seconds, if sent)",
}
BODY_ERRORS = (400, 413, 415, 422)
PARAMETER_ERRORS = (422,)
PATH_PARAMETER_ERRORS = (404,)
# FastAPI's own validation error schemas, replaced by `ErrorResponse`.
_FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable and machine-readable: `not_found`")
    message: str = Field(description="For people")
    details: Any = Field(
        description="More about the error; for a 422, a list of "
        "`{loc, msg, type}`, one for each problem"
    )
    request_id: str | None = Field(description="The response's `X-Request-ID`")


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


def operation_id(route: APIRoute) -> str:
    """An operation's id, and so its name in generated clients: the route function's
    name (`list_items`), where FastAPI's default adds the path and method. The
    document test fails when two operations share one."""
    return route.name


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route or router that can answer these error statuses; the
    document gives each the error schema."""
    return {status: {"description": describe(status)} for status in statuses}


def describe(status: int) -> str:
    return ERROR_DESCRIPTIONS.get(status) or HTTPStatus(status).phrase


def _error_component_schemas() -> dict[str, Any]:
    _, top = models_json_schema(
        [(ErrorResponse, "serialization")], ref_template=REF_PREFIX + "{model}"
    )
    return dict(top.get("$defs", {}))


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    variants = schema.get("anyOf")
    if not isinstance(variants, list):
        return schema
    kept = [v for v in variants if v != {"type": "null"}]
    if len(kept) == len(variants):
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    if len(kept) == 1:
        return {**kept[0], **rest}
    return {**rest, "anyOf": kept}


def _is_error_content(response: dict[str, Any]) -> bool:
    """Whether the response has no body schema yet, or FastAPI's default one."""
    content = response.get("content")
    if not content:
        return True
    schema = content.get("application/json", {}).get("schema", {})
    return schema.get("$ref") in {REF_PREFIX + name for name in _FASTAPI_ERROR_SCHEMAS}


def _expected_errors(operation: dict[str, Any]) -> set[int]:
    statuses: set[int] = set()
    parameters = operation.get("parameters", [])
    if "requestBody" in operation:
        statuses.update(BODY_ERRORS)
    if parameters:
        statuses.update(PARAMETER_ERRORS)
    if any(p.get("in") == "path" for p in parameters):
        statuses.update(PATH_PARAMETER_ERRORS)
    return statuses


def document_operation(operation: dict[str, Any]) -> None:
    """Add the errors `operation` can answer, each with the error schema."""
    for parameter in operation.get("parameters", []):
        if not parameter.get("required") and "schema" in parameter:
            parameter["schema"] = _without_null(parameter["schema"])
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status in _expected_errors(operation):
        responses.setdefault(str(status), {})
    error_content = {
        "application/json": {"schema": {"$ref": REF_PREFIX + "ErrorResponse"}}
    }
    for code, response in responses.items():
        if code.isdigit() and int(code) >= 400 and _is_error_content(response):
            if response.get("description") in {None, "", "Validation Error"}:
                response["description"] = describe(int(code))
            response["content"] = error_content
    operation["responses"] = dict(sorted(responses.items()))


def _unused(document: dict[str, Any], names: Iterable[str]) -> list[str]:
    text = json.dumps([document["paths"], document.get("components", {})])
    return [
        name
        for name in names
        if name in document["components"]["schemas"]
        and f'"{REF_PREFIX}{name}"' not in text
    ]


def complete_document(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with every operation's errors documented (changed in place)."""
    for path_item in document.get("paths", {}).values():
        for method in _METHODS:
            if method in path_item:
                document_operation(path_item[method])
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(_error_component_schemas())
    # HTTPValidationError refers to ValidationError: drop one, then the other.
    while unused := _unused(document, _FASTAPI_ERROR_SCHEMAS):
        for name in unused:
            schemas.pop(name)
    document["components"]["schemas"] = dict(sorted(schemas.items()))
    return document


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` return the completed document (built once)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete_document(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
