"""The heartbeat, slow clients, and closing cleanly."""

import asyncio
import json
import time
from contextlib import AsyncExitStack

from websockets.asyncio.client import connect

from tests.features.websocket.conftest import Server, ServerFactory
from tests.features.websocket.servers import close_code, receive, send


async def no_connections(server: Server) -> None:
    async def settled() -> None:
        while server.manager.connections:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(settled(), 5)


async def test_a_silent_client_is_pinged_then_closed(
    websocket_server: ServerFactory,
) -> None:
    async with (
        websocket_server(
            WEBSOCKET_PING_INTERVAL=0.2, WEBSOCKET_PING_TIMEOUT=0.3
        ) as server,
        connect(server.room("lobby")) as alice,
    ):
        start = time.monotonic()
        assert (await receive(alice))["type"] == "welcome"
        assert await receive(alice, answer_pings=False) == {"type": "ping"}
        assert await close_code(alice) == 4408
        assert time.monotonic() - start < 3
        await no_connections(server)
        assert server.manager.members("lobby") == 0


async def test_a_client_that_answers_stays_connected(
    websocket_server: ServerFactory,
) -> None:
    async with (
        websocket_server(
            WEBSOCKET_PING_INTERVAL=0.1, WEBSOCKET_PING_TIMEOUT=0.5
        ) as server,
        connect(server.room("lobby")) as alice,
    ):
        await receive(alice)
        pings = 0
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            message = json.loads(await asyncio.wait_for(alice.recv(), 2))
            if message == {"type": "pong"}:  # the server's answer to our ping
                continue
            assert message == {"type": "ping"}
            pings += 1
            # Any message counts as an answer; alternate between the two.
            await send(alice, {"type": "pong" if pings % 2 else "ping"})
        assert pings >= 3
        assert server.manager.connections == 1


async def test_the_client_may_ping_too(websocket_server: ServerFactory) -> None:
    async with websocket_server() as server, connect(server.room("lobby")) as alice:
        await receive(alice)
        await send(alice, {"type": "ping"})
        assert await receive(alice) == {"type": "pong"}


async def test_a_client_that_falls_behind_is_closed(
    websocket_server: ServerFactory,
) -> None:
    async with (
        websocket_server(WEBSOCKET_SEND_QUEUE=4) as server,
        connect(server.room("lobby")) as alice,
        connect(server.room("lobby")) as bob,
    ):
        await receive(alice)
        await receive(bob)
        # Queued without a pause: the writers get no chance to drain in between.
        for n in range(5):
            server.manager.deliver("lobby", json.dumps({"type": "message", "n": n}))
        assert await close_code(alice) == 1008
        assert await close_code(bob) == 1008
        await no_connections(server)


async def test_a_server_shutting_down_closes_its_connections(
    websocket_server: ServerFactory,
) -> None:
    async with AsyncExitStack() as clients:
        async with websocket_server() as server:
            alice = await clients.enter_async_context(connect(server.room("lobby")))
            await receive(alice)
        # The server has stopped; the client was told, not cut off.
        assert await close_code(alice) in (1001, 1012)
