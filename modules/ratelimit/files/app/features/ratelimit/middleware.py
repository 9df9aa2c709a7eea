"""The rate limit middleware, plain ASGI: one Redis round trip per request.

It sits in the inner layer (after the request id, host and body checks), counts each
HTTP request under its client address (`client_ip.py`) and the route's policy, and
either passes it on or answers 429. The principal check (`Policies.check_principal`,
run when the auth feature authenticates a request) counts the principal as well and
leaves its decision in the request's state; the response gets the headers of the
decision closest to refusal.
"""

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from math import ceil

from fastapi import HTTPException, Request
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import error_response
from app.core.principal import Principal
from app.features.ratelimit.client_ip import ClientAddress
from app.features.ratelimit.config import Rate, RouteRate
from app.features.ratelimit.limiter import Decision, Limiter

logger = logging.getLogger(__name__)

# Where a request's decisions wait for the response (`scope["state"]`).
STATE_KEY = "ratelimit"
# Seconds between two ERROR lines while Redis stays unreachable.
ERROR_LOG_INTERVAL = 60.0
# What a client is told to wait when the limiter cannot decide and fails closed.
UNAVAILABLE_RETRY_AFTER = "5"


@dataclass(frozen=True)
class _Route:
    method: str
    regex: re.Pattern[str]
    name: str
    rate: Rate


def _route_path(scope: Scope) -> str:
    """The path the router matches: without the root path (as Starlette's router)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("/", ""):
        return path[len(root) :]
    return path


class RedisUnavailable(Exception):
    """Redis could not be asked and the limiter fails closed."""


class Policies:
    """Which rate applies to a request, and the counting itself."""

    def __init__(
        self,
        limiter: Limiter,
        *,
        default: Rate,
        principal: Rate,
        routes: Sequence[RouteRate],
        fail_open: bool,
    ) -> None:
        self.limiter = limiter
        self.default = default
        self.principal = principal
        self.routes = [_Route(r.method, r.regex(), r.name, r.rate) for r in routes]
        self.fail_open = fail_open
        self._failures = 0
        self._logged_at = float("-inf")

    def route_of(self, scope: Scope) -> _Route | None:
        """The route policy the request falls under, if any (HEAD counts as GET)."""
        method = scope["method"]
        method = "GET" if method == "HEAD" else method
        path = _route_path(scope)
        for route in self.routes:
            if route.method in ("*", method) and route.regex.fullmatch(path):
                return route
        return None

    async def hit(self, key: str, rate: Rate) -> Decision | None:
        """The decision, or None when Redis cannot be asked and the limiter fails
        open; raises `RedisUnavailable` when it fails closed."""
        try:
            return await self.limiter.hit(key, rate)
        except (RedisError, OSError) as exc:
            self._report(exc)
            if self.fail_open:
                return None
            raise RedisUnavailable from exc

    def _report(self, exc: BaseException) -> None:
        # At most one line a minute: a Redis outage must not flood the logs.
        self._failures += 1
        now = time.monotonic()
        if now - self._logged_at >= ERROR_LOG_INTERVAL:
            logger.error(
                "Rate limits cannot be checked, Redis is unreachable (%s: %s); "
                "requests are %s (%d failed since the last report)",
                type(exc).__name__,
                exc,
                "let through" if self.fail_open else "refused with 503",
                self._failures,
            )
            self._logged_at = now
            self._failures = 0

    async def check_principal(self, request: Request, principal: Principal) -> None:
        """The principal check: counts `principal` under the route's policy (or
        RATELIMIT_PRINCIPAL); raises 429 when over it. Only where the middleware
        counted the request (not on exempt paths, not with the feature off)."""
        state = request.scope.get("state", {}).get(STATE_KEY)
        if not isinstance(state, _RequestState) or state.policies is not self:
            return
        route = state.route
        rate = route.rate if route is not None else self.principal
        name = route.name if route is not None else "principal"
        try:
            decision = await self.hit(f"{name}:principal:{principal.id}", rate)
        except RedisUnavailable:
            raise HTTPException(
                503,
                "Rate limits cannot be checked right now; try again shortly.",
                headers={"Retry-After": UNAVAILABLE_RETRY_AFTER},
            ) from None
        if decision is None:
            return
        state.decisions.append(decision)
        if not decision.allowed:
            # The middleware adds the headers (of this decision) to the response.
            raise HTTPException(429, _message(decision))


def _message(decision: Decision) -> str:
    return (
        f"Too many requests: at most {decision.rate.limit} per "
        f"{decision.rate.period:g} seconds. Try again in "
        f"{max(1, ceil(decision.retry_after))} seconds."
    )


@dataclass
class _RequestState:
    policies: Policies
    route: _Route | None
    decisions: list[Decision]

    def closest_to_refusal(self) -> Decision | None:
        if not self.decisions:
            return None
        refused = [d for d in self.decisions if not d.allowed]
        if refused:
            return max(refused, key=lambda d: d.retry_after)
        return min(self.decisions, key=lambda d: (d.remaining, -d.reset))


class RateLimitMiddleware:
    """Counts every HTTP request outside `exempt_paths` under its client address."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        policies: Policies,
        clients: ClientAddress,
        exempt_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.policies = policies
        self.clients = clients
        self.exempt_paths = exempt_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _route_path(scope) in self.exempt_paths:
            await self.app(scope, receive, send)
            return

        policies = self.policies
        route = policies.route_of(scope)
        name = route.name if route is not None else "default"
        rate = route.rate if route is not None else policies.default
        try:
            decision = await policies.hit(f"{name}:{self.clients.key(scope)}", rate)
        except RedisUnavailable:
            response = error_response(
                503,
                "Rate limits cannot be checked right now; try again shortly.",
                headers={"Retry-After": UNAVAILABLE_RETRY_AFTER},
            )
            await response(scope, receive, send)
            return
        if decision is not None and not decision.allowed:
            refused = error_response(429, _message(decision))
            refused.raw_headers.extend(decision.headers())
            await refused(scope, receive, send)
            return

        state = _RequestState(policies, route, [d for d in (decision,) if d])
        scope.setdefault("state", {})[STATE_KEY] = state

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                chosen = state.closest_to_refusal()
                if chosen is not None:
                    message["headers"] = [
                        *message.get("headers", ()),
                        *chosen.headers(),
                    ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
