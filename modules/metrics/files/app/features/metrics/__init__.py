"""Prometheus metrics at `/metrics`.

While the application runs, every HTTP request is counted and timed by method, route
template (`/api/v1/items/{item_id}`, never the id) and status:

    http_requests_total{method, route, status}                  counter
    http_request_duration_seconds{method, route, status}        histogram
    http_requests_in_progress{method}                           gauge
    db_pool_size, db_pool_checked_out, db_pool_checked_in,      gauges of the
    db_pool_overflow                                            SQLAlchemy pool

plus, while `METRICS_PROCESS` is true, prometheus_client's global registry (process
and Python runtime metrics, and your own metrics: define them at module level with
`prometheus_client.Counter(...)` etc. as usual).

The middleware is the feature's `Feature.middleware`, in the "outer" layer: built
once by `create_app`, around the template's whole stack, so it also counts the
template's own refusals (400 for a wrong host, 413 for a body too large) and its
JSON 500s, and it works under any ASGI server, with or without lifespan events.
"""

from typing import cast

from fastapi import APIRouter, FastAPI, HTTPException, Request, status
from fastapi.responses import Response
from prometheus_client.exposition import choose_encoder
from pydantic import SecretStr
from starlette.middleware import Middleware

from app.core.db import Database
from app.core.features import Feature
from app.core.security import constant_time_equals
from app.features.metrics.collectors import AppMetrics, HttpMetrics
from app.features.metrics.config import MetricsSettings, get_metrics_settings
from app.features.metrics.middleware import MetricsMiddleware
from app.features.metrics.routes import UNMATCHED, RouteTable

__all__ = [
    "UNMATCHED",
    "AppMetrics",
    "HttpMetrics",
    "MetricsMiddleware",
    "MetricsSettings",
    "RouteTable",
    "feature",
    "get_metrics_settings",
    "make_feature",
]

METRICS_PATH = "/metrics"


class _Exposition:
    """What `/metrics` serves for one running application."""

    def __init__(self, metrics: AppMetrics, token: SecretStr | None) -> None:
        self.metrics = metrics
        self.token = token

    def authorized(self, authorization: str | None) -> bool:
        if self.token is None:
            return True
        scheme, _, credentials = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and constant_time_equals(
            credentials.strip(), self.token.get_secret_value()
        )


router = APIRouter(tags=["metrics"])


@router.get(METRICS_PATH, include_in_schema=False)
async def metrics_endpoint(request: Request) -> Response:
    """The Prometheus exposition (text format, or OpenMetrics when asked for)."""
    exposition = cast(
        _Exposition | None, getattr(request.app.state, "metrics_exposition", None)
    )
    if exposition is None:  # METRICS_ENABLED is false
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
    if not exposition.authorized(request.headers.get("authorization")):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Missing or wrong bearer token for /metrics.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(
        encoder(exposition.metrics.registry), headers={"Content-Type": content_type}
    )


def middleware(app: FastAPI, settings: MetricsSettings) -> list[Middleware]:
    """Create `app`'s metrics and the middleware that records them (none while
    `METRICS_ENABLED` is false: nothing is recorded and `/metrics` answers 404)."""
    if not settings.METRICS_ENABLED:
        return []
    database = getattr(app.state, "database", None)
    metrics = AppMetrics(
        buckets=settings.METRICS_BUCKETS,
        database=database if isinstance(database, Database) else None,
        include_global=settings.METRICS_PROCESS,
    )
    app.state.metrics_exposition = _Exposition(metrics, settings.METRICS_BEARER_TOKEN)
    return [
        Middleware(
            MetricsMiddleware,
            metrics=metrics.http,
            # Every router is mounted by now: create_app calls this after them.
            routes=RouteTable(app.routes),
            exclude_paths=frozenset(settings.METRICS_EXCLUDE_PATHS),
        )
    ]


def make_feature(settings: MetricsSettings | None = None) -> Feature:
    """The feature, with `settings` (default: from the environment, read when the
    application is built)."""

    def build(app: FastAPI) -> list[Middleware]:
        return middleware(app, settings or get_metrics_settings())

    return Feature(
        name="metrics", router=router, middleware=build, middleware_layer="outer"
    )


feature = make_feature()
