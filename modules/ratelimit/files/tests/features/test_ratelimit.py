"""The ratelimit feature against the real Redis at REDIS_URL (`paxx-compose up` starts
it): exact counts under concurrency, resets on time, per-route and per-principal
rates, 429s in the error format and the document, Redis down.

Each test counts under a key prefix of its own (other tests, and other runs, share
the Redis) and sets its rates explicitly: the test environment's multiplier is 1.
The client address is chosen per test through the ASGI scope. Addresses, proxies and
settings: `test_ratelimit_clients.py`; two server processes:
`test_ratelimit_processes.py`.
"""

import asyncio
import dataclasses
import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import APIRouter, FastAPI, Request
from httpx import ASGITransport, AsyncClient

from app.core.features import Feature
from app.core.principal import CurrentPrincipal, Principal
from app.features import FEATURES
from app.features import ratelimit as ratelimit_feature
from app.features.ratelimit import RateLimitSettings, create_feature
from app.features.redis import RedisSettings, create_client, get_redis_settings

PROBE = "/api/v1/ratelimit-probe"
WHO = "/api/v1/ratelimit-probe/who"
AppFactory = Callable[..., FastAPI]

probe_router = APIRouter(prefix=PROBE)


@probe_router.get("")
async def ratelimit_probe() -> dict[str, bool]:
    return {"ok": True}


@probe_router.get("/items/{number}")
async def ratelimit_probe_item(number: int) -> dict[str, int]:
    return {"number": number}


@probe_router.get("/who")
async def ratelimit_probe_who(principal: CurrentPrincipal) -> dict[str, str | None]:
    return {"principal": principal.id if principal else None}


async def header_authenticator(request: Request) -> Principal | None:
    """Stands in for the auth feature: the principal a test names in a header."""
    name = request.headers.get("x-test-principal")
    return Principal(id=name) if name else None


def closed_redis_url() -> str:
    """A Redis URL on a port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


PROBE_FEATURE = Feature(name="ratelimit_probe", router=probe_router)
AUTH_FEATURE = Feature(name="ratelimit_auth", authenticator=header_authenticator)


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """A key prefix for one test; its keys are removed afterwards."""
    prefix = f"test:ratelimit:{uuid.uuid4().hex}:"
    yield prefix
    client = create_client(get_redis_settings())
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
def limited(prefix: str, make_app: AppFactory) -> Callable[..., FastAPI]:
    """`limited(RATELIMIT_DEFAULT="5/minute", ...)`: the application with the
    probe routes and this ratelimit feature instead of the environment's one."""

    def factory(
        *,
        with_auth: bool = False,
        redis: RedisSettings | None = None,
        app_settings: dict[str, Any] | None = None,
        **settings: Any,
    ) -> FastAPI:
        ratelimit = create_feature(
            RateLimitSettings(
                RATELIMIT_KEY_PREFIX=prefix, RATELIMIT_TEST_MULTIPLIER=1, **settings
            ),
            redis,
        )
        features: list[Feature] = [
            ratelimit if f.name == "ratelimit" else f for f in FEATURES
        ]
        if ratelimit not in features:
            features.append(ratelimit)
        features.append(PROBE_FEATURE)
        if with_auth:
            # The auth feature, when enabled, keeps its routes but not its say.
            features = [dataclasses.replace(f, authenticator=None) for f in features]
            features.append(AUTH_FEATURE)
        return make_app(features, **(app_settings or {}))

    return factory


@asynccontextmanager
async def serving(
    app: FastAPI, client: tuple[str, int] = ("198.51.100.7", 40000)
) -> AsyncIterator[AsyncClient]:
    """A client of `app` (lifespan running) connecting from `client`."""
    transport = ASGITransport(app=app, client=client)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        yield http


def statuses(responses: Sequence[httpx.Response]) -> list[int]:
    return sorted(r.status_code for r in responses)


def test_the_feature_is_enabled() -> None:
    assert ratelimit_feature.feature in FEATURES
    assert any(f.name == "redis" for f in FEATURES)


