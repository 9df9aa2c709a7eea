import json
import logging
import re
from collections.abc import Callable, MutableMapping
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from httpx import AsyncClient

from app.core.features import Feature
from app.core.logging import JsonFormatter, configure_logging, get_request_id
from tests.conftest import ClientFactory

logger = logging.getLogger("tests.logging")


def logging_feature() -> Feature:
    router = APIRouter()

    @router.get("/log")
    async def log() -> dict[str, str | None]:
        logger.info("inside the request", extra={"answer": 42})
        return {"request_id": get_request_id()}

    return Feature(name="logging", router=router)


async def test_a_request_id_is_generated(client: AsyncClient) -> None:
    first = await client.get("/health/live")
    second = await client.get("/health/live")
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_a_valid_incoming_request_id_is_kept(client: AsyncClient) -> None:
    response = await client.get(
        "/health/live", headers={"X-Request-ID": "req-123_abc.def"}
    )
    assert response.headers["x-request-id"] == "req-123_abc.def"


@pytest.mark.parametrize(
    "incoming", ["", "x" * 129, "has space", 'quote"', "new\\nline", "é"]
)
async def test_an_invalid_incoming_request_id_is_replaced(
    client: AsyncClient, incoming: str
) -> None:
    response = await client.get(
        "/health/live", headers={b"X-Request-ID": incoming.encode()}
    )
    assert response.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_log_lines_carry_the_request_id(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with make_client([logging_feature()]) as client:
        response = await client.get("/log", headers={"X-Request-ID": "abc-123"})
    assert response.json() == {"request_id": "abc-123"}

    (record,) = [r for r in caplog.records if r.name == "tests.logging"]
    assert record.__dict__["request_id"] == "abc-123"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "inside the request"
    assert line["request_id"] == "abc-123"
    assert line["answer"] == 42
    assert line["level"] == "INFO"

    assert get_request_id() is None  # reset once the request is done


async def test_the_servers_access_log_line_carries_the_request_id(
    make_app: Callable[..., FastAPI], caplog: pytest.LogCaptureFixture
) -> None:
    """Uvicorn logs the access line while it sends the response start: inside the
    request's context."""
    caplog.set_level(logging.INFO)
    app = make_app()
    access_logger = logging.getLogger("uvicorn.access")
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/health/live",
        "raw_path": b"/health/live",
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "http_version": "1.1",
        "headers": [(b"host", b"testserver"), (b"x-request-id", b"from-proxy")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            args = ("127.0.0.1:50000", "GET", "/health/live", "1.1", message["status"])
            access_logger.info('%s - "%s %s HTTP/%s" %d', *args)

    await app(scope, receive, send)
    (record,) = [r for r in caplog.records if r.name == "uvicorn.access"]
    assert record.__dict__["request_id"] == "from-proxy"
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "from-proxy"
    assert line["method"] == "GET"
    assert line["path"] == "/health/live"
    assert line["status"] == 200


def test_configure_logging_keeps_uvicorns_access_log_off() -> None:
    access_logger = logging.getLogger("uvicorn.access")
    saved = access_logger.handlers[:], access_logger.propagate
    try:
        access_logger.handlers = []  # what `uvicorn --no-access-log` does
        access_logger.propagate = False
        configure_logging("INFO")
        assert not access_logger.hasHandlers()

        access_logger.handlers = [logging.NullHandler()]  # uvicorn's default
        configure_logging("INFO")
        assert access_logger.handlers == []
        assert access_logger.propagate
    finally:
        access_logger.handlers, access_logger.propagate = saved


def test_json_formatter_includes_exceptions(
    caplog: pytest.LogCaptureFixture,
) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    (record,) = caplog.records
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "failed"
    assert line["level"] == "ERROR"
    assert "ValueError: boom" in line["exception"]
    assert "request_id" not in line  # logged outside any request
