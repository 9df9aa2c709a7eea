"""The metrics feature, end to end: real requests (the items API on the real
PostgreSQL), then a scrape of `/metrics` read with prometheus_client's own parser."""

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from httpx import ASGITransport, AsyncClient
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from app.core.features import Feature
from app.features import FEATURES
from app.features.metrics import (
    UNMATCHED,
    MetricsMiddleware,
    MetricsSettings,
    RouteTable,
    get_metrics_settings,
    make_feature,
)
from app.features.metrics.collectors import AppMetrics
from tests.conftest import PRODUCTION, ClientFactory
from tests.server import app_server

ITEMS = "/api/v1/items"
ITEM = "/api/v1/items/{item_id}"

AppFactory = Callable[..., FastAPI]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of a scrape: (sample name, labels) -> value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def routes_seen(samples: Samples) -> set[str]:
    return {
        dict(labels)["route"]
        for name, labels in samples
        if name == "http_requests_total"
    }


async def scrape(client: AsyncClient, **headers: str) -> Samples:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def metrics_feature(**settings: Any) -> Feature:
    return make_feature(MetricsSettings(**settings))


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client,
    ):
        yield client


async def test_requests_are_counted_by_route_template(
    make_client: ClientFactory,
) -> None:
    async with make_client([metrics_feature()]) as client:
        created = await client.post(ITEMS, json={"name": "Gauge", "price": "2.50"})
        assert created.status_code == 201
        item_id = created.json()["id"]
        for _ in range(2):
            assert (await client.get(f"{ITEMS}/{item_id}")).status_code == 200
        assert (await client.get(f"{ITEMS}/{uuid.uuid4()}")).status_code == 404
        assert (await client.get(f"{ITEMS}/not-a-uuid")).status_code == 422
        assert (await client.delete(ITEMS)).status_code == 405
        assert (await client.request("BREW", ITEMS)).status_code == 405
        assert (await client.get(f"/nowhere/{item_id}")).status_code == 404
        assert (await client.get("/health/live")).status_code == 200
        samples = await scrape(client)

    total = "http_requests_total"
    assert value(samples, total, method="POST", route=ITEMS, status="201") == 1
    assert value(samples, total, method="GET", route=ITEM, status="200") == 2
    assert value(samples, total, method="GET", route=ITEM, status="404") == 1
    assert value(samples, total, method="GET", route=ITEM, status="422") == 1
    assert value(samples, total, method="DELETE", route=ITEMS, status="405") == 1
    assert value(samples, total, method="OTHER", route=ITEMS, status="405") == 1
    assert value(samples, total, method="GET", route=UNMATCHED, status="404") == 1
    assert value(samples, total, method="GET", route="/health/live", status="200") == 1
    # Never a raw path, and the scrape itself is left out by default.
    assert routes_seen(samples) == {ITEMS, ITEM, UNMATCHED, "/health/live"}
    assert not any(item_id in route for route in routes_seen(samples))

    labels = {"method": "GET", "route": ITEM, "status": "200"}
    assert value(samples, "http_request_duration_seconds_count", **labels) == 2
    assert value(samples, "http_request_duration_seconds_bucket", le="+Inf", **labels)
    duration_sum = value(samples, "http_request_duration_seconds_sum", **labels)
    assert duration_sum is not None and 0 < duration_sum < 10
    assert value(samples, "http_requests_in_progress", method="GET") == 0


def slow_feature(entered: asyncio.Event, release: asyncio.Event) -> Feature:
    router = APIRouter(prefix="/api/v1/slow")

    @router.get("/{n}")
    async def slow(n: int) -> dict[str, int]:
        entered.set()
        await release.wait()
        return {"n": n}

    @router.get("/boom/{n}")
    async def boom(n: int) -> None:
        raise RuntimeError(f"boom {n}")

    return Feature(name="slow", router=router)


