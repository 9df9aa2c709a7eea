"""Rooms over a real connection: join, leave, broadcast, errors, limits, origins."""

import asyncio
import json
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from app.features.websocket import WebSocketManagerDep
from tests.features.websocket.conftest import Server, ServerFactory
from tests.features.websocket.servers import (
    assert_nothing_arrives,
    close_code,
    receive,
    send,
)


async def members_become(server: Server, room: str, count: int) -> None:
    async def settled() -> None:
        while server.manager.members(room) != count:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(settled(), 5)


async def test_connecting_joins_the_room_and_says_welcome(
    websocket_server: ServerFactory,
) -> None:
    async with (
        websocket_server(WEBSOCKET_PING_INTERVAL=7, WEBSOCKET_PING_TIMEOUT=3) as server,
        connect(server.room("lobby")) as alice,
    ):
        welcome = await receive(alice)
        assert welcome["type"] == "welcome"
        assert isinstance(welcome["id"], str) and welcome["id"]
        assert welcome["rooms"] == ["lobby"]
        assert (welcome["ping_interval"], welcome["ping_timeout"]) == (7.0, 3.0)
        assert server.manager.members("lobby") == 1
        assert server.manager.connections == 1


async def test_a_broadcast_reaches_every_member_of_its_room_only(
    websocket_server: ServerFactory,
) -> None:
    async with (
        websocket_server() as server,
        connect(server.room("lobby")) as alice,
        connect(server.room("lobby")) as bob,
        connect(server.room("kitchen")) as carol,
    ):
        alice_id = (await receive(alice))["id"]
        for other in (bob, carol):
            await receive(other)

        data = {"text": "hello, ünïcode", "n": [1, 2.5, None, True]}
        await send(alice, {"type": "broadcast", "room": "lobby", "data": data})

        expected = {
            "type": "message",
            "room": "lobby",
            "data": data,
            "sender": alice_id,
        }
        assert await receive(alice) == expected
        assert await receive(bob) == expected
        await assert_nothing_arrives(carol)


async def test_join_and_leave_more_rooms(websocket_server: ServerFactory) -> None:
    async with (
        websocket_server() as server,
        connect(server.room("lobby")) as alice,
        connect(server.room("kitchen")) as bob,
    ):
        await receive(alice)
        await receive(bob)

        await send(bob, {"type": "join", "room": "lobby"})
        assert await receive(bob) == {"type": "joined", "room": "lobby"}
        assert server.manager.members("lobby") == 2
        await send(alice, {"type": "broadcast", "room": "lobby", "data": 1})
        assert (await receive(bob))["data"] == 1
        assert (await receive(alice))["data"] == 1

        await send(bob, {"type": "leave", "room": "lobby"})
        assert await receive(bob) == {"type": "left", "room": "lobby"}
        assert server.manager.members("lobby") == 1
        await send(alice, {"type": "broadcast", "room": "lobby", "data": 2})
        assert (await receive(alice))["data"] == 2
        await assert_nothing_arrives(bob)

        # Leaving the room it connected to is allowed too; the connection stays.
        await send(bob, {"type": "leave", "room": "kitchen"})
        assert await receive(bob) == {"type": "left", "room": "kitchen"}
        assert server.manager.members("kitchen") == 0
        await send(bob, {"type": "ping"})
        assert await receive(bob) == {"type": "pong"}


async def test_broadcasting_to_a_room_not_joined_is_refused(
    websocket_server: ServerFactory,
) -> None:
    async with (
        websocket_server() as server,
        connect(server.room("lobby")) as alice,
        connect(server.room("kitchen")) as bob,
    ):
        await receive(alice)
        await receive(bob)
        await send(alice, {"type": "broadcast", "room": "kitchen", "data": "psst"})
        reply = await receive(alice)
        assert reply["type"] == "error"
        assert reply["error"]["code"] == "not_in_room"
        await assert_nothing_arrives(bob)


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        "[1, 2]",
        json.dumps({"type": "shout", "room": "lobby"}),
        json.dumps({"room": "lobby"}),
        json.dumps({"type": "join"}),
        json.dumps({"type": "join", "room": "has space"}),
        json.dumps({"type": "join", "room": "x" * 65}),
        json.dumps({"type": "broadcast", "room": "lobby"}),
        json.dumps({"type": "ping", "extra": 1}),
        '{"type": "broadcast", "room": "lobby", "data": [1, NaN]}',
        b"\x00binary",
    ],
)
async def test_a_malformed_message_gets_an_error_and_the_connection_stays(
    websocket_server: ServerFactory, frame: str | bytes
) -> None:
    async with websocket_server() as server, connect(server.room("lobby")) as alice:
        await receive(alice)
        await alice.send(frame)
        reply = await receive(alice)
        assert reply["type"] == "error"
        assert reply["error"]["code"] == "invalid_message"
        assert isinstance(reply["error"]["message"], str)
        await send(alice, {"type": "ping"})
        assert await receive(alice) == {"type": "pong"}
        assert server.manager.members("lobby") == 1


