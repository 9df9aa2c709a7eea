"""The endpoint `/api/v1/ws/{room}` and the dependency for your own routes."""

from typing import Annotated, cast

from fastapi import APIRouter, Depends, Path, WebSocket
from starlette.requests import HTTPConnection

from app.core.config import API_V1_PREFIX
from app.features.websocket import protocol
from app.features.websocket.manager import ConnectionManager

router = APIRouter(prefix=f"{API_V1_PREFIX}/ws", tags=["websocket"])


def get_connection_manager(connection: HTTPConnection) -> ConnectionManager:
    """The running application's manager (set up by the feature's lifespan)."""
    manager = getattr(connection.app.state, "websocket_manager", None)
    if manager is None:
        raise RuntimeError("the websocket feature's lifespan is not running")
    return cast(ConnectionManager, manager)


WebSocketManagerDep = Annotated[ConnectionManager, Depends(get_connection_manager)]


@router.websocket("/{room}")
async def room_socket(
    websocket: WebSocket,
    room: Annotated[str, Path(pattern=protocol.ROOM_PATTERN)],
    manager: WebSocketManagerDep,
) -> None:
    """Join `room` and speak the JSON protocol of `protocol.py`."""
    allowed = manager.settings.WEBSOCKET_ORIGINS
    origin = websocket.headers.get("origin")
    # Browsers always send Origin; other clients need not, and are not the threat.
    if allowed and origin is not None and origin.rstrip("/") not in allowed:
        await websocket.close(protocol.CLOSE_POLICY_VIOLATION, "origin not allowed")
        return
    await manager.serve(websocket, room)
