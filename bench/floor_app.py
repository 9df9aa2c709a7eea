"""(a+h) of the instruction benchmark: the bare FastAPI app of `bare_app.py` sending the
response headers the template adds, through the thinnest ASGI layer that can add them.

It generates no request id, checks no host, rewrites no URL: it only appends the same
header bytes the template's responses carry (`BENCH_EXTRA_HEADERS`, a JSON list of
[name, value] pairs read from the template's own answer). What it costs over (a) is
what those headers cost the server to write, whoever adds them: the floor under any
implementation of the template's features. Run it as `uvicorn floor_app:app --app-dir
bench` with DATABASE_URL set.
"""

import json
import os
from collections.abc import Awaitable

from bare_app import app as bare
from starlette.types import Message, Receive, Scope, Send

EXTRA_HEADERS = [
    (name.encode("latin-1"), value.encode("latin-1")) for name, value in json.loads(os.environ["BENCH_EXTRA_HEADERS"])
]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        await bare(scope, receive, send)
        return

    def send_with_headers(message: Message) -> Awaitable[None]:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *EXTRA_HEADERS]
        return send(message)

    await bare(scope, receive, send_with_headers)
