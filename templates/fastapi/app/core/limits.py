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
from starlette.types import Message, Receive, Scope

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


class LimitedReceive:
    """A request's `receive`, enforcing its route's body limit on the `http.request`
    messages read through it. `RequestContextMiddleware` puts it in place of the
    server's on every request that can have a body.

    The body still streams through untouched, and the 413 is raised where the route
    reads it, as any HTTP error (FastAPI passes it on to the error handlers).
    """

    __slots__ = ("scope", "receive", "default", "limit", "received", "checked")

    def __init__(self, scope: Scope, receive: Receive, default: int) -> None:
        self.scope = scope
        self.receive = receive
        self.default = default
        self.limit: int | None = None
        self.received = 0
        self.checked = False

    async def __call__(self) -> Message:
        if not self.checked:
            # The router has picked the route by the time its body is first read.
            self.checked = True
            self.limit = route_limit(self.scope, self.default)
            declared = _declared_length(self.scope)
            if (
                self.limit is not None
                and declared is not None
                and declared > self.limit
            ):
                raise too_large(self.limit)
        message = await self.receive()
        if message["type"] == "http.request" and self.limit is not None:
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                raise too_large(self.limit)
        return message
