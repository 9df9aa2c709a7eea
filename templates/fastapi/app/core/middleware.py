"""The template's middleware, in one plain ASGI layer on every request's path.

`RequestContextMiddleware` does, for each HTTP request, from the outside in:

- gives it a request id (a valid incoming `X-Request-ID`, or a new one), echoed in
  the response and put on every log line written while it is handled;
- adds the security headers (app/core/security.py) to its response;
- CORS, when `CORS_ORIGINS` is set: Starlette's `CORSMiddleware` for requests with an
  `Origin` header; the others only get `Vary: Origin`, as Starlette would give them;
- refuses a Host header not in `TRUSTED_HOSTS` (Starlette's `TrustedHostMiddleware`
  decides; the hosts it accepted are remembered);
- makes every URL the application builds use `PUBLIC_BASE_URL`, when set;
- enforces the request body limits (app/core/limits.py) on requests that can have a
  body;
- answers an unhandled error with a JSON 500 (a client that disconnects mid-request
  is logged at INFO, in one line).

One layer instead of five: the request's headers are read once, the response's
headers are built from byte pairs prepared at startup, and `send` is wrapped once.
It is written as plain ASGI, not with `BaseHTTPMiddleware` (which runs the rest of the
app in another task, through a stream, on every request).
"""

import logging
import random
import re
from collections.abc import Awaitable, Iterable, Sequence

from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import error_response
from app.core.limits import LimitedReceive
from app.core.logging import reset_request_id, set_request_id
from app.core.security import PublicUrlMiddleware, security_headers

REQUEST_ID_HEADER = "X-Request-ID"

_HEADER_NAME = REQUEST_ID_HEADER.lower().encode("latin-1")
# What we accept from a client or proxy: short, printable, nothing to escape in a log.
_VALID_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:=+/-]{1,128}")
# Accepted Host header values remembered, at most (any more are checked every time).
_HOST_CACHE_SIZE = 256
# Where a request taking the CORS path keeps its context while CORSMiddleware runs.
_CONTEXT_KEY = "app.request_context"
_VARY = b"vary"

Headers = list[tuple[bytes, bytes]]

logger = logging.getLogger("app.errors")


# 128 random bits as 32 hex digits. An id needs to be unique, not secret: the `random`
# module (reseeded in forked workers) spares a system call per request, and
# `randbytes(16).hex()` is several times faster than formatting an int.
_random_bytes = random.randbytes


def _new_id() -> str:
    return _random_bytes(16).hex()


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == _HEADER_NAME:
            return _valid_request_id(value)
    return None


def _valid_request_id(value: bytes) -> str | None:
    if _VALID_REQUEST_ID.fullmatch(value):
        return value.decode("ascii")
    return None


class _ResponseHeaders:
    """The headers every response gets, prepared once: `add` appends them to a
    response's own, leaving any the response sets itself as it set them."""

    def __init__(self, security: Sequence[tuple[bytes, bytes]], csp: bytes, vary: bool):
        self.security = list(security)
        self.csp = (b"content-security-policy", csp)
        self.vary = vary
        # Fast path: the response sets none of these, so all are appended as they are.
        self.names = frozenset(
            [name for name, _ in self.security]
            + [self.csp[0]]
            + ([_VARY] if vary else [])
        )
        tail = ([(_VARY, b"Origin")] if vary else []) + self.security
        self.api_tail = [*tail, self.csp]
        self.html_tail = tail  # HTML pages (the docs) bring their own policy

    def add(
        self, headers: Iterable[tuple[bytes, bytes]], id_header: tuple[bytes, bytes]
    ) -> Headers:
        out = list(headers)
        is_html = clash = False
        for name, value in out:
            if name in self.names:
                clash = True
            elif name == b"content-type" and value.startswith(b"text/html"):
                is_html = True
        out.append(id_header)
        if not clash:
            out += self.html_tail if is_html else self.api_tail
            return out
        present = {name for name, _ in out}
        if self.vary:  # one Vary header, with Origin added (as Starlette's CORS does)
            values = [value for name, value in out if name == _VARY]
            merged = (_VARY, b", ".join([*values, b"Origin"]))
            if values:
                first = next(i for i, (name, _) in enumerate(out) if name == _VARY)
                out = [h for i, h in enumerate(out) if h[0] != _VARY or i == first]
                out[first] = merged
            else:
                out.append(merged)
        out += [header for header in self.security if header[0] not in present]
        if not is_html and self.csp[0] not in present:
            out.append(self.csp)
        return out


class _Sender:
    """The request's `send`: adds the response headers, remembers the response began."""

    __slots__ = ("send", "headers", "id_header", "started")

    def __init__(
        self, send: Send, headers: _ResponseHeaders, id_header: tuple[bytes, bytes]
    ) -> None:
        self.send = send
        self.headers = headers
        self.id_header = id_header
        self.started = False

    # Not a coroutine function: it hands back the server's own awaitable, so a message
    # passes through without a coroutine of ours around it.
    def __call__(self, message: Message) -> Awaitable[None]:
        if message["type"] == "http.response.start":
            self.started = True
            message["headers"] = self.headers.add(
                message.get("headers", ()), self.id_header
            )
        return self.send(message)


