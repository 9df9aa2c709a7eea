"""The largest message a client may send, enforced by the server's WebSocket parser.

A WebSocket message reaches the application only once the server has read all of it:
uvicorn reads up to its `--ws-max-size` (16 MiB unless told otherwise) per connection
before `WEBSOCKET_MAX_MESSAGE_BYTES` is checked, so forty clients sending 15 MB each
cost the process hundreds of MiB. `limit_incoming_messages` lowers that limit for one
connection inside the server's own parser, before the connection is accepted: a
larger message is then refused (close 1009) as soon as its frame header announces the
size, with nothing of it buffered.

It knows uvicorn's three WebSocket implementations (`--ws websockets-sansio`, the
default with the `websockets` package; `websockets`; `wsproto`). Under another server
it returns False and the application's own check, once the message has arrived, is all
there is: give that server a message size limit of its own.
"""

from typing import Any

from starlette.websockets import WebSocket


def _server_connection(websocket: WebSocket) -> Any:
    """The server's protocol object behind `websocket`: the owner of the `receive`
    callable the server handed to the application, which every middleware here passes
    on unchanged for WebSockets."""
    receive = getattr(websocket, "_receive", None)
    return getattr(receive, "__self__", None)


def limit_incoming_messages(websocket: WebSocket, max_bytes: int) -> bool:
    """Make the server refuse messages over `max_bytes` on this connection; call it
    before `accept`. Returns whether the server was one it knows."""
    protocol = _server_connection(websocket)
    if protocol is None:
        return False
    sansio = getattr(protocol, "conn", None)  # websockets' sans-I/O ServerProtocol
    if sansio is not None:
        if hasattr(sansio, "max_message_size"):  # websockets 15 and later
            sansio.max_message_size = max_bytes
            return True
        if hasattr(sansio, "max_size"):
            sansio.max_size = max_bytes
            return True
    buffer = getattr(protocol, "buffer", None)  # wsproto: the message being assembled
    if buffer is not None and hasattr(buffer, "max_length"):
        buffer.max_length = max_bytes
        return True
    if isinstance(getattr(protocol, "max_size", None), int):  # websockets' legacy
        protocol.max_size = max_bytes
        return True
    return False
