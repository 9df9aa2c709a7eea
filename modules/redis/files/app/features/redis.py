"""Redis: one asyncio client per application, a typed JSON cache, a readiness probe.

Use them in a route through the typed dependencies:

    from app.features.redis import CacheDep, RedisDep

    @router.get("/prices/{sku}")
    async def get_price(sku: str, cache: CacheDep) -> Price:
        return await cache.get_or_set(f"price:{sku}", Price, lambda: load(sku), ttl=60)

    @router.post("/visits")
    async def count_visit(redis: RedisDep) -> int:
        return await redis.incr("visits")

Settings (environment or `.env`): `REDIS_URL`, `REDIS_CACHE_PREFIX`, `REDIS_CACHE_TTL`.
The client decodes replies to `str`. `/health/ready` checks Redis as `redis`.
"""

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import cache
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, FastAPI, Request
from pydantic import Field, TypeAdapter, ValidationError, field_validator
from pydantic_core import to_json
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from app.core.config import FeatureSettings, load_settings
from app.core.features import Feature, HealthCheck

logger = logging.getLogger(__name__)

T = TypeVar("T")

URL_SCHEMES = ("redis://", "rediss://", "unix://")
# Keys `Cache.clear` asks Redis for, and deletes, at a time.
_CLEAR_BATCH = 500


class RedisSettings(FeatureSettings):
    """The redis feature's settings."""

    # `redis://[[user]:password@]host:port/db`; `rediss://` for TLS.
    REDIS_URL: str = "redis://127.0.0.1:56379/0"
    # Every cache key starts with this, so that the cache can share a database.
    REDIS_CACHE_PREFIX: str = "cache:"
    # Seconds a cached value lives when `Cache.set` is not told otherwise.
    REDIS_CACHE_TTL: Annotated[int, Field(ge=1)] = 300

    @field_validator("REDIS_URL")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if not url.startswith(URL_SCHEMES):
            raise ValueError(f"must start with one of {', '.join(URL_SCHEMES)}")
        return url


@cache
def get_redis_settings() -> RedisSettings:
    """The process's redis settings, read once."""
    return load_settings(RedisSettings)


def create_client(settings: RedisSettings) -> Redis:
    """A client with its own connection pool, replies decoded to `str`. It connects on
    first use; close it with `await client.aclose()`."""
    client: Redis = Redis.from_url(settings.REDIS_URL, decode_responses=True)
    return client


_adapters: dict[Any, TypeAdapter[Any]] = {}


def _adapter(type_: type[T]) -> TypeAdapter[T]:
    adapter = _adapters.get(type_)
    if adapter is None:
        adapter = _adapters[type_] = TypeAdapter(type_)
    return adapter


def _milliseconds(ttl: float | timedelta) -> int:
    seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else ttl
    milliseconds = int(seconds * 1000)
    if milliseconds < 1:
        raise ValueError(f"a cache TTL must be at least 1 ms, not {ttl!r}")
    return milliseconds


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


class Cache:
    """JSON values in Redis under one key prefix, each with a time to live.

    Values go in through pydantic (models, dataclasses, dicts, lists, datetimes …) and
    come out validated as the type asked for:

        await cache.set("user:1", user, ttl=60)
        user = await cache.get("user:1", User)          # User | None
        ids = await cache.get("recent", list[int])

    A missing or expired key reads as `None`, and so does a stored value that no longer
    fits the type (the model changed since it was written): that value is dropped.
    `None` itself is therefore not worth caching.
    """

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "cache:",
        default_ttl: float | timedelta = 300,
    ) -> None:
        _milliseconds(default_ttl)
        self.client = client
        self.prefix = prefix
        self.default_ttl = default_ttl

    def key(self, key: str) -> str:
        """The Redis key that holds `key`."""
        return self.prefix + key

    async def get(self, key: str, type_: type[T]) -> T | None:
        raw = await self.client.get(self.key(key))
        if raw is None:
            return None
        try:
            return _adapter(type_).validate_json(raw)
        except ValidationError:
            logger.warning("Cached value %r does not fit %s; dropped", key, type_)
            await self.client.delete(self.key(key))
            return None

    async def set(
        self, key: str, value: object, ttl: float | timedelta | None = None
    ) -> None:
        """Stores `value` as JSON for `ttl` (seconds or a timedelta; default: the
        cache's `default_ttl`)."""
        milliseconds = _milliseconds(self.default_ttl if ttl is None else ttl)
        await self.client.set(self.key(key), to_json(value), px=milliseconds)

    async def delete(self, *keys: str) -> int:
        """Removes `keys`; returns how many existed."""
        if not keys:
            return 0
        return int(await self.client.delete(*(self.key(k) for k in keys)))

    async def get_or_set(
        self,
        key: str,
        type_: type[T],
        factory: Callable[[], Awaitable[T]],
        ttl: float | timedelta | None = None,
    ) -> T:
        """The cached value, or `await factory()` stored for next time."""
        found = await self.get(key, type_)
        if found is not None:
            return found
        value = await factory()
        await self.set(key, value, ttl)
        return value

    async def clear(self) -> int:
        """Removes every key under the prefix (with SCAN: Redis stays responsive);
        returns how many."""
        removed = 0
        batch: list[str] = []
        pattern = _glob_escape(self.prefix) + "*"
        async for key in self.client.scan_iter(match=pattern, count=_CLEAR_BATCH):
            batch.append(key)
            if len(batch) >= _CLEAR_BATCH:
                removed += int(await self.client.unlink(*batch))
                batch.clear()
        if batch:
            removed += int(await self.client.unlink(*batch))
        return removed


def get_redis(request: Request) -> Redis:
    """The application's client, opened by the feature's lifespan."""
    return cast(Redis, request.app.state.redis)


def get_cache(request: Request) -> Cache:
    """The application's cache, with the prefix and TTL from the settings."""
    return cast(Cache, request.app.state.cache)


RedisDep = Annotated[Redis, Depends(get_redis)]
CacheDep = Annotated[Cache, Depends(get_cache)]


def redis_check(client: Callable[[], Redis | None]) -> HealthCheck:
    """A readiness check that PINGs through the application's own client (`client()`
    returns it while the application runs): no connection of its own per probe. A
    connection Redis dropped (a restart) is replaced, and the PING tried once more."""

    async def check() -> None:
        redis = client()
        if redis is None:
            raise RuntimeError("The redis feature is not started.")
        try:
            await redis.ping()
        except RedisConnectionError:
            await redis.ping()

    return check


def create_feature(settings: RedisSettings | None = None) -> Feature:
    """The feature with `settings` (default: read from the environment when the
    application starts)."""
    running: dict[str, Redis] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        current = settings or get_redis_settings()
        client = create_client(current)
        app.state.redis = running["client"] = client
        app.state.cache = Cache(
            client,
            prefix=current.REDIS_CACHE_PREFIX,
            default_ttl=current.REDIS_CACHE_TTL,
        )
        try:
            yield
        finally:
            if running.get("client") is client:
                del running["client"]
            await client.aclose()

    return Feature(
        name="redis",
        lifespan=lifespan,
        health_checks={"redis": redis_check(lambda: running.get("client"))},
    )


feature = create_feature()
