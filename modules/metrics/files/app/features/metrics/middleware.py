"""The request metrics middleware, plain ASGI (it is on every request's path).

The feature installs it in the "outer" middleware layer (`Feature.middleware`, see
app/core/features.py): it wraps the template's whole stack, so it also counts the
template's refusals (400 for a host not in TRUSTED_HOSTS, 413 for a body over
MAX_REQUEST_BODY_SIZE) and its JSON 500s for unhandled errors, and times everything
the application does for a request.
"""

from time import perf_counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.features.metrics.collectors import KNOWN_METHODS, HttpMetrics
from app.features.metrics.routes import RouteTable


class MetricsMiddleware:
    """Records every HTTP request in `metrics`; other scopes pass through."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: HttpMetrics,
        routes: RouteTable,
        exclude_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes
        self.exclude_paths = exclude_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exclude_paths:
            await self.app(scope, receive, send)
            return

        method = scope["method"]
        if method not in KNOWN_METHODS:
            method = "OTHER"
        root_path: str = scope.get("root_path", "")
        status = 500  # unless a response starts: an error escaped the application

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        metrics = self.metrics
        metrics.start(method)
        start = perf_counter()
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            elapsed = perf_counter() - start
            route = self.routes.template(scope, root_path)
            metrics.finish(method, route, status, elapsed)
