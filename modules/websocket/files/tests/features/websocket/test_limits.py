"""What a client may cost the server: origins, connections, message sizes."""

import asyncio
import resource
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import PRODUCTION
from tests.features.websocket.conftest import ServerFactory
from tests.features.websocket.servers import receive
from tests.server import MiB, app_server, assert_peak_growth

# Seconds a flood's client waits for an answer: generous, these tests load the machine.
PATIENCE = 120.0

# The application's settings in production, reached at 127.0.0.1.
PRODUCTION_APP = PRODUCTION | {"TRUSTED_HOSTS": ["127.0.0.1"]}
APP = "https://app.example.com"


async def refused_status(url: str, **headers: str) -> int:
    """The HTTP status the handshake was refused with (fails if it was accepted)."""
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, additional_headers=headers):
            pass
    return refused.value.response.status_code


@pytest.mark.parametrize(
    ("app_settings", "websocket_origins", "origin", "allowed"),
    [
        # WEBSOCKET_ORIGINS empty: the application's CORS_ORIGINS decide.
        ({"CORS_ORIGINS": [APP]}, [], APP, True),
        ({"CORS_ORIGINS": [APP]}, [], "https://evil.example.com", False),
        # In production, no list at all means no browser origin.
        (PRODUCTION_APP, [], "https://evil.example.com", False),
        (PRODUCTION_APP, [], APP, False),
        (PRODUCTION_APP, [APP], APP, True),
        (PRODUCTION_APP | {"CORS_ORIGINS": [APP]}, [], APP, True),
        (PRODUCTION_APP, [], None, True),  # not a browser: no Origin
        # Outside production with no list anywhere: any origin, as before.
        ({}, [], "https://evil.example.com", True),
    ],
)
async def test_origins_are_checked_against_the_allowed_ones(
    websocket_server: ServerFactory,
    app_settings: dict[str, Any],
    websocket_origins: list[str],
    origin: str | None,
    allowed: bool,
) -> None:
    headers = {"Origin": origin} if origin else {}
    async with websocket_server(
        app_settings=app_settings, WEBSOCKET_ORIGINS=websocket_origins
    ) as server:
        if allowed:
            async with connect(server.room("lobby"), additional_headers=headers) as ws:
                assert (await receive(ws))["type"] == "welcome"
        else:
            assert await refused_status(server.room("lobby"), **headers) == 403
            assert server.manager.connections == 0


async def test_connections_beyond_the_limit_are_refused(
    websocket_server: ServerFactory,
) -> None:
    async with websocket_server(WEBSOCKET_MAX_CONNECTIONS=3) as server:
        async with AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(connect(server.room("lobby")))
                for _ in range(3)
            ]
            for client in clients:
                await receive(client)
            assert await refused_status(server.room("lobby")) == 503
            await clients[0].close()
            for _ in range(100):  # the server notices the leave
                if server.manager.connections < 3:
                    break
                await asyncio.sleep(0.05)
            async with connect(server.room("lobby")) as again:
                assert (await receive(again))["type"] == "welcome"


async def welcome(client: ClientConnection) -> None:
    message = await asyncio.wait_for(client.recv(), PATIENCE)
    assert '"welcome"' in str(message), message


async def _open(url: str) -> ClientConnection | int:
    """A connection that got its welcome, or the status it was refused with."""
    try:
        client = await connect(url, open_timeout=PATIENCE)
    except InvalidStatus as refused:
        return refused.response.status_code
    await welcome(client)
    return client


async def test_a_connection_flood_is_capped(tmp_path: Path) -> None:
    """Hundreds of clients at once: the server keeps WEBSOCKET_MAX_CONNECTIONS and
    refuses the rest at the handshake (it used to accept them all)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    attempts = max(100, min(600, (soft - 100) // 3))
    cap = attempts // 6
    with app_server(tmp_path, WEBSOCKET_MAX_CONNECTIONS=str(cap)) as server:
        url = server.url.replace("http", "ws", 1) + "/api/v1/ws/lobby"
        async with connect(url, open_timeout=PATIENCE) as first:
            await welcome(first)
        before = server.peak_rss()
        results = []
        for start in range(0, attempts, 50):  # in waves, so the client keeps up
            batch = min(50, attempts - start)
            results += await asyncio.gather(*(_open(url) for _ in range(batch)))
        opened = [r for r in results if not isinstance(r, int)]
        refused = [r for r in results if isinstance(r, int)]
        assert_peak_growth(server, before, 100 * MiB, f"{attempts} connections")
        for client in opened:
            await client.close()
    assert len(opened) == cap, f"{len(opened)} accepted, limit {cap}"
    assert set(refused) == {503}
    assert len(refused) == attempts - cap


async def _send_big(url: str, size: int) -> int | None:
    """Send one text message of `size` bytes; the close code the server answered."""
    async with connect(
        url, max_size=None, open_timeout=PATIENCE, close_timeout=PATIENCE
    ) as ws:
        await welcome(ws)
        try:
            await ws.send("x" * size)
            while True:
                await asyncio.wait_for(ws.recv(), PATIENCE)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else None


async def test_large_messages_are_refused_before_the_server_reads_them(
    tmp_path: Path,
) -> None:
    """Forty clients sending 15 MB messages each: the server's own WebSocket parser
    refuses each as its header arrives (1009), so its memory stays flat (it used to
    read every message whole, up to uvicorn's 16 MiB, before the size check)."""
    with app_server(tmp_path, WEBSOCKET_MAX_MESSAGE_BYTES="65536") as server:
        url = server.url.replace("http", "ws", 1) + "/api/v1/ws/lobby"
        async with connect(url, open_timeout=PATIENCE) as warm:
            await welcome(warm)
        before = server.peak_rss()
        codes = await asyncio.gather(*(_send_big(url, 15_000_000) for _ in range(40)))
        assert_peak_growth(server, before, 150 * MiB, "40 messages of 15 MB")
    assert set(codes) == {1009}, codes
