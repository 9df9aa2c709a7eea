"""Liveness and readiness probes, outside the versioned API.

`/health/live` answers 200 while the process runs (restart it when it does not).
`/health/ready` answers 200 only when the database and every enabled feature's
dependencies answer (send it traffic only then), otherwise 503 with each check's state.
"""

import asyncio
import logging
from typing import cast

from fastapi import FastAPI, Request, Response, status

from app.api.deps import SettingsDep
from app.core.features import HealthCheck
from app.schemas.health import Liveness, Readiness

logger = logging.getLogger(__name__)


async def _run_check(name: str, check: HealthCheck, timeout: float) -> str:
    try:
        await asyncio.wait_for(check(), timeout)
    except TimeoutError:
        logger.warning("Readiness check %r timed out after %ss", name, timeout)
        return "timeout"
    except Exception:
        logger.warning("Readiness check %r failed", name, exc_info=True)
        return "error"
    return "ok"


async def live() -> Liveness:
    return Liveness()


async def ready(
    request: Request, response: Response, settings: SettingsDep
) -> Readiness:
    checks = cast(dict[str, HealthCheck], request.app.state.health_checks)
    results = await asyncio.gather(
        *(
            _run_check(name, check, settings.HEALTH_CHECK_TIMEOUT)
            for name, check in checks.items()
        )
    )
    states = dict(zip(checks, results, strict=True))
    response.headers["Cache-Control"] = "no-store"
    if all(state == "ok" for state in states.values()):
        return Readiness(status="ok", checks=states)
    response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Readiness(status="unavailable", checks=states)


def add_routes(app: FastAPI) -> None:
    """Add the probes to the application itself rather than through an included
    router: probes are called often, and an included router costs a little on each
    request."""
    app.add_api_route("/health/live", live, methods=["GET"], tags=["health"])
    app.add_api_route(
        "/health/ready",
        ready,
        methods=["GET"],
        tags=["health"],
        responses={status.HTTP_503_SERVICE_UNAVAILABLE: {"model": Readiness}},
    )