async def test_requests_in_progress_and_unhandled_errors(
    make_client: ClientFactory,
) -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    features = [metrics_feature(), slow_feature(entered, release)]
    async with make_client(features) as client:
        pending = asyncio.create_task(client.get("/api/v1/slow/7"))
        await asyncio.wait_for(entered.wait(), 5)
        during = await scrape(client)
        release.set()
        assert (await pending).json() == {"n": 7}
        # The template's middleware answers an unhandled error with a JSON 500.
        assert (await client.get("/api/v1/slow/boom/3")).status_code == 500
        after = await scrape(client)

    assert value(during, "http_requests_in_progress", method="GET") == 1
    assert value(after, "http_requests_in_progress", method="GET") == 0
    total = "http_requests_total"
    route = "/api/v1/slow/{n}"
    assert value(after, total, method="GET", route=route, status="200") == 1
    boom = "/api/v1/slow/boom/{n}"
    assert value(after, total, method="GET", route=boom, status="500") == 1


async def test_database_pool_gauges(make_app: AppFactory) -> None:
    app = make_app([metrics_feature()], DATABASE_POOL_SIZE=3)
    async with running(app) as client:
        # The readiness probe goes through the application's own engine and pool.
        assert (await client.get("/health/ready")).status_code == 200
        idle = await scrape(client)
        async with app.state.database.engine.connect():
            busy = await scrape(client)

    assert value(idle, "db_pool_size") == 3
    assert value(idle, "db_pool_checked_out") == 0
    assert value(idle, "db_pool_checked_in") == 1
    assert value(idle, "db_pool_overflow") == 0
    assert value(busy, "db_pool_checked_out") == 1
    assert value(busy, "db_pool_checked_in") == 0


async def test_each_application_has_its_own_registry(make_app: AppFactory) -> None:
    first, second = make_app([metrics_feature()]), make_app([metrics_feature()])
    async with running(first) as one, running(second) as two:
        for _ in range(3):
            await one.get("/health/live")
        await two.get("/health/live")
        in_first, in_second = await scrape(one), await scrape(two)
    labels = {"method": "GET", "route": "/health/live", "status": "200"}
    assert value(in_first, "http_requests_total", **labels) == 3
    assert value(in_second, "http_requests_total", **labels) == 1


async def test_bearer_token(make_client: ClientFactory) -> None:
    async with make_client([metrics_feature(METRICS_BEARER_TOKEN="s3cret")]) as client:
        missing = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        samples = await scrape(client, Authorization="Bearer s3cret")
    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"]["code"] == "unauthorized"
    assert value(samples, "db_pool_size") is not None


def metrics_middleware(app: FastAPI) -> list[MetricsMiddleware]:
    """The MetricsMiddleware in `app`'s built middleware stack."""
    found, layer = [], app.middleware_stack
    while layer is not None:
        if isinstance(layer, MetricsMiddleware):
            found.append(layer)
        layer = getattr(layer, "app", None)
    return found


async def test_disabled(make_app: AppFactory) -> None:
    app = make_app([metrics_feature(METRICS_ENABLED=False)])
    async with running(app) as client:
        await client.get("/health/live")
        response = await client.get("/metrics")
    assert response.status_code == 404
    assert metrics_middleware(app) == []
    assert not hasattr(app.state, "metrics_exposition")


async def test_recorded_without_lifespan_events(make_app: AppFactory) -> None:
    """Servers may send no lifespan events (uvicorn --lifespan off, some ASGI hosts):
    the middleware is built with the application, so it records all the same,
    outside the template's own middleware (its 400s, 413s and 500s included)."""
    features = [metrics_feature(), slow_feature(asyncio.Event(), asyncio.Event())]
    app = make_app(features, TRUSTED_HOSTS=["testserver"], MAX_REQUEST_BODY_SIZE=1024)
    # No `app.router.lifespan_context(app)`: requests only, as such a server sends.
    transport = ASGITransport(app=app)
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await client.get("/health/live")).status_code == 200
        too_big = await client.post(ITEMS, content=b"x" * 1025)
        assert too_big.status_code == 413
        assert (await client.get("/api/v1/slow/boom/1")).status_code == 500
        async with AsyncClient(transport=transport, base_url="http://evil") as other:
            assert (await other.get("/health/live")).status_code == 400
        samples = await scrape(client)
    assert len(metrics_middleware(app)) == 1
    total = "http_requests_total"
    assert value(samples, total, method="GET", route="/health/live", status="200") == 1
    assert value(samples, total, method="POST", route=ITEMS, status="413") == 1
    boom = "/api/v1/slow/boom/{n}"
    assert value(samples, total, method="GET", route=boom, status="500") == 1
    assert value(samples, total, method="GET", route=UNMATCHED, status="400") == 1