async def test_concurrent_requests_get_exactly_the_limit(
    limited: AppFactory,
) -> None:
    app = limited(RATELIMIT_DEFAULT="5/minute")
    async with serving(app) as http:
        responses = await asyncio.gather(*(http.get(PROBE) for _ in range(30)))
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 429]
    assert (len(ok), len(refused)) == (5, 25), statuses(responses)
    # Each allowed request saw its own count: the script ran alone each time.
    assert sorted(int(r.headers["ratelimit-remaining"]) for r in ok) == [0, 1, 2, 3, 4]
    for response in refused:
        assert response.headers["ratelimit-limit"] == "5"
        assert response.headers["ratelimit-remaining"] == "0"
        assert response.headers["ratelimit-policy"] == "5;w=60"
        assert 1 <= int(response.headers["retry-after"]) <= 12
        assert 1 <= int(response.headers["ratelimit-reset"]) <= 60
        body = response.json()["error"]
        assert body["code"] == "too_many_requests"
        assert body["request_id"] == response.headers["x-request-id"]
        assert "at most 5 per 60 seconds" in body["message"]


async def test_the_limit_comes_back_when_the_headers_say(limited: AppFactory) -> None:
    # 3 per 4 s: one more every 1.33 s; the whole limit back 4 s after the burst.
    app = limited(RATELIMIT_DEFAULT="3/4s")
    async with serving(app) as http:
        burst = await asyncio.gather(*(http.get(PROBE) for _ in range(4)))
        assert statuses(burst) == [200, 200, 200, 429]
        refused = next(r for r in burst if r.status_code == 429)
        announced = time.monotonic() + int(refused.headers["ratelimit-reset"])
        assert int(refused.headers["retry-after"]) in (1, 2)
        # Asked again before the reset: still refused (a request every 1.33 s at most).
        assert (await http.get(PROBE)).status_code == 429
        # Wait until the moment announced (rounded up to whole seconds), however
        # long the machine takes to get there, then the whole limit is back.
        await asyncio.sleep(max(0.0, announced - time.monotonic()))
        again = await asyncio.gather(*(http.get(PROBE) for _ in range(4)))
        assert statuses(again) == [200, 200, 200, 429]


async def test_allowed_responses_carry_the_headers(limited: AppFactory) -> None:
    app = limited(RATELIMIT_DEFAULT="10/minute")
    async with serving(app) as http:
        first, second = [await http.get(PROBE) for _ in range(2)]
    assert first.headers["ratelimit-limit"] == "10"
    assert first.headers["ratelimit-remaining"] == "9"
    assert second.headers["ratelimit-remaining"] == "8"
    assert first.headers["ratelimit-policy"] == "10;w=60"
    assert 1 <= int(first.headers["ratelimit-reset"]) <= 6
    assert "retry-after" not in first.headers


async def test_keys_expire_once_the_allowance_is_whole(
    limited: AppFactory, prefix: str
) -> None:
    app = limited(RATELIMIT_DEFAULT="10/minute")
    async with serving(app, client=("192.0.2.44", 1)) as http:
        await http.get(PROBE)
    client = create_client(get_redis_settings())
    try:
        key = f"{prefix}default:ip:192.0.2.44"
        # One request of ten a minute: the key lives one interval, 6 s.
        assert 0 < await client.pttl(key) <= 6000
    finally:
        await client.aclose()


async def test_each_client_address_has_its_own_count(limited: AppFactory) -> None:
    app = limited(RATELIMIT_DEFAULT="2/minute")
    async with serving(app, client=("192.0.2.1", 1)) as first:
        assert statuses([await first.get(PROBE) for _ in range(3)]) == [200, 200, 429]
    async with serving(app, client=("192.0.2.2", 1)) as second:
        assert (await second.get(PROBE)).status_code == 200


async def test_spoofed_forwarding_headers_buy_no_fresh_count(
    limited: AppFactory,
) -> None:
    # The peer is no trusted proxy: whatever it claims, it is counted as itself.
    app = limited(RATELIMIT_DEFAULT="2/minute", RATELIMIT_TRUSTED_PROXIES="10.0.0.0/8")
    spoofs = [
        {"x-forwarded-for": "203.0.113.1"},
        {"x-forwarded-for": "10.0.0.1, 203.0.113.2"},
        {"forwarded": "for=203.0.113.3"},
        {"x-real-ip": "203.0.113.4"},
    ]
    async with serving(app, client=("198.51.100.99", 1)) as http:
        responses = [await http.get(PROBE, headers=h) for h in spoofs]
    assert statuses(responses) == [200, 200, 429, 429]


