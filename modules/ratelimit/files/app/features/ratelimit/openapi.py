"""The limits in the OpenAPI document: every operation the middleware counts lists
its 429 (with `Retry-After` and the `RateLimit-*` headers), the error schema of
`app.core.openapi`, and the `RateLimit-*` headers on each of its responses; a 503
too when the limiter fails closed. Exempt paths are left as they are."""

from collections.abc import Callable, Collection
from typing import Any

from fastapi import FastAPI

from app.core.openapi import REF_PREFIX, describe

HEADERS_PREFIX = "#/components/headers/"

_INTEGER = {"type": "integer", "minimum": 0}
HEADERS: dict[str, dict[str, Any]] = {
    "RateLimit-Limit": {
        "description": "Requests the policy allows per window (IETF httpapi draft)",
        "schema": _INTEGER,
    },
    "RateLimit-Remaining": {
        "description": "Requests the client may still send now",
        "schema": _INTEGER,
    },
    "RateLimit-Reset": {
        "description": "Seconds until the whole limit is available again",
        "schema": _INTEGER,
    },
    "RateLimit-Policy": {
        "description": "The policy: `<limit>;w=<window in seconds>`",
        "schema": {"type": "string", "pattern": r"^\d+;w=\d+$"},
    },
    "Retry-After": {
        "description": "Seconds to wait before the next request is allowed",
        "schema": {"type": "integer", "minimum": 1},
    },
}
RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _refs(names: Collection[str]) -> dict[str, Any]:
    return {name: {"$ref": HEADERS_PREFIX + name} for name in names}


def document_limits(
    document: dict[str, Any], exempt_paths: Collection[str], fail_open: bool
) -> dict[str, Any]:
    """`document` with the limits documented (changed in place)."""
    error_content = {
        "application/json": {"schema": {"$ref": REF_PREFIX + "ErrorResponse"}}
    }
    counted = False
    for path, item in document.get("paths", {}).items():
        if path in exempt_paths:
            continue
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            counted = True
            responses: dict[str, Any] = operation.setdefault("responses", {})
            for response in responses.values():
                response.setdefault("headers", {}).update(
                    _refs((*RATE_HEADERS, "RateLimit-Policy"))
                )
            responses["429"] = {
                "description": describe(429)
                + ": wait `Retry-After` seconds (per client address, and per "
                "principal when authenticated)",
                "headers": _refs(("Retry-After", *RATE_HEADERS, "RateLimit-Policy")),
                "content": error_content,
            }
            if not fail_open:
                unavailable = responses.setdefault(
                    "503", {"description": describe(503)}
                )
                unavailable["content"] = error_content
                unavailable.setdefault("headers", {}).update(_refs(("Retry-After",)))
            operation["responses"] = dict(sorted(responses.items()))
    if counted:
        components = document.setdefault("components", {})
        components.setdefault("headers", {}).update(HEADERS)
    return document


def install_openapi_limits(
    app: FastAPI, exempt_paths: Collection[str], fail_open: bool
) -> None:
    """Make `app.openapi()` document the limits (on top of what it documents)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_limits(build(), exempt_paths, fail_open)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