def test_recorded_under_a_server_without_lifespan(tmp_path: Path) -> None:
    """The real application under uvicorn with `--lifespan off`."""
    settings = {
        "METRICS_ENABLED": "true",
        "METRICS_BEARER_TOKEN": "",
        "METRICS_EXCLUDE_PATHS": "/metrics",
        "TRUSTED_HOSTS": "*",
    }
    with app_server(tmp_path, "--lifespan", "off", **settings) as server:
        for _ in range(2):
            assert httpx.get(f"{server.url}/health/live").status_code == 200
        response = httpx.get(f"{server.url}/metrics")
    assert response.status_code == 200, response.text
    samples = parse(response.text)
    labels = {"method": "GET", "route": "/health/live", "status": "200"}
    # app_server's wait for the server got one 200 from /health/live too.
    count = value(samples, "http_requests_total", **labels)
    assert count is not None and count >= 3


async def test_openmetrics_and_process_metrics(make_client: ClientFactory) -> None:
    accept = "application/openmetrics-text; version=1.0.0"
    async with make_client([metrics_feature()]) as client:
        openmetrics = await client.get("/metrics", headers={"Accept": accept})
        with_process = await scrape(client)
    async with make_client([metrics_feature(METRICS_PROCESS=False)]) as client:
        without_process = await scrape(client)
    assert openmetrics.headers["content-type"].startswith(
        "application/openmetrics-text"
    )
    assert openmetrics.text.endswith("# EOF\n")
    python_info = {name for name, _ in with_process if name == "python_info"}
    assert python_info == {"python_info"}
    assert not any(name == "python_info" for name, _ in without_process)


async def test_excluded_paths(make_client: ClientFactory) -> None:
    feature = metrics_feature(METRICS_EXCLUDE_PATHS="/health/live,/health/ready")
    async with make_client([feature]) as client:
        await client.get("/health/live")
        await client.get("/health/ready")
        samples = await scrape(client)
        again = await scrape(client)
    assert "/health/live" not in routes_seen(samples)
    labels = {"method": "GET", "route": "/metrics", "status": "200"}
    assert value(again, "http_requests_total", **labels) == 1


def test_histogram_buckets_are_cumulative_and_inclusive() -> None:
    metrics = AppMetrics(buckets=[1.0, 0.1, 0.5], include_global=False)
    for seconds in (0.1, 0.7, 3.0):
        metrics.http.start("GET")
        metrics.http.finish("GET", "/x/{n}", 200, seconds)
    metrics.http.start("POST")
    samples = parse(generate_latest(metrics.registry).decode())
    labels = {"method": "GET", "route": "/x/{n}", "status": "200"}
    buckets = {
        le: value(samples, "http_request_duration_seconds_bucket", le=le, **labels)
        for le in ("0.1", "0.5", "1.0", "+Inf")
    }
    assert buckets == {"0.1": 1, "0.5": 1, "1.0": 2, "+Inf": 3}
    duration_sum = value(samples, "http_request_duration_seconds_sum", **labels)
    assert duration_sum == pytest.approx(3.8)
    assert value(samples, "http_requests_total", **labels) == 3
    assert value(samples, "http_requests_in_progress", method="GET") == 0
    assert value(samples, "http_requests_in_progress", method="POST") == 1


