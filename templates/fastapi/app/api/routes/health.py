"""Liveness and readiness probes, outside the versioned API.

`/health/live` answers 200 while the process runs (restart it when it does not).
`/health/ready` answers 200 only when the database and every enabled feature's
dependencies answer (send it traffic only then), otherwise 503 with each check's state.

The probes are public, so `/health/ready` must stay cheap whoever calls it and how
often: one round of checks runs at a time (callers that arrive meanwhile share its
result) and its result is reused for HEALTH_CHECK_CACHE_SECONDS.
"""

import asyncio
import logging
import time
from typing import cast

from fastapi import FastAPI, Request, Response, status

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


class ReadinessProbe:
    """Runs the health checks, one round at a time, and remembers the last result."""

    def __init__(
        self, checks: dict[str, HealthCheck], *, timeout: float, cache_seconds: float
    ) -> None:
        self.checks = checks
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self.rounds = 0  # how many rounds of checks have run
        self._lock = asyncio.Lock()
        self._finished = -float("inf")
        self._states: dict[str, str] = {}

    async def states(self) -> dict[str, str]:
        """Each check's state: `ok`, `error` or `timeout`."""
        asked = time.monotonic()
        if asked - self._finished < self.cache_seconds:
            return self._states
        async with self._lock:
            # A round that ended after this call arrived answers it too.
            if self._finished >= asked or (
                time.monotonic() - self._finished < self.cache_seconds
            ):
                return self._states
            results = await asyncio.gather(
                *(
                    _run_check(name, check, self.timeout)
                    for name, check in self.checks.items()
                )
            )
            self.rounds += 1
            self._states = dict(zip(self.checks, results, strict=True))
            self._finished = time.monotonic()
            return self._states


async def live() -> Liveness:
    return Liveness()


async def ready(request: Request, response: Response) -> Readiness:
    probe = cast(ReadinessProbe, request.app.state.readiness)
    states = await probe.states()
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