async def test_a_trusted_proxy_names_the_client(limited: AppFactory) -> None:
    app = limited(RATELIMIT_DEFAULT="1/minute", RATELIMIT_TRUSTED_PROXIES="10.0.0.0/8")
    async with serving(app, client=("10.1.2.3", 1)) as proxy:
        alice = {"x-forwarded-for": "192.0.2.10"}
        bob = {"x-forwarded-for": "192.0.2.11"}
        assert (await proxy.get(PROBE, headers=alice)).status_code == 200
        assert (await proxy.get(PROBE, headers=bob)).status_code == 200
        assert (await proxy.get(PROBE, headers=alice)).status_code == 429
        # A client writing its own entry left of the proxy's changes nothing.
        forged = {"x-forwarded-for": "192.0.2.99, 192.0.2.10"}
        assert (await proxy.get(PROBE, headers=forged)).status_code == 429


async def test_exempt_paths_are_never_counted(limited: AppFactory) -> None:
    app = limited(RATELIMIT_DEFAULT="1/minute")
    async with serving(app) as http:
        responses = [await http.get("/health/live") for _ in range(3)]
    assert statuses(responses) == [200, 200, 200]
    assert "ratelimit-limit" not in responses[0].headers


async def test_a_route_has_its_own_rate_and_count(limited: AppFactory) -> None:
    app = limited(
        RATELIMIT_DEFAULT="50/minute",
        RATELIMIT_ROUTES=f"GET {PROBE}/items/{{number}}=2/minute",
    )
    item = f"{PROBE}/items"
    async with serving(app) as http:
        # One count for the route template, whatever the parameter or its spelling.
        responses = [
            await http.get(f"{item}/1"),
            await http.get(f"{item}/2"),
            await http.get(f"{item}/%33"),
            await http.get(f"{item}/4?x=1"),
        ]
        assert statuses(responses) == [200, 200, 429, 429]
        assert responses[0].headers["ratelimit-limit"] == "2"
        # The default count was not touched by the route's requests.
        other = await http.get(PROBE)
        assert other.status_code == 200
        assert other.headers["ratelimit-limit"] == "50"
        assert other.headers["ratelimit-remaining"] == "49"
        # A HEAD is a GET for the route's rate.
        assert (await http.head(f"{item}/5")).status_code == 429


async def test_the_shipped_login_rates_are_harmless_without_those_routes(
    limited: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="app.features.ratelimit"):
        app = limited(RATELIMIT_DEFAULT="5/minute")
    assert not [r for r in caplog.records if "RATELIMIT_ROUTES" in r.getMessage()]
    async with serving(app) as http:
        assert (await http.get(PROBE)).status_code == 200


async def test_a_route_rate_that_matches_nothing_is_reported(
    limited: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="app.features.ratelimit"):
        limited(RATELIMIT_ROUTES="POST /api/v1/no-such-route=1/minute")
    assert any(
        "POST /api/v1/no-such-route matches no route" in r.getMessage()
        for r in caplog.records
    )


async def test_each_principal_has_its_own_count(limited: AppFactory) -> None:
    app = limited(
        with_auth=True, RATELIMIT_DEFAULT="100/minute", RATELIMIT_PRINCIPAL="2/minute"
    )
    alice = {"x-test-principal": "user:alice"}
    async with serving(app, client=("192.0.2.20", 1)) as http:
        allowed = [await http.get(WHO, headers=alice) for _ in range(2)]
        assert statuses(allowed) == [200, 200]
        assert allowed[1].json() == {"principal": "user:alice"}
        # The headers show the policy closest to refusal: the principal's.
        assert allowed[1].headers["ratelimit-limit"] == "2"
        assert allowed[1].headers["ratelimit-remaining"] == "0"
        refused = await http.get(WHO, headers=alice)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "too_many_requests"
        assert refused.headers["ratelimit-limit"] == "2"
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.headers.get_list("ratelimit-limit") == ["2"]
        # Another principal from the same address, and anonymous requests, go on.
        other = await http.get(WHO, headers={"x-test-principal": "api_key:7"})
        assert other.status_code == 200
        assert (await http.get(WHO)).json() == {"principal": None}
    # The principal is counted wherever it comes from.
    async with serving(app, client=("192.0.2.21", 1)) as elsewhere:
        assert (await elsewhere.get(WHO, headers=alice)).status_code == 429


