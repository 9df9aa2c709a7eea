"""The request context middleware: request id and last-resort error handling.

Written as plain ASGI, not with `BaseHTTPMiddleware` (which runs the rest of the app
in another task, through a stream, on every request): it is on every request's path.
"""

import logging
import random
import re

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import error_response
from app.core.logging import reset_request_id, set_request_id

REQUEST_ID_HEADER = "X-Request-ID"

_HEADER_NAME = REQUEST_ID_HEADER.lower().encode("latin-1")
# What we accept from a client or proxy: short, printable, nothing to escape in a log.
_VALID_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:=+/-]{1,128}")

logger = logging.getLogger("app.errors")


def _new_id() -> str:
    # 128 random bits as 32 hex digits. An id needs to be unique, not secret: the
    # `random` module (reseeded in forked workers) spares a system call per request.
    return f"{random.getrandbits(128):032x}"


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == _HEADER_NAME:
            if _VALID_REQUEST_ID.fullmatch(value):
                return str(value.decode("ascii"))
            return None
    return None


class RequestContextMiddleware:
    """Gives every request an id and answers unhandled errors with a JSON 500
    (a client that disconnects mid-request is logged at INFO, in one line).

    The id is taken from a valid incoming `X-Request-ID` header or generated; it is
    echoed in the response's `X-Request-ID` and put on every log line written while
    the request is handled (uvicorn's access log line included). `create_app` adds
    this middleware inside the security headers and CORS ones, so that the 500 it
    sends gets their headers too.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                token = set_request_id(_incoming_request_id(scope) or _new_id())
                try:
                    await self.app(scope, receive, send)
                finally:
                    reset_request_id(token)
            else:
                await self.app(scope, receive, send)
            return

        request_id = _incoming_request_id(scope) or _new_id()
        token = set_request_id(request_id)
        id_header = (_HEADER_NAME, request_id.encode("ascii"))
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            # The client left before its request was read: nobody to answer, nothing
            # broken here. One line, not an error with a traceback.
            logger.info(
                "Client disconnected during %s %s", scope["method"], scope["path"]
            )
        except Exception:
            logger.exception("Unhandled error on %s %s", scope["method"], scope["path"])
            if response_started:  # too late for a clean 500
                raise
            response = error_response(500, "Internal server error.")
            await response(scope, receive, send_with_id)
        finally:
            reset_request_id(token)
