import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from fastapi import APIRouter, FastAPI

from app.core.features import Feature, collect_health_checks
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
