"""Security helpers: response headers, the public URL, secrets."""

import hmac
import secrets
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

# Nothing may be loaded, framed or submitted by an API response rendered in a browser.
API_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
HSTS = "max-age=63072000; includeSubDomains"


def security_headers(
    *, hsts: bool = False, content_security_policy: str = API_CONTENT_SECURITY_POLICY
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The security headers every HTTP response gets unless it sets them itself, as
    raw header pairs, and the Content-Security-Policy, which every response gets
    except HTML pages (the interactive docs, an admin UI: they need their own
    policy). HSTS only when `hsts` is true (production, behind HTTPS).
    `RequestContextMiddleware` (app/core/middleware.py) adds them."""
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
    ]
    if hsts:
        headers.append((b"strict-transport-security", HSTS.encode("latin-1")))
    return headers, content_security_policy.encode("latin-1")


# The request headers PublicUrlMiddleware replaces with the public host.
_REPLACED_HEADERS = (b"host", b"x-forwarded-host")


class PublicUrlMiddleware:
    """Makes every URL the application builds (redirects, `url_for`, `request.url`)
    point at `base_url` (`https://api.example.com`), whatever Host header, scheme or
    `X-Forwarded-*` the request came with: a client cannot steer links elsewhere.

    `RequestContextMiddleware` applies it after the trusted host check, which still
    sees the request's own Host header.
    """

    def __init__(self, app: ASGIApp, *, base_url: str) -> None:
        self.app = app
        parts = urlsplit(base_url)
        self.scheme = parts.scheme
        self.host_header = (b"host", parts.netloc.encode("latin-1"))
        port = parts.port or (443 if parts.scheme == "https" else 80)
        self.server = (parts.hostname or "", port)

    def rewrite(self, scope: Scope) -> None:
        """Point `scope` (http or websocket) at the public URL.

        Changed in place, not copied: middleware outside this one (metrics) reads what
        the router adds to the scope."""
        if scope["type"] == "http":
            scope["scheme"] = self.scheme
        else:
            scope["scheme"] = "wss" if self.scheme == "https" else "ws"
        scope["server"] = self.server
        # The pairs themselves are kept, not unpacked and built again.
        headers = [h for h in scope["headers"] if h[0] not in _REPLACED_HEADERS]
        headers.append(self.host_header)
        scope["headers"] = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            self.rewrite(scope)
        await self.app(scope, receive, send)


def generate_secret_key(nbytes: int = 48) -> str:
    """A random URL-safe key, fit for `SECRET_KEY`."""
    return secrets.token_urlsafe(nbytes)


def constant_time_equals(a: str | bytes, b: str | bytes) -> bool:
    """Compare secrets (tokens, signatures) in time that does not depend on how
    much of them matches."""
    a_bytes = a.encode() if isinstance(a, str) else a
    b_bytes = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(a_bytes, b_bytes)
