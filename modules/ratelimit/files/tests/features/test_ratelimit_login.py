"""With the auth feature enabled too: password guessing at the token URL is cut off by
the login rate ratelimit ships (`RATELIMIT_ROUTES`), counted per address in the real
Redis, whichever accounts are tried. Auth's own per-account backoff does not see a
guesser who tries each password on another account; this rate does.

Ratelimit does not import auth: the test runs only in projects where both are enabled
(elsewhere it is reported skipped).
"""

import uuid

import pytest
from fastapi import FastAPI

from app.features import FEATURES
from app.features.ratelimit import RateLimitSettings, create_feature
from app.features.redis import create_client, get_redis_settings
from tests.features.test_ratelimit import AppFactory, serving

TOKEN_URL = "/api/v1/auth/token"


def login_rate() -> int:
    """The configured rate of the token URL (the shipped 10/minute unless changed)."""
    if "auth" not in [feature.name for feature in FEATURES]:
        pytest.skip("the auth feature is not enabled in this project")
    [rate] = [
        route.rate
        for route in RateLimitSettings().RATELIMIT_ROUTES
        if route.name == f"POST {TOKEN_URL}"
    ]
    return rate.limit


async def test_guessing_across_accounts_is_cut_off_per_address(
    make_app: AppFactory,
) -> None:
    allowed = login_rate()
    # The configured rates, as they are (no test multiplier), counted under keys of
    # this test's own; the real auth feature.
    key_prefix = f"test:ratelimit:{uuid.uuid4().hex}:"
    ratelimit = create_feature(
        RateLimitSettings(RATELIMIT_KEY_PREFIX=key_prefix, RATELIMIT_TEST_MULTIPLIER=1)
    )
    app = make_app([ratelimit if f.name == "ratelimit" else f for f in FEATURES])
    try:
        await guess_until_limited(app, allowed)
    finally:
        redis = create_client(get_redis_settings())
        keys = [key async for key in redis.scan_iter(match=key_prefix + "*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


def guess() -> dict[str, str]:
    """One guess, at an account no guess tried before."""
    return {
        "username": f"nobody-{uuid.uuid4().hex[:12]}@example.com",
        "password": "one more guess at a password",
    }


async def guess_until_limited(app: FastAPI, allowed: int) -> None:
    async with serving(app, client=("198.51.100.20", 40000)) as guesser:
        for _ in range(allowed):
            refused = await guesser.post(TOKEN_URL, data=guess())
            # Auth answers: a wrong password, not a lock of its own.
            assert refused.status_code == 401, refused.text
        limited_now = await guesser.post(TOKEN_URL, data=guess())
        assert limited_now.status_code == 429, limited_now.text
        assert limited_now.headers["ratelimit-limit"] == str(allowed)
        assert int(limited_now.headers["retry-after"]) >= 1
    # Another address still reaches the login.
    async with serving(app, client=("198.51.100.21", 40000)) as other:
        assert (await other.post(TOKEN_URL, data=guess())).status_code == 401