def test_settings_parse_lists() -> None:
    settings = MetricsSettings(METRICS_BUCKETS="0.5, 0.1,1", METRICS_BEARER_TOKEN="  ")
    assert settings.METRICS_BUCKETS == [0.1, 0.5, 1.0]
    assert settings.METRICS_BEARER_TOKEN is None
    with pytest.raises(ValueError, match="must start with /"):
        MetricsSettings(METRICS_EXCLUDE_PATHS=["metrics"])


def test_production_requires_a_token() -> None:
    """Open metrics tell anyone the routes, the traffic and the pool's state."""
    with pytest.raises(ValueError, match="production requires METRICS_BEARER_TOKEN"):
        MetricsSettings(ENVIRONMENT="production")
    with pytest.raises(ValueError, match="at least 32 characters"):
        MetricsSettings(ENVIRONMENT="production", METRICS_BEARER_TOKEN="s3cret")
    token = secrets.token_urlsafe(32)
    production = MetricsSettings(ENVIRONMENT="production", METRICS_BEARER_TOKEN=token)
    assert production.METRICS_BEARER_TOKEN is not None
    disabled = MetricsSettings(ENVIRONMENT="production", METRICS_ENABLED=False)
    assert disabled.METRICS_BEARER_TOKEN is None


async def test_production_metrics_need_the_token(make_client: ClientFactory) -> None:
    token = secrets.token_urlsafe(32)
    feature = metrics_feature(ENVIRONMENT="production", METRICS_BEARER_TOKEN=token)
    async with make_client([feature], **PRODUCTION) as client:
        anonymous = await client.get("/metrics")
        samples = await scrape(client, Authorization=f"Bearer {token}")
    assert anonymous.status_code == 401
    assert value(samples, "db_pool_size") is not None


async def _text(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def nested_app() -> FastAPI:
    """Routers included in routers, a FastAPI and a Starlette app mounted."""
    app = FastAPI()
    inner = APIRouter(prefix="/orders")

    @inner.get("/{order_id}/lines/{line}")
    async def order_line(order_id: int, line: int) -> dict[str, int]:
        return {"order": order_id, "line": line}

    api = APIRouter(prefix="/api/v2")
    api.include_router(inner)
    app.include_router(api)
    app.include_router(inner, prefix="/legacy")  # the same routes a second time

    sub = FastAPI()
    sub.include_router(inner)
    app.mount("/sub", sub)
    app.mount("/plain", Starlette(routes=[Route("/pages/{page}", _text)]))
    return app


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/api/v2/orders/12/lines/3", "/api/v2/orders/{order_id}/lines/{line}"),
        ("/legacy/orders/12/lines/3", "/legacy/orders/{order_id}/lines/{line}"),
        ("/sub/orders/12/lines/3", "/sub/orders/{order_id}/lines/{line}"),
        ("/plain/pages/about", "/plain/pages/{page}"),
        ("/docs", "/docs"),
        ("/api/v2/orders/12", UNMATCHED),
    ],
)
async def test_route_templates(path: str, template: str) -> None:
    app = nested_app()
    metrics = AppMetrics(buckets=[0.1, 1.0], include_global=False)
    wrapped = MetricsMiddleware(
        app, metrics=metrics.http, routes=RouteTable(app.routes)
    )
    async with AsyncClient(
        transport=ASGITransport(app=wrapped), base_url="http://test"
    ) as client:
        response = await client.get(path)
    assert response.status_code == (404 if template == UNMATCHED else 200)
    samples: Sequence[Any] = [
        sample
        for family in metrics.registry.collect()
        for sample in family.samples
        if sample.name == "http_requests_total"
    ]
    assert [sample.labels["route"] for sample in samples] == [template]


async def test_the_enabled_application_serves_metrics(client: AsyncClient) -> None:
    assert "metrics" in [feature.name for feature in FEATURES]
    settings = get_metrics_settings()
    if not settings.METRICS_ENABLED:
        pytest.skip("METRICS_ENABLED is false in this environment")
    await client.get("/health/live")
    token = settings.METRICS_BEARER_TOKEN
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}
    samples = await scrape(client, **headers)
    labels = {"method": "GET", "route": "/health/live", "status": "200"}
    assert value(samples, "http_requests_total", **labels) == 1