async def _accept(scope: Scope, receive: Receive, send: Send) -> None:
    scope[_CONTEXT_KEY + ".host_ok"] = True


class RequestContextMiddleware:
    """The template's request handling around the application (see the module's
    docstring); `create_app` installs it with the settings' values."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_size: int,
        hsts: bool = False,
        trusted_hosts: Sequence[str] = ("*",),
        public_base_url: str | None = None,
        cors_origins: Sequence[str] = (),
        cors_allow_credentials: bool = False,
    ) -> None:
        self.app = app
        self.max_body_size = max_body_size
        security, csp = security_headers(hsts=hsts)
        self.plain = _ResponseHeaders(security, csp, vary=bool(cors_origins))
        self.cross_origin = _ResponseHeaders(security, csp, vary=False)
        self.public = (
            PublicUrlMiddleware(app, base_url=public_base_url)
            if public_base_url is not None
            else None
        )
        self.host_check = (
            None
            if "*" in trusted_hosts
            else TrustedHostMiddleware(_accept, allowed_hosts=trusted_hosts)
        )
        self.hosts_ok: set[bytes] = set()
        self.cors = (
            CORSMiddleware(
                self._after_cors,
                allow_origins=cors_origins,
                allow_credentials=cors_allow_credentials,
                allow_methods=["*"],
                allow_headers=["*"],
                expose_headers=[REQUEST_ID_HEADER],
            )
            if cors_origins
            else None
        )
        # Websockets: the host check and public URL as Starlette's middleware do them.
        websocket: ASGIApp = self.public if self.public is not None else app
        if self.host_check is not None:
            websocket = TrustedHostMiddleware(websocket, allowed_hosts=trusted_hosts)
        self.websocket = websocket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "websocket":
                token = set_request_id(_incoming_request_id(scope) or _new_id())
                try:
                    await self.websocket(scope, receive, send)
                finally:
                    reset_request_id(token)
            else:
                await self.app(scope, receive, send)
            return

        # The request's headers, read once.
        request_id = host = origin = None
        body = False
        for name, value in scope["headers"]:
            if name == b"host":
                if host is None:
                    host = value
            elif name == _HEADER_NAME:
                if request_id is None:
                    request_id = _valid_request_id(value) or ""
            elif name == b"origin":
                origin = value
            elif name == b"content-length":
                body = body or value != b"0"
            elif name == b"transfer-encoding":
                body = True
        if not request_id:
            request_id = _new_id()
        if scope.get("http_version") not in ("1.1", "1.0"):
            body = True  # HTTP/2 and later may send a body without Content-Length

        token = set_request_id(request_id)
        id_header = (_HEADER_NAME, request_id.encode("ascii"))
        try:
            if origin is not None and self.cors is not None:
                sender = _Sender(send, self.cross_origin, id_header)
                scope[_CONTEXT_KEY] = (sender, host, body)
                await self.cors(scope, receive, sender)
            else:
                sender = _Sender(send, self.plain, id_header)
                await self._handle(scope, receive, sender, sender, host, body)
        finally:
            reset_request_id(token)

    async def _after_cors(self, scope: Scope, receive: Receive, send: Send) -> None:
        sender, host, body = scope.pop(_CONTEXT_KEY)
        await self._handle(scope, receive, send, sender, host, body)

    async def _handle(
        self,
        scope: Scope,
        receive: Receive,
        respond: Send,
        sender: _Sender,
        host: bytes | None,
        body: bool,
    ) -> None:
        """The rest, with `respond` the `send` to answer through (CORS's, or the
        request's own) and `sender` the one that knows whether the response began."""
        try:
            if self.host_check is not None and host not in self.hosts_ok:
                await self.host_check(scope, receive, respond)
                if not scope.pop(_CONTEXT_KEY + ".host_ok", False):
                    return  # refused: Starlette's answer is sent
                if host is not None and len(self.hosts_ok) < _HOST_CACHE_SIZE:
                    self.hosts_ok.add(host)
            if self.public is not None:
                self.public.rewrite(scope)
            if body:
                receive = LimitedReceive(scope, receive, self.max_body_size)
            await self.app(scope, receive, respond)
        except ClientDisconnect:
            # The client left before its request was read: nobody to answer, nothing
            # broken here. One line, not an error with a traceback.
            logger.info(
                "Client disconnected during %s %s", scope["method"], scope["path"]
            )
        except Exception:
            logger.exception("Unhandled error on %s %s", scope["method"], scope["path"])
            if sender.started:  # too late for a clean 500
                raise
            response = error_response(500, "Internal server error.")
            await response(scope, receive, respond)