async def test_a_connection_may_be_in_so_many_rooms(
    websocket_server: ServerFactory,
) -> None:
    async with (
        websocket_server(WEBSOCKET_MAX_ROOMS=2) as server,
        connect(server.room("lobby")) as alice,
    ):
        await receive(alice)
        await send(alice, {"type": "join", "room": "kitchen"})
        assert (await receive(alice))["type"] == "joined"
        await send(alice, {"type": "join", "room": "garden"})
        reply = await receive(alice)
        assert reply["error"]["code"] == "too_many_rooms"
        assert server.manager.members("garden") == 0
        # Joining a room it is in already is no new room.
        await send(alice, {"type": "join", "room": "kitchen"})
        assert await receive(alice) == {"type": "joined", "room": "kitchen"}


async def test_a_message_over_the_limit_closes_the_connection(
    websocket_server: ServerFactory,
) -> None:
    async with (
        websocket_server(WEBSOCKET_MAX_MESSAGE_BYTES=256) as server,
        connect(server.room("lobby")) as alice,
    ):
        await receive(alice)
        await send(alice, {"type": "broadcast", "room": "lobby", "data": "é" * 128})
        assert await close_code(alice) == 1009
        await members_become(server, "lobby", 0)


@pytest.mark.parametrize("room", ["has%20space", "x" * 65, "semi;colon"])
async def test_a_room_outside_the_pattern_is_refused(
    websocket_server: ServerFactory, room: str
) -> None:
    async with websocket_server() as server:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(server.room(room)):
                pass
        assert refused.value.response.status_code == 403
        assert server.manager.connections == 0


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({"Origin": "https://app.example.com"}, True),
        ({"Origin": "https://evil.example.com"}, False),
        ({"Origin": "http://app.example.com"}, False),
        ({}, True),  # not a browser
    ],
)
async def test_only_allowed_origins_may_connect(
    websocket_server: ServerFactory, headers: dict[str, str], allowed: bool
) -> None:
    async with websocket_server(
        WEBSOCKET_ORIGINS=["https://app.example.com"]
    ) as server:
        if allowed:
            async with connect(
                server.room("lobby"), additional_headers=headers
            ) as alice:
                assert (await receive(alice))["type"] == "welcome"
        else:
            with pytest.raises(InvalidStatus) as refused:
                async with connect(server.room("lobby"), additional_headers=headers):
                    pass
            assert refused.value.response.status_code == 403


async def test_a_route_broadcasts_through_the_manager(
    websocket_server: ServerFactory,
) -> None:
    router = APIRouter()

    @router.post("/orders/{order_id}/ship", status_code=204)
    async def ship(order_id: int, websockets: WebSocketManagerDep) -> None:
        await websockets.broadcast(f"orders.{order_id}", {"status": "shipped"})

    async with (
        websocket_server(router=router) as server,
        connect(server.room("orders.42")) as bob,
        httpx.AsyncClient(base_url=server.http_url) as http,
    ):
        await receive(bob)
        response = await http.post("/orders/42/ship")
        assert response.status_code == 204
        message: dict[str, Any] = await receive(bob)
        assert message == {
            "type": "message",
            "room": "orders.42",
            "data": {"status": "shipped"},
            "sender": None,
        }


async def test_a_closed_connection_leaves_every_room(
    websocket_server: ServerFactory,
) -> None:
    async with websocket_server() as server, connect(server.room("lobby")) as bob:
        await receive(bob)
        async with connect(server.room("lobby")) as alice:
            await receive(alice)
            await send(alice, {"type": "join", "room": "kitchen"})
            await receive(alice)
            assert server.manager.members("lobby") == 2
        await members_become(server, "lobby", 1)
        assert server.manager.members("kitchen") == 0
        assert server.manager.connections == 1
        # The room still works for those who stayed.
        await send(bob, {"type": "broadcast", "room": "lobby", "data": "still here"})
        assert (await receive(bob))["data"] == "still here"
