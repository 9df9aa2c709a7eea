"""Request body limits: no client makes the application hold more than a route allows.

Every route gets `MAX_REQUEST_BODY_SIZE` (1 MiB by default): a body declared larger
(`Content-Length`) is refused with 413 before any of it is read, and one that grows
larger while it streams in is cut off at the limit. A route that needs more, or that
streams its body and bounds it itself (a file upload), says so:

    from app.core.limits import body_limit

    @router.post("/imports")
    @body_limit(20 * 1024 * 1024)  # under the route decorator
    async def create_import(payload: Import) -> ...: ...

    @router.put("/files/{key}")
    @body_limit(None)  # streamed to storage, which enforces its own limit
    async def upload(request: Request) -> ...: ...

The limit is looked up when the body is first read, once the router has picked the
route, so it costs nothing on requests without a body.
"""

from collections.abc import Callable
from typing import TypeVar

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

F = TypeVar("F", bound=Callable[..., object])

# Endpoint -> its own limit (None: the route bounds its body itself).
_ROUTE_LIMITS: dict[Callable[..., object], int | None] = {}


def body_limit(max_bytes: int | None) -> Callable[[F], F]:
    """Give a route its own request body limit in bytes; None: no limit here, the
    route reads its body as a stream and bounds it itself."""

    def mark(endpoint: F) -> F:
        _ROUTE_LIMITS[endpoint] = max_bytes
        return endpoint

    return mark


def route_limit(scope: Scope, default: int) -> int | None:
    """The body limit of the route the router picked for `scope`."""
    endpoint = scope.get("endpoint")
    if endpoint is not None and endpoint in _ROUTE_LIMITS:
        return _ROUTE_LIMITS[endpoint]
    return default


def too_large(limit: int) -> HTTPException:
    return HTTPException(
        413, f"The request body is larger than the limit of {limit} bytes."
    )


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class RequestBodyLimitMiddleware:
    """Enforces each route's body limit on the `http.request` messages it reads.

    Plain ASGI: it wraps `receive`, so the body still streams through untouched, and
    the 413 is raised where the route reads it, as any HTTP error (FastAPI passes it
    on to the error handlers).
    """

    def __init__(self, app: ASGIApp, *, max_body_size: int) -> None:
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        default = self.max_body_size
        received = 0
        limit: int | None = None
        checked = False

        async def limited_receive() -> Message:
            nonlocal received, limit, checked
            if not checked:
                checked = True
                limit = route_limit(scope, default)
                declared = _declared_length(scope)
                if limit is not None and declared is not None and declared > limit:
                    raise too_large(limit)
            message = await receive()
            if message["type"] == "http.request" and limit is not None:
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(limit)
            return message

        await self.app(scope, limited_receive, send)
