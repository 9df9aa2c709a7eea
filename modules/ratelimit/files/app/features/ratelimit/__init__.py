"""Rate limits in Redis: per client address on every route, per authenticated
principal (user, API key) wherever the auth feature finds one, and per route.

- `config.py`: the `RATELIMIT_*` settings (rates such as `600/minute`);
- `limiter.py`: the GCRA in one Lua script, atomic in Redis;
- `client_ip.py`: the client's address, from proxy headers only behind a trusted proxy;
- `middleware.py`: the ASGI middleware and the principal check;
- `openapi.py`: the 429 and the `RateLimit-*` headers in the OpenAPI document.

A refused request gets a 429 in the one error format, with `Retry-After`; every
counted response carries `RateLimit-Limit`, `RateLimit-Remaining`,
`RateLimit-Reset` and `RateLimit-Policy`.
"""

import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import fastapi.routing
from fastapi import FastAPI, Request
from starlette.middleware import Middleware

from app.core.config import load_settings
from app.core.features import Feature
from app.core.principal import Principal
from app.features.ratelimit.client_ip import ClientAddress
from app.features.ratelimit.config import (
    Rate,
    RateLimitSettings,
    RouteRate,
    get_ratelimit_settings,
)
from app.features.ratelimit.limiter import Decision, Limiter, create_client
from app.features.ratelimit.middleware import Policies, RateLimitMiddleware
from app.features.ratelimit.openapi import install_openapi_limits
from app.features.redis import RedisSettings, get_redis_settings

__all__ = [
    "ClientAddress",
    "Decision",
    "Limiter",
    "Rate",
    "RateLimitMiddleware",
    "RateLimitSettings",
    "RouteRate",
    "create_feature",
    "feature",
    "get_ratelimit_settings",
]

logger = logging.getLogger(__name__)

# Shipped for the auth feature's login and token routes; no warning when they match
# no route (auth is optional).
SHIPPED_ROUTES = frozenset({"POST /api/v1/auth/login", "POST /api/v1/auth/token"})


def _route_paths(app: FastAPI) -> set[tuple[str, str]]:
    """(method, template) of every route, included routers' too (FastAPI 0.137.2+
    keeps those apart from `app.routes`, and lists them with `iter_route_contexts`)."""
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    routes: Iterable[Any] = iterate(app.routes) if iterate else app.routes
    paths = set()
    for route in routes:
        template = getattr(route, "path_format", None)
        if isinstance(template, str):
            for method in getattr(route, "methods", None) or ():
                paths.add((str(method), template))
    return paths


def _warn_unknown_routes(app: FastAPI, routes: Sequence[RouteRate]) -> None:
    known = _route_paths(app)
    for route in routes:
        if route.name in SHIPPED_ROUTES:
            continue
        if not any(
            template == route.template and route.method in ("*", method)
            for method, template in known
        ):
            logger.warning(
                "RATELIMIT_ROUTES: %s matches no route of the application; its rate "
                "applies to nothing",
                route.name,
            )


def create_feature(
    settings: RateLimitSettings | None = None, redis: RedisSettings | None = None
) -> Feature:
    """The feature with `settings` and `redis` (default: read from the environment
    each time an application is built)."""

    def middleware(app: FastAPI) -> list[Middleware]:
        # Read again for each application built: a test may change the environment
        # (another feature's tests: `RATELIMIT_TEST_MULTIPLIER=1` to meet the limits).
        current = settings or load_settings(RateLimitSettings)
        if not current.RATELIMIT_ENABLED:
            return []
        multiplier = 1
        app_settings = getattr(app.state, "settings", None)
        if getattr(app_settings, "ENVIRONMENT", None) == "test":
            multiplier = current.RATELIMIT_TEST_MULTIPLIER
        client = create_client(
            (redis or get_redis_settings()).REDIS_URL, current.RATELIMIT_REDIS_TIMEOUT
        )
        policies = Policies(
            Limiter(client, current.RATELIMIT_KEY_PREFIX),
            default=current.RATELIMIT_DEFAULT.scaled(multiplier),
            principal=current.RATELIMIT_PRINCIPAL.scaled(multiplier),
            routes=[
                RouteRate(r.method, r.template, r.rate.scaled(multiplier))
                for r in current.RATELIMIT_ROUTES
            ],
            fail_open=current.RATELIMIT_FAIL_OPEN,
        )
        app.state.ratelimit = policies
        _warn_unknown_routes(app, current.RATELIMIT_ROUTES)
        exempt = frozenset(current.RATELIMIT_EXEMPT_PATHS)
        install_openapi_limits(app, exempt, current.RATELIMIT_FAIL_OPEN)
        clients = ClientAddress(
            current.RATELIMIT_TRUSTED_PROXIES,
            current.RATELIMIT_PROXY_HEADER,
            current.RATELIMIT_IPV6_PREFIX,
        )
        return [
            Middleware(
                RateLimitMiddleware,
                policies=policies,
                clients=clients,
                exempt_paths=exempt,
            )
        ]

    async def check_principal(request: Request, principal: Principal) -> None:
        policies = getattr(request.app.state, "ratelimit", None)
        if isinstance(policies, Policies):
            await policies.check_principal(request, principal)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            policies = getattr(app.state, "ratelimit", None)
            if isinstance(policies, Policies):
                await policies.limiter.client.aclose()

    return Feature(
        name="ratelimit",
        middleware=middleware,
        middleware_layer="inner",
        lifespan=lifespan,
        principal_checks=[check_principal],
    )


feature = create_feature()
