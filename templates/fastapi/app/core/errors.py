"""One shape for every error the API returns:

    {"error": {"code": "not_found", "message": "Item not found",
               "details": null, "request_id": "4b6f..."}}

`HTTPException`, request validation errors (422), `AppError` and its subclasses are
turned into this shape here; unhandled exceptions become a 500 in the same shape (see
`app.core.middleware`), without any internals in the body.
"""

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match, Mount

from app.core.logging import get_request_id

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}


def error_code(status_code: int) -> str:
    """A stable machine-readable code for an HTTP status: 404 -> `not_found`."""
    if status_code in _CODES:
        return _CODES[status_code]
    try:
        return HTTPStatus(status_code).name.lower()
    except ValueError:
        return f"http_{status_code}"


def _phrase(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Error"


class AppError(Exception):
    """An error with a status, a code and a message meant for the client.

    Raise it (or a subclass) from a route or a service; the handler below answers with
    the status and the message. Subclass it per domain error:

        class OutOfStock(AppError):
            status_code = 409
            code = "out_of_stock"
    """

    status_code: int = 400
    code: str | None = None

    def __init__(
        self,
        message: str | None = None,
        *,
        details: Any = None,
        status_code: int | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if status_code is not None:
            self.status_code = status_code
        if code is not None:
            self.code = code
        self.message = message or _phrase(self.status_code)
        self.details = details
        self.headers = headers
        super().__init__(self.message)


class NotFoundError(AppError):
    status_code = 404


class ConflictError(AppError):
    status_code = 409


def error_body(
    status_code: int, message: str, *, code: str | None = None, details: Any = None
) -> dict[str, Any]:
    return {
        "error": {
            "code": code or error_code(status_code),
            "message": message,
            "details": jsonable_encoder(details),
            "request_id": get_request_id(),
        }
    }


def error_response(
    status_code: int,
    message: str | None = None,
    *,
    code: str | None = None,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = error_body(
        status_code, message or _phrase(status_code), code=code, details=details
    )
    return JSONResponse(body, status_code=status_code, headers=headers)


# The methods a 405's `Allow` may name.
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts on the request's path. (The router's own 405
    names only the methods of the first route whose path matched.) A mounted
    application matches whatever the method: it answers for itself."""
    routes = [r for r in request.app.router.routes if not isinstance(r, Mount)]
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in routes
        )
    ]


async def http_exception_handler(
    request: Request, exc: StarletteHTTPException
) -> Response:
    if exc.status_code in {204, 304}:  # no body allowed
        return Response(status_code=exc.status_code, headers=exc.headers)
    headers = exc.headers
    if exc.status_code == 405 and (methods := allowed_methods(request)):
        headers = {**(headers or {}), "Allow": ", ".join(methods)}
    if isinstance(exc.detail, str):
        message, details = exc.detail, None
    else:
        message, details = _phrase(exc.status_code), exc.detail
    return error_response(exc.status_code, message, details=details, headers=headers)


def _body_not_json(request: Request, exc: RequestValidationError) -> bool:
    """Whether a body was sent with another media type than the JSON the route reads
    (FastAPI then validates the raw bytes, and finds them no object)."""
    if not isinstance(exc.body, bytes) or not exc.body:
        return False
    if not any(tuple(error["loc"][:1]) == ("body",) for error in exc.errors()):
        return False
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    kind, _, subtype = media.partition("/")
    is_json = subtype == "json" or subtype.endswith("+json")
    return not (kind == "application" and is_json)


async def validation_exception_handler(
    request: Request, exc: RequestValidationError
) -> JSONResponse:
    if _body_not_json(request, exc):
        return error_response(
            415, "Send the body as JSON, with `Content-Type: application/json`."
        )
    # `input` and `ctx` are left out: the input may be a password, ctx may not be JSON.
    details = [
        {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]
    return error_response(422, "The request is invalid.", details=details)


async def app_error_handler(request: Request, exc: AppError) -> JSONResponse:
    return error_response(
        exc.status_code,
        exc.message,
        code=exc.code,
        details=exc.details,
        headers=exc.headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, http_exception_handler)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation_exception_handler)  # type: ignore[arg-type]
    app.add_exception_handler(AppError, app_error_handler)  # type: ignore[arg-type]
