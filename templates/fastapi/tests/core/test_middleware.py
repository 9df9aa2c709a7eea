"""The request-context middleware's own shortcuts keep the behaviour of the
middleware they replace: remembered hosts, CORS only for requests with an Origin,
response headers the application sets itself, body limits without Content-Length."""

import json
from collections.abc import Callable, MutableMapping
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response

from app.core.features import Feature
from tests.conftest import ClientFactory

ORIGIN = "https://app.example.com"


def echo_feature() -> Feature:
    router = APIRouter()

    @router.get("/own-headers")
    async def own_headers() -> Response:
        return Response(
            "{}",
            media_type="application/json",
            headers={
                "Vary": "Accept-Encoding",
                "X-Frame-Options": "SAMEORIGIN",
                "Content-Security-Policy": "default-src 'self'",
            },
        )

    @router.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    return Feature(name="echo", router=router)


async def test_an_accepted_host_does_not_open_the_door_to_others(
    make_client: ClientFactory,
) -> None:
    async with make_client(TRUSTED_HOSTS=["api.example.com"]) as client:
        statuses = [
            (await client.get("/health/live", headers={"Host": host})).status_code
            for host in ["api.example.com", "evil.com", "api.example.com", "evil.com"]
        ]
        missing = await client.get("/health/live", headers={"Host": ""})
    assert statuses == [200, 400, 200, 400]
    assert missing.status_code == 400


async def test_a_refused_host_gets_the_usual_headers(
    make_client: ClientFactory,
) -> None:
    async with make_client(TRUSTED_HOSTS=["api.example.com"]) as client:
        response = await client.get("/health/live", headers={"Host": "evil.com"})
    assert response.status_code == 400
    assert response.headers["x-content-type-options"] == "nosniff"
    assert len(response.headers["x-request-id"]) == 32


async def test_without_origin_a_cors_app_only_varies_on_origin(
    make_client: ClientFactory,
) -> None:
    async with make_client([echo_feature()], CORS_ORIGINS=[ORIGIN]) as client:
        plain = await client.get("/health/live")
        own = await client.get("/own-headers")
        cross = await client.get("/health/live", headers={"Origin": ORIGIN})
    assert plain.headers.get_list("vary") == ["Origin"]
    assert "access-control-allow-origin" not in plain.headers
    # The application's own Vary is kept, with Origin added, in one header.
    assert own.headers.get_list("vary") == ["Accept-Encoding, Origin"]
    assert cross.headers["access-control-allow-origin"] == ORIGIN
    assert cross.headers.get_list("vary") == ["Origin"]
    for response in (plain, cross):
        assert response.headers["x-frame-options"] == "DENY"
        assert "x-request-id" in response.headers


async def test_no_vary_without_cors(make_client: ClientFactory) -> None:
    async with make_client([echo_feature()]) as client:
        plain = await client.get("/health/live")
        own = await client.get("/own-headers")
    assert "vary" not in plain.headers
    assert own.headers.get_list("vary") == ["Accept-Encoding"]


async def test_headers_the_response_sets_are_kept(make_client: ClientFactory) -> None:
    async with make_client([echo_feature()]) as client:
        response = await client.get("/own-headers")
    assert response.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert response.headers.get_list("content-security-policy") == [
        "default-src 'self'"
    ]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


async def _send_http2(app: FastAPI, body: bytes) -> tuple[int, dict[str, int]]:
    """POST `body` to /echo as an HTTP/2 server would: no Content-Length, no
    Transfer-Encoding, the body in several messages."""
    chunks = [body[i : i + 512] for i in range(0, len(body), 512)] or [b""]
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "2",
        "method": "POST",
        "scheme": "http",
        "path": "/echo",
        "raw_path": b"/echo",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
        "state": {},
    }
    await app(scope, receive, send)
    status: int = sent[0]["status"]
    payload = b"".join(m["body"] for m in sent if m["type"] == "http.response.body")
    return status, json.loads(payload)


async def test_a_body_without_content_length_is_limited_too(
    make_app: Callable[..., FastAPI],
) -> None:
    app = make_app([echo_feature()], MAX_REQUEST_BODY_SIZE=1024)
    small = await _send_http2(app, b"x" * 1000)
    large = await _send_http2(app, b"x" * 3000)
    assert small == (200, {"received": 1000})
    assert large[0] == 413
