"""WebSocket rooms: `/api/v1/ws/{room}` joins a room, then JSON messages join and leave
more rooms and broadcast to them (see `protocol.py`). The server pings silent clients
and closes those that do not answer. With the redis feature enabled, broadcasts reach
the room's members on every instance through Redis pub/sub (see `broker.py`).

Broadcast from your own code with the manager:

    from app.features.websocket import WebSocketManagerDep

    @router.post("/orders/{order_id}/ship")
    async def ship(order_id: int, websockets: WebSocketManagerDep) -> None:
        await websockets.broadcast(f"orders.{order_id}", {"status": "shipped"})
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.core.features import Feature
from app.features.websocket.broker import BroadcastError, make_broker
from app.features.websocket.config import WebSocketSettings, get_websocket_settings
from app.features.websocket.manager import ConnectionManager
from app.features.websocket.router import (
    WebSocketManagerDep,
    get_connection_manager,
    router,
)

__all__ = [
    "BroadcastError",
    "ConnectionManager",
    "WebSocketManagerDep",
    "WebSocketSettings",
    "create_feature",
    "feature",
    "get_connection_manager",
    "get_websocket_settings",
]


def create_feature(settings: WebSocketSettings | None = None) -> Feature:
    """The feature with `settings` (default: read from the environment when the
    application starts)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        current = settings or get_websocket_settings()
        manager = ConnectionManager(current, make_broker(current))
        await manager.start()
        app.state.websocket_manager = manager
        try:
            yield
        finally:
            await manager.stop()
            del app.state.websocket_manager

    return Feature(name="websocket", router=router, lifespan=lifespan)


feature = create_feature()
