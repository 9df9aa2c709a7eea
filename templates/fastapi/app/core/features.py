"""How a feature plugs into the application.

Each enabled feature is a module `app/features/<name>.py` (or a package) that exposes

    feature = Feature(name="<name>", router=..., lifespan=..., health_checks={...})

and the generated `app/features/__init__.py` lists them in `FEATURES` (paxx-compose
writes it from `paxx.toml`). `create_app` mounts each router at the application root
(a router sets its own prefix, e.g. `f"{API_V1_PREFIX}/<name>"`), enters each lifespan
while the application runs (in list order; they exit in reverse order), and
`/health/ready` awaits each health check.
"""

from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI

# `lifespan(app)` returns an async context manager: set up before `yield`, tear down
# after. Decorate an async generator function with `contextlib.asynccontextmanager`.
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
# Returns when the dependency is usable; raises (any exception) when it is not.
HealthCheck = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Feature:
    """What a feature contributes to the application."""

    name: str
    router: APIRouter | None = None
    lifespan: Lifespan | None = None
    health_checks: dict[str, HealthCheck] = field(default_factory=dict)


def collect_health_checks(
    features: Iterable[Feature], base: dict[str, HealthCheck] | None = None
) -> dict[str, HealthCheck]:
    """Every health check by name; a name used twice is an error."""
    checks = dict(base or {})
    seen: set[str] = set()
    for feature in features:
        if feature.name in seen:
            raise ValueError(f"feature {feature.name!r} is listed twice")
        seen.add(feature.name)
        for name, check in feature.health_checks.items():
            if name in checks:
                raise ValueError(
                    f"feature {feature.name!r} declares health check {name!r}, "
                    "which is already taken"
                )
            checks[name] = check
    return checks
