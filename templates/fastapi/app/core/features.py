"""How a feature plugs into the application.

Each enabled feature is a module `app/features/<name>.py` (or a package) that exposes

    feature = Feature(name="<name>", router=..., lifespan=..., health_checks={...},
                      middleware=..., middleware_layer="inner", event_listeners=[...],
                      authenticator=..., principal_checks=[...])

and the generated `app/features/__init__.py` lists them in `FEATURES` (paxx-compose
writes it from `paxx.toml`). `create_app` mounts each router at the application root
(a router sets its own prefix, e.g. `f"{API_V1_PREFIX}/<name>"`), enters each lifespan
while the application runs (in list order; they exit in reverse order),
`/health/ready` awaits each health check, `app.core.events.emit` passes every
event to each listener, and `app.core.principal.authenticate` asks the one
authenticator and runs every principal check.

Middleware. `create_app` calls each feature's `middleware(app)` once, after every
router is mounted and `app.state` is set, and installs what it returns (outermost
first) in one of two layers of the stack, from the outside in:

    "outer" features' middleware      sees every request: the template's refusals
                                      (400 host, 413 body) and its JSON 500s too
    request context (app/core/middleware.py: request id, security headers,
    CORS, trusted host, public URL, body size limit, JSON 500)
                                      the template's own
    "inner" features' middleware      sees only requests the application will route,
                                      with a request id and errors answered as JSON
    the routes

Within a layer the features keep their `FEATURES` order: the first one's middleware
is the outermost. Middleware is built before the server starts, so it works under
servers that send no lifespan events.

Tables. A feature with tables keeps its models in its package
(`app/features/<name>/models.py`, subclassing `app.models.Base`, imported by the
package; table names prefixed with the feature's name, no foreign key to another
feature's table) and its Alembic revisions on a branch of its own:
`migrations/versions/<name>_<nnnn>_<slug>.py`, revision ids `"<name>_<nnnn>"`, the
first with `down_revision = None` and `branch_labels = ("<name>",)`. The project's own
revisions are the branch `app`. `alembic upgrade heads` applies every branch;
`alembic downgrade <name>@base` drops that feature's tables alone; removing a feature
never drops them. `tests/test_migrations.py` checks all of this for the enabled
features.
"""

from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Literal

from fastapi import APIRouter, FastAPI
from starlette.middleware import Middleware

from app.core.events import EventListener
from app.core.principal import Authenticator, PrincipalCheck

# `lifespan(app)` returns an async context manager: set up before `yield`, tear down
# after. Decorate an async generator function with `contextlib.asynccontextmanager`.
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
# Returns when the dependency is usable; raises (any exception) when it is not.
HealthCheck = Callable[[], Awaitable[None]]
# Called once with the application being built; returns its middleware, outermost first
# (an empty list to install none, e.g. when the feature is switched off by a setting).
MiddlewareFactory = Callable[[FastAPI], Sequence[Middleware]]
MiddlewareLayer = Literal["outer", "inner"]


@dataclass(frozen=True)
class Feature:
    """What a feature contributes to the application."""

    name: str
    router: APIRouter | None = None
    lifespan: Lifespan | None = None
    health_checks: dict[str, HealthCheck] = field(default_factory=dict)
    middleware: MiddlewareFactory | None = None
    middleware_layer: MiddlewareLayer = "inner"
    event_listeners: Sequence[EventListener] = ()
    # Who is asking (app/core/principal.py): at most one feature authenticates.
    authenticator: Authenticator | None = None
    principal_checks: Sequence[PrincipalCheck] = ()


def collect_middleware(
    app: FastAPI, features: Iterable[Feature], layer: MiddlewareLayer
) -> list[Middleware]:
    """The middleware of `layer`, outermost first, built for `app`."""
    return [
        middleware
        for feature in features
        if feature.middleware is not None and feature.middleware_layer == layer
        for middleware in feature.middleware(app)
    ]


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
