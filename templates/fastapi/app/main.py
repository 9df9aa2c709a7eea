"""The application factory. Run it with `uvicorn app.main:app`."""

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from app.api.main import API_ROUTERS
from app.api.routes import health
from app.core.config import API_V1_PREFIX, Settings, get_settings
from app.core.db import Database
from app.core.errors import install_error_handlers
from app.core.events import install_event_listeners
from app.core.features import Feature, collect_health_checks, collect_middleware
from app.core.logging import configure_logging
from app.core.middleware import RequestContextMiddleware
from app.core.openapi import install_openapi, operation_id
from app.core.principal import install_principal_seam
from app.features import FEATURES

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None, features: Sequence[Feature] | None = None
) -> FastAPI:
    """Build the application from `settings` (default: the environment) and
    `features` (default: the enabled ones, `app.features.FEATURES`)."""
    settings = settings or get_settings()
    features = list(FEATURES if features is None else features)
    configure_logging(settings.LOG_LEVEL, json_format=settings.LOG_JSON)
    if settings.secret_key_is_temporary:
        logger.warning(
            "SECRET_KEY is not set: this process signs with a random key of its own, "
            "so what it signed stops working when it restarts. `paxx-compose init` "
            "writes a key to .env"
        )
    database = Database.from_settings(settings)
    health_checks = collect_health_checks(features, {"database": database.check})

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            stack.push_async_callback(database.dispose)
            for feature in features:
                if feature.lifespan is not None:
                    await stack.enter_async_context(feature.lifespan(app))
            yield

    docs = settings.docs_enabled
    app = FastAPI(
        title=settings.PROJECT_NAME,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.health_checks = health_checks
    app.state.readiness = health.ReadinessProbe(
        health_checks,
        timeout=settings.HEALTH_CHECK_TIMEOUT,
        cache_seconds=settings.HEALTH_CHECK_CACHE_SECONDS,
    )
    app.state.features = features
    install_event_listeners(
        app, [listener for feature in features for listener in feature.event_listeners]
    )
    install_principal_seam(
        app,
        [(f.name, f.authenticator) for f in features if f.authenticator is not None],
        [check for feature in features for check in feature.principal_checks],
    )

    install_error_handlers(app)
    install_openapi(app)
    health.add_routes(app)
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_V1_PREFIX)
    for feature in features:
        if feature.router is not None:
            app.include_router(feature.router)

    # Each middleware added wraps the ones before: the last added runs first. The
    # layers are described in app/core/features.py.
    for middleware in reversed(collect_middleware(app, features, "inner")):
        app.add_middleware(middleware.cls, *middleware.args, **middleware.kwargs)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_size=settings.MAX_REQUEST_BODY_SIZE,
        hsts=settings.is_production,
        trusted_hosts=settings.TRUSTED_HOSTS,
        public_base_url=settings.PUBLIC_BASE_URL,
        cors_origins=settings.CORS_ORIGINS,
        cors_allow_credentials=settings.CORS_ALLOW_CREDENTIALS,
    )
    for middleware in reversed(collect_middleware(app, features, "outer")):
        app.add_middleware(middleware.cls, *middleware.args, **middleware.kwargs)
    return app


app = create_app()
