"""Connections, rooms and the fan-out of broadcasts.

Each connection runs three tasks: a reader (the client's messages), a writer (drains a
bounded queue of outgoing frames, so that one slow client never holds up a broadcast
to the others) and a heartbeat (pings a silent client, closes it when it does not
answer). The first of them to end ends the connection; the manager then takes it out
of its rooms.

A broadcast goes to the broker, which hands it back to `ConnectionManager.deliver` on
every instance: directly in this process (`LocalBroker`), or through Redis pub/sub when
the redis feature is enabled (see `broker.py`).
"""

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from pydantic import JsonValue, ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from app.core.errors import error_response
from app.features.websocket import protocol
from app.features.websocket.broker import BroadcastError, Broker
from app.features.websocket.config import WebSocketSettings

logger = logging.getLogger(__name__)

# Seconds `stop()` waits for connections to close before it stops the broker anyway.
SHUTDOWN_TIMEOUT = 5.0

# `handle(connection, text)`: act on one message from the client.
Handler = Callable[["Connection", str], Awaitable[None]]


class Connection:
    """One client's WebSocket: its rooms and its queue of outgoing frames."""

    def __init__(self, websocket: WebSocket, settings: WebSocketSettings) -> None:
        self.id = uuid.uuid4().hex
        self.websocket = websocket
        self.rooms: set[str] = set()
        self._settings = settings
        self._outbox: asyncio.Queue[str] = asyncio.Queue(settings.WEBSOCKET_SEND_QUEUE)
        self._last_seen = time.monotonic()
        self._closing = asyncio.Event()
        self._close_code = protocol.CLOSE_GOING_AWAY
        self._close_reason = ""

    @property
    def close_code(self) -> int | None:
        """The code the server closes with, None while it is not closing."""
        return self._close_code if self._closing.is_set() else None

    def send(self, text: str) -> None:
        """Queue one frame. A client that lets its queue fill up is closed."""
        if self._closing.is_set():
            return
        try:
            self._outbox.put_nowait(text)
        except asyncio.QueueFull:
            logger.warning(
                "WebSocket client too slow, closing it", extra={"connection": self.id}
            )
            self.close(protocol.CLOSE_POLICY_VIOLATION, "too slow to read messages")

    def close(self, code: int, reason: str = "") -> None:
        """Ask the connection to close (the first request wins)."""
        if not self._closing.is_set():
            self._close_code, self._close_reason = code, reason
            self._closing.set()

    async def run(self, handle: Handler) -> None:
        """Serve the connection until the client leaves, misses a heartbeat, or
        `close()` is called; `handle` gets the text of each message."""
        tasks = [
            asyncio.create_task(self._read(handle)),
            asyncio.create_task(self._write()),
            asyncio.create_task(self._heartbeat()),
            asyncio.create_task(self._closing.wait()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, WebSocketDisconnect | OSError):
                pass  # a send to a client that has just gone
            elif isinstance(result, Exception):
                logger.error(
                    "WebSocket connection failed",
                    exc_info=result,
                    extra={"connection": self.id},
                )
                self.close(protocol.CLOSE_INTERNAL_ERROR, "internal error")
        await self._send_close()

    async def _read(self, handle: Handler) -> None:
        limit = self._settings.WEBSOCKET_MAX_MESSAGE_BYTES
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            self._last_seen = time.monotonic()
            text: str | None = message.get("text")
            if text is None:
                size = len(message.get("bytes") or b"")
            else:
                size = len(text.encode())
            if size > limit:
                self.close(protocol.CLOSE_MESSAGE_TOO_BIG, f"over {limit} bytes")
                return
            if text is None:
                self.send(protocol.error("invalid_message", "send JSON in text frames"))
                continue
            await handle(self, text)

    async def _write(self) -> None:
        while True:
            text = await self._outbox.get()
            await self.websocket.send_text(text)

    async def _heartbeat(self) -> None:
        interval = self._settings.WEBSOCKET_PING_INTERVAL
        timeout = self._settings.WEBSOCKET_PING_TIMEOUT
        while True:
            idle = time.monotonic() - self._last_seen
            if idle < interval:
                await asyncio.sleep(interval - idle)
                continue
            pinged = time.monotonic()
            self.send(protocol.PING)
            await asyncio.sleep(timeout)
            if self._last_seen < pinged:
                self.close(protocol.CLOSE_HEARTBEAT_TIMEOUT, "heartbeat timeout")
                return

    async def _send_close(self) -> None:
        websocket = self.websocket
        if (
            websocket.client_state == WebSocketState.CONNECTED
            and websocket.application_state == WebSocketState.CONNECTED
        ):
            try:
                await websocket.close(self._close_code, self._close_reason)
            except Exception:  # the client went away meanwhile
                logger.debug("WebSocket close failed", extra={"connection": self.id})


class ConnectionManager:
    """The connections of this process and the rooms they are in."""

    def __init__(self, settings: WebSocketSettings, broker: Broker) -> None:
        self.settings = settings
        self.broker = broker
        self._connections: dict[str, Connection] = {}
        self._rooms: dict[str, set[Connection]] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._admitted = 0
        self._full = False

    async def start(self) -> None:
        await self.broker.start(self.deliver)

    async def stop(self) -> None:
        """Close every connection (1001, going away), then stop the broker."""
        for connection in list(self._connections.values()):
            connection.close(protocol.CLOSE_GOING_AWAY, "server shutting down")
        try:
            await asyncio.wait_for(self._idle.wait(), SHUTDOWN_TIMEOUT)
        except TimeoutError:
            logger.warning("WebSocket connections still open at shutdown")
        await self.broker.stop()

    async def serve(self, websocket: WebSocket, room: str) -> None:
        """Accept `websocket` into `room` and serve it until it closes; refuse it at
        the handshake (503) while WEBSOCKET_MAX_CONNECTIONS are served already."""
        limit = self.settings.WEBSOCKET_MAX_CONNECTIONS
        if self._admitted >= limit:
            if not self._full:  # once per episode, not once per refused client
                logger.warning(
                    "WebSocket connections at WEBSOCKET_MAX_CONNECTIONS (%d): "
                    "refusing new ones until some leave",
                    limit,
                )
                self._full = True
            await _refuse_busy(websocket)
            return
        # Counted before the first await: handshakes in flight count too.
        self._admitted += 1
        try:
            await self._serve(websocket, room)
        finally:
            self._admitted -= 1
            if self._admitted < limit:
                self._full = False

    async def _serve(self, websocket: WebSocket, room: str) -> None:
        await websocket.accept()
        connection = Connection(websocket, self.settings)
        self._connections[connection.id] = connection
        self._idle.clear()
        self._add(connection, room)
        logger.info(
            "WebSocket connected", extra={"connection": connection.id, "room": room}
        )
        connection.send(
            protocol.encode(
                {
                    "type": "welcome",
                    "id": connection.id,
                    "rooms": [room],
                    "ping_interval": self.settings.WEBSOCKET_PING_INTERVAL,
                    "ping_timeout": self.settings.WEBSOCKET_PING_TIMEOUT,
                }
            )
        )
        try:
            await connection.run(self._handle)
        finally:
            for joined in list(connection.rooms):
                self._remove(connection, joined)
            del self._connections[connection.id]
            if not self._connections:
                self._idle.set()
            logger.info(
                "WebSocket disconnected",
                extra={"connection": connection.id, "code": connection.close_code},
            )

    async def broadcast(
        self, room: str, data: JsonValue, sender: str | None = None
    ) -> None:
        """Send `data` to everyone in `room`, on every instance. Call it from your own
        code too (`WebSocketManagerDep` in a route); `sender` is then None."""
        await self.broker.publish(room, protocol.room_message(room, data, sender))

    def deliver(self, room: str, text: str) -> None:
        """Queue a frame for this process's members of `room` (the broker calls it)."""
        for connection in list(self._rooms.get(room, ())):
            connection.send(text)

    def members(self, room: str) -> int:
        """How many connections of this process are in `room`."""
        return len(self._rooms.get(room, ()))

    @property
    def connections(self) -> int:
        return len(self._connections)

    def _add(self, connection: Connection, room: str) -> None:
        connection.rooms.add(room)
        self._rooms.setdefault(room, set()).add(connection)

    def _remove(self, connection: Connection, room: str) -> None:
        connection.rooms.discard(room)
        members = self._rooms.get(room)
        if members is not None:
            members.discard(connection)
            if not members:
                del self._rooms[room]

    async def _handle(self, connection: Connection, text: str) -> None:
        try:
            message = protocol.client_message.validate_json(text)
        except ValidationError as exc:
            connection.send(protocol.error("invalid_message", _summary(exc)))
            return
        match message:
            case protocol.Join(room=room):
                self._join(connection, room)
            case protocol.Leave(room=room):
                self._remove(connection, room)
                connection.send(protocol.encode({"type": "left", "room": room}))
            case protocol.Broadcast(room=room, data=data):
                await self._broadcast_from(connection, room, data)
            case protocol.Ping():
                connection.send(protocol.PONG)
            case protocol.Pong():
                pass  # it has refreshed the heartbeat, as every message does

    def _join(self, connection: Connection, room: str) -> None:
        limit = self.settings.WEBSOCKET_MAX_ROOMS
        if room not in connection.rooms and len(connection.rooms) >= limit:
            message = f"a connection may be in {limit} rooms"
            connection.send(protocol.error("too_many_rooms", message))
            return
        self._add(connection, room)
        connection.send(protocol.encode({"type": "joined", "room": room}))

    async def _broadcast_from(
        self, connection: Connection, room: str, data: JsonValue
    ) -> None:
        if room not in connection.rooms:
            message = f"join {room!r} to broadcast to it"
            connection.send(protocol.error("not_in_room", message))
            return
        try:
            await self.broadcast(room, data, sender=connection.id)
        except ValueError:  # NaN or an infinity
            message = "data: numbers must be finite"
            connection.send(protocol.error("invalid_message", message))
        except BroadcastError as exc:
            logger.warning("WebSocket broadcast failed: %s", exc)
            message = "the broadcast was not sent; try again"
            connection.send(protocol.error("unavailable", message))


async def _refuse_busy(websocket: WebSocket) -> None:
    """An HTTP 503 instead of the handshake where the server can send one (uvicorn
    can), otherwise close 1013 (try again later)."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        response = error_response(
            503,
            "Too many WebSocket connections; try again later.",
            headers={"Retry-After": "10"},
        )
        await websocket.send_denial_response(response)
    else:
        await websocket.close(protocol.CLOSE_TRY_AGAIN_LATER, "too many connections")


def _summary(exc: ValidationError) -> str:
    """The first problem of a validation error, without the input echoed back."""
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]
