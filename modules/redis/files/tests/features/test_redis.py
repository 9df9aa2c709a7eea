"""The redis feature against the real Redis at REDIS_URL (`paxx-compose up` starts it).

Each test writes under a key prefix of its own and removes what it wrote: the database
may be shared with a development server, other features' tests and a running worker.
"""

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import APIRouter
from pydantic import BaseModel, ValidationError
from redis.asyncio import Redis

from app.core.features import Feature
from app.features import FEATURES
from app.features import redis as redis_feature
from app.features.redis import (
    Cache,
    CacheDep,
    RedisDep,
    RedisSettings,
    create_client,
    get_redis_settings,
)
from tests.conftest import ClientFactory


class Point(BaseModel):
    x: int
    y: int


def unique_prefix() -> str:
    return f"test:{uuid.uuid4().hex}:"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
async def redis_client() -> AsyncIterator[Redis]:
    client = create_client(get_redis_settings())
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def cache(redis_client: Redis) -> AsyncIterator[Cache]:
    cache = Cache(redis_client, prefix=unique_prefix(), default_ttl=60)
    try:
        yield cache
    finally:
        await cache.clear()


def test_the_feature_is_enabled() -> None:
    assert redis_feature.feature in FEATURES


async def test_a_model_round_trips_as_json(cache: Cache, redis_client: Redis) -> None:
    await cache.set("point", Point(x=1, y=2))
    assert await cache.get("point", Point) == Point(x=1, y=2)
    assert await redis_client.get(cache.key("point")) == '{"x":1,"y":2}'


async def test_containers_come_back_typed(cache: Cache) -> None:
    await cache.set("points", [Point(x=1, y=2), Point(x=3, y=4)])
    await cache.set("counts", {"a": 1})
    assert await cache.get("points", list[Point]) == [Point(x=1, y=2), Point(x=3, y=4)]
    assert await cache.get("counts", dict[str, int]) == {"a": 1}


async def test_a_missing_key_reads_as_none(cache: Cache) -> None:
    assert await cache.get("nothing", Point) is None


async def test_values_get_the_default_or_the_given_ttl(
    cache: Cache, redis_client: Redis
) -> None:
    await cache.set("default", 1)
    await cache.set("seconds", 1, ttl=5)
    await cache.set("delta", 1, ttl=timedelta(minutes=2))
    assert 59_000 < await redis_client.pttl(cache.key("default")) <= 60_000
    assert 4_000 < await redis_client.pttl(cache.key("seconds")) <= 5_000
    assert 119_000 < await redis_client.pttl(cache.key("delta")) <= 120_000


async def test_a_value_expires(cache: Cache) -> None:
    await cache.set("brief", 1, ttl=timedelta(milliseconds=50))
    await asyncio.sleep(0.2)
    assert await cache.get("brief", int) is None


async def test_a_ttl_below_a_millisecond_is_refused(
    cache: Cache, redis_client: Redis
) -> None:
    with pytest.raises(ValueError, match="at least 1 ms"):
        await cache.set("never", 1, ttl=0)
    with pytest.raises(ValueError, match="at least 1 ms"):
        Cache(redis_client, default_ttl=-1)
    assert await cache.get("never", int) is None


async def test_a_value_that_no_longer_fits_is_a_miss_and_dropped(
    cache: Cache, redis_client: Redis
) -> None:
    await cache.set("point", {"x": "not a number"})
    assert await cache.get("point", Point) is None
    assert await redis_client.exists(cache.key("point")) == 0


async def test_delete_says_how_many_existed(cache: Cache) -> None:
    await cache.set("a", 1)
    await cache.set("b", 2)
    assert await cache.delete("a", "b", "c") == 2
    assert await cache.delete() == 0
    assert await cache.get("a", int) is None


async def test_get_or_set_calls_the_factory_once(cache: Cache) -> None:
    calls = 0

    async def load() -> Point:
        nonlocal calls
        calls += 1
        return Point(x=calls, y=0)

    first = await cache.get_or_set("lazy", Point, load)
    second = await cache.get_or_set("lazy", Point, load)
    assert first == second == Point(x=1, y=0)
    assert calls == 1


async def test_clear_takes_only_its_own_prefix(redis_client: Redis) -> None:
    base = unique_prefix()
    # Glob characters in a prefix are matched literally.
    mine = Cache(redis_client, prefix=f"{base}[a]*?:")
    other = Cache(redis_client, prefix=f"{base}a:")
    try:
        for index in range(1200):  # more than one SCAN/UNLINK batch
            await mine.set(str(index), index)
        await other.set("kept", 1)
        assert await mine.clear() == 1200
        assert await mine.get("0", int) is None
        assert await other.get("kept", int) == 1
    finally:
        await mine.clear()
        await other.clear()


async def test_routes_reach_the_client_and_cache(
    make_client: ClientFactory, redis_client: Redis
) -> None:
    router = APIRouter(prefix="/test-redis")

    @router.put("/{key}", status_code=204)
    async def put_point(key: str, point: Point, cache: CacheDep) -> None:
        await cache.set(key, point)

    @router.get("/{key}")
    async def get_point(key: str, cache: CacheDep, redis: RedisDep) -> dict[str, Any]:
        return {
            "point": await cache.get(key, Point),
            "ttl": await redis.pttl(cache.key(key)),
        }

    prefix = unique_prefix()
    settings = RedisSettings(REDIS_CACHE_PREFIX=prefix, REDIS_CACHE_TTL=30)
    features = [
        redis_feature.create_feature(settings),
        Feature(name="redis_test_routes", router=router),
    ]
    try:
        async with make_client(features) as client:
            put = await client.put("/test-redis/p", json={"x": 5, "y": 6})
            got = await client.get("/test-redis/p")
        assert put.status_code == 204
        assert got.status_code == 200
        assert got.json()["point"] == {"x": 5, "y": 6}
        assert 29_000 < got.json()["ttl"] <= 30_000
        assert await redis_client.exists(f"{prefix}p") == 1
    finally:
        await Cache(redis_client, prefix=prefix).clear()


async def test_ready_checks_redis(make_client: ClientFactory) -> None:
    async with make_client([redis_feature.feature]) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok"},
    }


async def test_ready_is_503_when_redis_is_down(make_client: ClientFactory) -> None:
    down = RedisSettings(REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0")
    async with make_client([redis_feature.create_feature(down)]) as client:
        live = await client.get("/health/live")
        ready = await client.get("/health/ready")
    assert live.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": "ok", "redis": "error"}


async def test_probes_reuse_the_applications_client(
    make_client: ClientFactory, redis_client: Redis
) -> None:
    """`/health/ready` is public: 200 probes at once, and 20 more one after another
    with no cached answer, cost Redis a connection or two, not one per probe."""

    async def connections_made() -> int:
        stats = await redis_client.info("stats")
        return int(stats["total_connections_received"])

    await redis_client.ping()
    before = await connections_made()
    feature = redis_feature.create_feature()
    async with make_client([feature], HEALTH_CHECK_CACHE_SECONDS=0) as client:
        answers = await asyncio.gather(
            *(client.get("/health/ready") for _ in range(200))
        )
        for _ in range(20):
            answers.append(await client.get("/health/ready"))
    made = await connections_made() - before
    assert {answer.status_code for answer in answers} == {200}
    # Other clients (a worker, other tests) may connect meanwhile: a little slack.
    assert made <= 5, f"{made} Redis connections for 220 readiness probes"


def test_settings_refuse_an_unknown_scheme() -> None:
    with pytest.raises(ValidationError, match="must start with one of"):
        RedisSettings(REDIS_URL="http://127.0.0.1:6379/0")
