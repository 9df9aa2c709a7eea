import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from fastapi import APIRouter, FastAPI, Request
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.events import Event, emit
from app.core.features import Feature, MiddlewareLayer, collect_health_checks
from app.core.logging import get_request_id
from tests.conftest import ClientFactory


async def healthy() -> None:
    return None


async def broken() -> None:
    raise ConnectionError("cache unreachable")


async def slow() -> None:
    await asyncio.sleep(3600)


def make_feature(name: str, events: list[str]) -> Feature:
    router = APIRouter(prefix=f"/api/v1/{name}")

    @router.get("/ping")
    async def ping() -> dict[str, str]:
        return {"feature": name}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        events.append(f"start {name}")
        app.state.started = [*getattr(app.state, "started", []), name]
        yield
        events.append(f"stop {name}")

    return Feature(
        name=name, router=router, lifespan=lifespan, health_checks={name: healthy}
    )


async def test_routers_lifespans_and_checks_are_wired(
    make_client: ClientFactory,
) -> None:
    events: list[str] = []
    features = [make_feature("alpha", events), make_feature("beta", events)]
    async with make_client(features) as client:
        assert events == ["start alpha", "start beta"]
        response = await client.get("/api/v1/beta/ping")
        assert response.json() == {"feature": "beta"}
        ready = await client.get("/health/ready")
        assert ready.json() == {
            "status": "ok",
            "checks": {"database": "ok", "alpha": "ok", "beta": "ok"},
        }
    assert events == ["start alpha", "start beta", "stop beta", "stop alpha"]


async def test_ready_names_the_failing_check(make_client: ClientFactory) -> None:
    features = [
        Feature(name="cache", health_checks={"cache": broken}),
        Feature(name="queue", health_checks={"queue": slow}),
    ]
    # Long enough for the real database check on a loaded machine; `slow` never ends.
    async with make_client(features, HEALTH_CHECK_TIMEOUT=5.0) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "cache": "error", "queue": "timeout"},
    }


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ValueError, match="listed twice"):
        collect_health_checks([Feature(name="a"), Feature(name="a")])
    with pytest.raises(ValueError, match="'database'"):
        collect_health_checks(
            [Feature(name="b", health_checks={"database": healthy})],
            {"database": healthy},
        )


class Tag:
    """A pure ASGI middleware that records `tag` on the way in and adds it to a
    response header on the way out (so the outermost tag ends up last)."""

    def __init__(self, app: ASGIApp, *, tag: str, seen: list[str]) -> None:
        self.app = app
        self.tag = tag
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.seen.append(f"{self.tag}:{get_request_id() is not None}")

        async def send_tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"x-layers", self.tag.encode()),
                ]
            await send(message)

        await self.app(scope, receive, send_tagged)


def layered(name: str, layer: MiddlewareLayer, seen: list[str]) -> Feature:
    def middleware(app: FastAPI) -> list[Middleware]:
        # Built once per application, with the application at hand.
        assert app.state.features
        return [
            Middleware(Tag, tag=f"{name}1", seen=seen),
            Middleware(Tag, tag=f"{name}2", seen=seen),
        ]

    return Feature(name=name, middleware=middleware, middleware_layer=layer)


async def test_middleware_is_installed_in_its_layer_in_feature_order(
    make_client: ClientFactory,
) -> None:
    seen: list[str] = []
    features = [
        layered("a", "inner", seen),
        layered("b", "outer", seen),
        layered("c", "inner", seen),
        layered("d", "outer", seen),
    ]
    async with make_client(features) as client:
        response = await client.get("/health/live")
    assert response.status_code == 200
    # In: outer features (no request id yet), then the template, then inner ones.
    assert seen == [
        "b1:False", "b2:False", "d1:False", "d2:False",
        "a1:True", "a2:True", "c1:True", "c2:True",
    ]  # fmt: skip
    # Out: innermost first; the template's own headers sit between the layers.
    layers = response.headers.get_list("x-layers")
    assert layers == ["c2", "c1", "a2", "a1", "d2", "d1", "b2", "b1"]
    raw = [(name.decode(), value.decode()) for name, value in response.headers.raw]
    request_id = raw.index(("x-request-id", response.headers["x-request-id"]))
    assert raw.index(("x-layers", "a1")) < request_id < raw.index(("x-layers", "d2"))


async def test_outer_middleware_sees_the_templates_refusals(
    make_client: ClientFactory,
) -> None:
    seen: list[str] = []
    features = [layered("o", "outer", seen), layered("i", "inner", seen)]
    async with make_client(features, TRUSTED_HOSTS=["api.example.com"]) as client:
        response = await client.get("/health/live")  # host: testserver
    assert response.status_code == 400
    assert seen == ["o1:False", "o2:False"]
    assert response.headers.get_list("x-layers") == ["o2", "o1"]


async def test_events_reach_every_listener_even_after_one_fails(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    heard: list[tuple[str, Event]] = []

    async def first(event: Event) -> None:
        heard.append(("first", event))
        raise RuntimeError("listener broken")

    async def second(event: Event) -> None:
        heard.append(("second", event))

    router = APIRouter()

    @router.post("/api/v1/things")
    async def make_thing(request: Request) -> dict[str, str]:
        await emit(request.app, Event("things.create", actor="user:1", data={"n": 1}))
        return {"ok": "yes"}

    features = [
        Feature(name="things", router=router, event_listeners=[first]),
        Feature(name="listener", event_listeners=[second]),
    ]
    async with make_client(features) as client:
        response = await client.post(
            "/api/v1/things", headers={"X-Request-ID": "req-42"}
        )
    assert response.status_code == 200
    assert [who for who, _ in heard] == ["first", "second"]
    event = heard[1][1]
    assert (event.action, event.actor, event.request_id) == (
        "things.create",
        "user:1",
        "req-42",
    )
    assert event.data == {"n": 1}
    assert "listener broken" in caplog.text
    assert "things.create" in caplog.text
