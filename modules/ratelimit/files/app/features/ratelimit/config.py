"""The ratelimit feature's settings (`RATELIMIT_*`), and the forms they are written in.

A rate is `<requests>/<period>`: `600/minute`, `10/hour`, `5/30s`, `100/1.5m` (units:
s, m, h, d, or second, minute, hour, day). A route's own rate is
`<METHOD> <route template>=<rate>`, `POST /api/v1/auth/login=10/minute`; `*` for the
method matches any. The Redis server is the redis feature's `REDIS_URL`.
"""

import ipaddress
import re
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode
from starlette.routing import compile_path

from app.core.config import Environment, FeatureSettings, load_settings, split_list

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
}
_RATE = re.compile(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*([a-z]+)\s*", re.IGNORECASE)
_METHODS = frozenset(
    {"*", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"}
)
# Every address: what `*` in RATELIMIT_TRUSTED_PROXIES stands for.
_EVERYWHERE = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
# A client without a socket address (a Unix socket) is a trusted proxy when listed so.
UNIX = "unix"


@dataclass(frozen=True)
class Rate:
    """At most `limit` requests per `period` seconds: a burst of `limit`, then one
    request every `period / limit` seconds (GCRA)."""

    limit: int
    period: float

    def __str__(self) -> str:
        return f"{self.limit}/{self.period:g}s"

    def scaled(self, factor: int) -> "Rate":
        return Rate(self.limit * factor, self.period)


def parse_rate(text: str) -> Rate:
    """`600/minute` -> Rate(600, 60.0); raises ValueError on anything else."""
    match = _RATE.fullmatch(text)
    unit = _UNITS.get(match.group(3).lower()) if match else None
    if match is None or unit is None:
        raise ValueError(
            f"rate {text!r} must look like `600/minute`, `10/hour` or `5/30s`"
        )
    limit = int(match.group(1))
    period = float(match.group(2) or 1) * unit
    if limit < 1 or period <= 0:
        raise ValueError(f"rate {text!r} must allow at least 1 request per period")
    return Rate(limit, period)


@dataclass(frozen=True)
class RouteRate:
    """A route's own rate: `method` (`*`: any) and the route `template`."""

    method: str
    template: str
    rate: Rate

    @property
    def name(self) -> str:
        """The policy's name in Redis keys and logs: `POST /api/v1/auth/login`."""
        return f"{self.method} {self.template}"

    def regex(self) -> re.Pattern[str]:
        """Matches the paths the router sends to this template (Starlette's own
        compilation: `{item_id}`, `{key:path}` ...)."""
        return compile_path(self.template)[0]


def parse_route_rate(text: str) -> RouteRate:
    """`POST /api/v1/auth/login=10/minute` -> RouteRate."""
    route, equals, rate = text.rpartition("=")
    method, _, template = route.strip().partition(" ")
    method, template = method.upper(), template.strip()
    if not equals or method not in _METHODS or not template.startswith("/"):
        raise ValueError(
            f"route rate {text!r} must look like `POST /api/v1/auth/login=10/minute` "
            "(a method or `*`, a route template, `=`, a rate)"
        )
    return RouteRate(method, template, parse_rate(rate))


def parse_proxy(text: str) -> IPNetwork | str:
    """An address or network (`10.0.0.0/8`), or `unix`."""
    if text.lower() == UNIX:
        return UNIX
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(
            f"trusted proxy {text!r} is not an address, a network (`10.0.0.0/8`), "
            "`unix` or `*`"
        ) from None


class RateLimitSettings(FeatureSettings):
    """Read once when the application is built."""

    # false: no limits, no headers, nothing asked of Redis.
    RATELIMIT_ENABLED: bool = True
    # Every client address, on every route without a rate of its own.
    RATELIMIT_DEFAULT: Annotated[Rate, NoDecode] = Rate(600, 60.0)
    # Every authenticated principal (user, API key), on every route without a rate of
    # its own; applies when the auth feature authenticates the request.
    RATELIMIT_PRINCIPAL: Annotated[Rate, NoDecode] = Rate(1200, 60.0)
    # Rates of single routes, counted for each client address and each principal
    # apart from the defaults: `METHOD /route/template=rate`, comma separated.
    RATELIMIT_ROUTES: Annotated[list[RouteRate], NoDecode] = [
        RouteRate("POST", "/api/v1/auth/login", Rate(10, 60.0)),
        RouteRate("POST", "/api/v1/auth/token", Rate(10, 60.0)),
    ]
    # Paths never limited (exact match): the orchestrator's probes, the scrape.
    RATELIMIT_EXEMPT_PATHS: Annotated[list[str], NoDecode] = [
        "/health/live",
        "/health/ready",
        "/metrics",
    ]
    # Proxies whose client address header is believed: addresses and networks, `unix`
    # for a Unix socket. Empty: the socket's peer is the client, whatever it sends.
    RATELIMIT_TRUSTED_PROXIES: Annotated[list[IPNetwork | str], NoDecode] = []
    # The header those proxies set: `X-Forwarded-For` or `Forwarded` (RFC 7239).
    # Only this one is read: a client could send the other through the proxy.
    RATELIMIT_PROXY_HEADER: Literal["X-Forwarded-For", "Forwarded"] = "X-Forwarded-For"
    # IPv6 clients are counted by network of this size: one host holds a /64.
    RATELIMIT_IPV6_PREFIX: Annotated[int, Field(ge=32, le=128)] = 64
    # When Redis cannot be asked: true lets requests through (and logs an ERROR),
    # false refuses them with 503.
    RATELIMIT_FAIL_OPEN: bool = True
    # Seconds to wait for Redis on a request before counting it as down.
    RATELIMIT_REDIS_TIMEOUT: Annotated[float, Field(gt=0)] = 1.0
    # Every key the feature writes starts with it.
    RATELIMIT_KEY_PREFIX: Annotated[str, Field(min_length=1)] = "ratelimit:"
    # With ENVIRONMENT=test the rates are multiplied by this: a test suite sends
    # hundreds of requests from one address. 1: the rates as they are.
    RATELIMIT_TEST_MULTIPLIER: Annotated[int, Field(ge=1)] = 1000

    # Read from the same variable as the base settings, for the checks below.
    ENVIRONMENT: Environment = "local"

    @field_validator("RATELIMIT_DEFAULT", "RATELIMIT_PRINCIPAL", mode="before")
    @classmethod
    def _parse_rate(cls, value: Any) -> Any:
        return parse_rate(value) if isinstance(value, str) else value

    @field_validator("RATELIMIT_ROUTES", mode="before")
    @classmethod
    def _parse_routes(cls, value: Any) -> Any:
        entries = split_list(value)
        if not isinstance(entries, list):
            return entries
        return [parse_route_rate(e) if isinstance(e, str) else e for e in entries]

    @field_validator("RATELIMIT_EXEMPT_PATHS", mode="before")
    @classmethod
    def _parse_paths(cls, value: Any) -> Any:
        return split_list(value)

    @field_validator("RATELIMIT_TRUSTED_PROXIES", mode="before")
    @classmethod
    def _parse_proxies(cls, value: Any) -> Any:
        entries = split_list(value)
        if not isinstance(entries, list):
            return entries
        proxies: list[IPNetwork | str] = []
        for entry in entries:
            if entry == "*":
                proxies.extend(_EVERYWHERE)
            else:
                proxies.append(parse_proxy(entry) if isinstance(entry, str) else entry)
        return proxies

    @field_validator("RATELIMIT_EXEMPT_PATHS")
    @classmethod
    def _check_paths(cls, paths: list[str]) -> list[str]:
        for path in paths:
            if not path.startswith("/"):
                raise ValueError(f"path {path!r} must start with /")
        return paths

    @field_validator("RATELIMIT_ROUTES")
    @classmethod
    def _one_rate_per_route(cls, routes: list[RouteRate]) -> list[RouteRate]:
        names = [route.name for route in routes]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"routes given more than one rate: {', '.join(twice)}")
        return routes

    @model_validator(mode="after")
    def _production(self) -> "RateLimitSettings":
        if self.ENVIRONMENT != "production":
            return self
        problems = []
        if any(
            isinstance(p, ipaddress.IPv4Network | ipaddress.IPv6Network)
            and p.prefixlen == 0
            for p in self.RATELIMIT_TRUSTED_PROXIES
        ):
            problems.append(
                "RATELIMIT_TRUSTED_PROXIES must list your proxies' addresses, not `*` "
                "or a network of every address: any client could then choose the "
                "address it is counted under"
            )
        if not self.RATELIMIT_ENABLED:
            problems.append(
                "RATELIMIT_ENABLED=false leaves login and every route unlimited; "
                "remove the ratelimit feature instead if a proxy in front limits rates"
            )
        if problems:
            raise ValueError("production requires: " + "; ".join(problems))
        return self


@cache
def get_ratelimit_settings() -> RateLimitSettings:
    """The process's ratelimit settings, read once."""
    return load_settings(RateLimitSettings)