async def test_a_route_rate_counts_each_principal_too(limited: AppFactory) -> None:
    app = limited(
        with_auth=True,
        RATELIMIT_DEFAULT="100/minute",
        RATELIMIT_PRINCIPAL="100/minute",
        RATELIMIT_ROUTES=f"GET {WHO}=2/minute",
    )
    alice = {"x-test-principal": "user:alice"}
    async with serving(app, client=("192.0.2.30", 1)) as http:
        assert statuses([await http.get(WHO, headers=alice) for _ in range(2)]) == [
            200,
            200,
        ]
    # A fresh address: its own count for the route is whole, alice's is spent.
    async with serving(app, client=("192.0.2.31", 1)) as http:
        refused = await http.get(WHO, headers=alice)
        assert refused.status_code == 429
        assert refused.headers["ratelimit-limit"] == "2"
        bob = await http.get(WHO, headers={"x-test-principal": "user:bob"})
        assert bob.status_code == 200


async def test_redis_down_fails_open_with_one_error_line(
    limited: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    redis = RedisSettings(REDIS_URL=closed_redis_url())
    app = limited(redis=redis, RATELIMIT_DEFAULT="1/minute", RATELIMIT_REDIS_TIMEOUT=2)
    with caplog.at_level(logging.ERROR, logger="app.features.ratelimit"):
        async with serving(app) as http:
            responses = [await http.get(PROBE) for _ in range(3)]
    assert statuses(responses) == [200, 200, 200]
    assert "ratelimit-limit" not in responses[0].headers
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert "Redis is unreachable" in errors[0].getMessage()
    assert "let through" in errors[0].getMessage()


async def test_redis_down_fails_closed_when_told(limited: AppFactory) -> None:
    redis = RedisSettings(REDIS_URL=closed_redis_url())
    app = limited(redis=redis, RATELIMIT_FAIL_OPEN=False, RATELIMIT_REDIS_TIMEOUT=2)
    async with serving(app) as http:
        response = await http.get(PROBE)
        probe = await http.get("/health/live")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["error"]["code"] == "service_unavailable"
    assert probe.status_code == 200


async def test_the_test_environment_multiplies_the_rates(make_app: AppFactory) -> None:
    settings = RateLimitSettings(RATELIMIT_DEFAULT="7/minute")
    features = [
        create_feature(settings) if f.name == "ratelimit" else f for f in FEATURES
    ]
    for environment, limit in (("test", "7000"), ("local", "7")):
        app = make_app([*features, PROBE_FEATURE], ENVIRONMENT=environment)
        async with serving(app) as http:
            response = await http.get(PROBE)
        assert response.headers["ratelimit-limit"] == limit


async def test_settings_are_read_when_each_application_is_built(
    make_app: AppFactory, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # How another feature's tests meet the real limits (login: 10 a minute).
    monkeypatch.setenv("RATELIMIT_TEST_MULTIPLIER", "1")
    monkeypatch.setenv("RATELIMIT_DEFAULT", "4/minute")
    monkeypatch.setenv("RATELIMIT_KEY_PREFIX", prefix)
    app = make_app([*FEATURES, PROBE_FEATURE])
    async with serving(app) as http:
        response = await http.get(PROBE)
    assert response.headers["ratelimit-limit"] == "4"


async def test_the_document_lists_the_429_where_limits_apply(
    limited: AppFactory,
) -> None:
    document = limited(RATELIMIT_FAIL_OPEN=False).openapi()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            if path.startswith("/health/"):
                assert "429" not in responses, (method, path)
                continue
            limited_response = responses["429"]
            assert limited_response["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorResponse"
            }
            assert "Retry-After" in limited_response["headers"]
            assert "503" in responses, (method, path)
            # On every answer once counted (a 503 may be the limiter's own).
            for code, response in responses.items():
                if code != "503":
                    assert "RateLimit-Remaining" in response["headers"], (code, path)
    assert "RateLimit-Limit" in document["components"]["headers"]


async def test_a_real_429_keeps_to_the_document(limited: AppFactory) -> None:
    app = limited(RATELIMIT_DEFAULT="1/minute")
    schema = schemathesis.openapi.from_dict(app.openapi())
    operation = schema[PROBE]["GET"]
    async with serving(app) as http:
        allowed, refused = [await http.get(PROBE) for _ in range(2)]
    assert (allowed.status_code, refused.status_code) == (200, 429)
    operation.validate_response(allowed)
    operation.validate_response(refused)
