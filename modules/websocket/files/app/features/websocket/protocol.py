"""The JSON messages spoken over `/api/v1/ws/{room}`: one JSON object per text frame.

Client to server:

    {"type": "join", "room": "lobby"}                       -> joined
    {"type": "leave", "room": "lobby"}                      -> left
    {"type": "broadcast", "room": "lobby", "data": <any>}   -> message, to the room
    {"type": "ping"}                                        -> pong
    {"type": "pong"}                                        (the answer to a ping)

Server to client:

    {"type": "welcome", "id": "<connection id>", "rooms": ["lobby"],
     "ping_interval": 20.0, "ping_timeout": 20.0}
    {"type": "joined", "room": "lobby"}
    {"type": "left", "room": "lobby"}
    {"type": "message", "room": "lobby", "data": <any>, "sender": "<id>" | null}
    {"type": "ping"} / {"type": "pong"}
    {"type": "error", "error": {"code": "not_in_room", "message": "..."}}

Room names: 1 to 64 letters, digits and `_ . : -`.
"""

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter

ROOM_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
Room = Annotated[str, Field(pattern=ROOM_PATTERN)]

# Close codes (1000-2999 are the protocol's, 4000-4999 the application's).
CLOSE_GOING_AWAY = 1001  # the server shuts down
CLOSE_POLICY_VIOLATION = 1008  # origin refused, or too slow to read its messages
CLOSE_MESSAGE_TOO_BIG = 1009
CLOSE_INTERNAL_ERROR = 1011
CLOSE_TRY_AGAIN_LATER = 1013  # too many connections (when no HTTP 503 can be sent)
CLOSE_HEARTBEAT_TIMEOUT = 4408  # no answer to a ping in time


class _ClientMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Join(_ClientMessage):
    type: Literal["join"]
    room: Room


class Leave(_ClientMessage):
    type: Literal["leave"]
    room: Room


class Broadcast(_ClientMessage):
    type: Literal["broadcast"]
    room: Room
    data: JsonValue


class Ping(_ClientMessage):
    type: Literal["ping"]


class Pong(_ClientMessage):
    type: Literal["pong"]


ClientMessage = Annotated[
    Join | Leave | Broadcast | Ping | Pong, Field(discriminator="type")
]
client_message: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)


def encode(message: dict[str, Any]) -> str:
    """A server message as the text of one frame. Raises ValueError for NaN and
    infinities, which Python's JSON parser accepts and JSON has not."""
    return json.dumps(
        message, ensure_ascii=False, allow_nan=False, separators=(",", ":")
    )


def room_message(room: str, data: JsonValue, sender: str | None) -> str:
    return encode({"type": "message", "room": room, "data": data, "sender": sender})


def error(code: str, message: str) -> str:
    return encode({"type": "error", "error": {"code": code, "message": message}})


PING = encode({"type": "ping"})
PONG = encode({"type": "pong"})
