"""Two uvicorn processes share one limit: the count lives in Redis, not in a process.

Both servers run `app.main:app` as a deployment does, with the environment's Redis
(REDIS_URL, from `paxx-compose up`) and a key prefix for this test alone.
"""

import asyncio
import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from app.features.redis import create_client, get_redis_settings
from tests import server as server_module
from tests.server import app_server

# A path no route serves: the middleware counts it before the router answers 404,
# and it needs neither the database nor any feature's state.
PATH = "/api/v1/ratelimit-processes-probe"
LIMIT = 6
REQUESTS_PER_SERVER = 12
# Seconds each server may take to start: with every feature enabled on a busy
# machine, importing the application and entering its lifespans takes a while.
START_TIMEOUT = 180.0


async def _flood(urls: list[str]) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=60) as client:
        return await asyncio.gather(
            *(client.get(url + PATH) for url in urls * REQUESTS_PER_SERVER)
        )


async def test_two_processes_share_one_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "START_TIMEOUT", START_TIMEOUT)
    prefix = f"test:ratelimit:{uuid.uuid4().hex}:"
    settings = {
        "RATELIMIT_DEFAULT": f"{LIMIT}/minute",
        "RATELIMIT_KEY_PREFIX": prefix,
        "RATELIMIT_TEST_MULTIPLIER": "1",
        "RATELIMIT_ENABLED": "true",
    }
    try:
        with ExitStack() as stack:
            servers = [stack.enter_context(app_server(tmp_path, **settings))]
            servers.append(stack.enter_context(app_server(tmp_path, **settings)))
            responses = await _flood([server.url for server in servers])
            for server in servers:
                server.assert_alive()
    finally:
        client = create_client(get_redis_settings())
        try:
            keys = [key async for key in client.scan_iter(match=prefix + "*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()

    allowed = [r for r in responses if r.status_code == 404]
    refused = [r for r in responses if r.status_code == 429]
    assert (len(allowed), len(refused)) == (LIMIT, len(responses) - LIMIT), sorted(
        r.status_code for r in responses
    )
    # One count for both: each allowed request, on either server, saw its own place.
    remaining = sorted(int(r.headers["ratelimit-remaining"]) for r in allowed)
    assert remaining == list(range(LIMIT))
    # Both processes refused (each got more requests than the whole limit).
    for server in servers:
        assert any(str(r.url).startswith(server.url) for r in refused)
