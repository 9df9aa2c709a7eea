"""The endpoint `/api/v1/ws/{room}` and the dependency for your own routes."""

import logging
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Path, WebSocket
from starlette.requests import HTTPConnection

from app.core.config import API_V1_PREFIX, Settings
from app.features.websocket import protocol
from app.features.websocket.config import WebSocketSettings
from app.features.websocket.limits import limit_incoming_messages
from app.features.websocket.manager import ConnectionManager

logger = logging.getLogger(__name__)

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
    settings = manager.settings
    if not origin_allowed(websocket, settings):
        await websocket.close(protocol.CLOSE_POLICY_VIOLATION, "origin not allowed")
        return
    if not limit_incoming_messages(websocket, settings.WEBSOCKET_MAX_MESSAGE_BYTES):
        logger.debug(
            "Unknown server: WEBSOCKET_MAX_MESSAGE_BYTES is checked once a message "
            "has arrived whole; give the server a message size limit of its own"
        )
    await manager.serve(websocket, room)


def origin_allowed(websocket: WebSocket, settings: WebSocketSettings) -> bool:
    """Whether the page that opens `websocket` may: its Origin must be one of
    WEBSOCKET_ORIGINS, or else of the application's CORS_ORIGINS. With neither set,
    any origin may outside production, and none in production."""
    origin = websocket.headers.get("origin")
    # Browsers always send Origin; other clients need not, and are not the threat.
    if origin is None:
        return True
    app_settings = cast(Settings | None, getattr(websocket.app.state, "settings", None))
    allowed = settings.WEBSOCKET_ORIGINS or [
        allowed
        for allowed in (app_settings.CORS_ORIGINS if app_settings else [])
        if allowed != "*"
    ]
    if not allowed:
        return app_settings is None or not app_settings.is_production
    return origin.rstrip("/") in allowed
