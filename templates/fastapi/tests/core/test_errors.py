import logging
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import date

import pytest
from fastapi import APIRouter, FastAPI, HTTPException, Request
from httpx import AsyncClient
from starlette.types import Message

from app.core.errors import AppError, ConflictError
from app.core.features import Feature
from tests.conftest import ClientFactory


class OutOfStock(AppError):
    status_code = 409
    code = "out_of_stock"


def failing_feature() -> Feature:
    router = APIRouter(prefix="/fail")

    @router.get("/crash")
    async def crash() -> None:
        raise RuntimeError("password=hunter2 at db.internal:5432")

    @router.get("/http")
    async def http() -> None:
        raise HTTPException(
            status_code=403, detail="Not yours.", headers={"X-Reason": "owner"}
        )

    @router.get("/http-detail")
    async def http_detail() -> None:
        raise HTTPException(
            status_code=400, detail={"field": "sku", "at": date(2030, 1, 2)}
        )

    @router.get("/app")
    async def app_error() -> None:
        raise OutOfStock("Only 2 left.", details={"available": 2})

    @router.get("/conflict")
    async def conflict() -> None:
        raise ConflictError()

    return Feature(name="failing", router=router)


@pytest.fixture
async def failing_client(make_client: ClientFactory) -> AsyncIterator[AsyncClient]:
    async with make_client([failing_feature()]) as client:
        yield client


def assert_error_shape(body: dict[str, object]) -> dict[str, object]:
    assert set(body) == {"error"}
    error = body["error"]
    assert isinstance(error, dict)
    assert set(error) == {"code", "message", "details", "request_id"}
    return error


async def test_unknown_route_is_a_json_404(client: AsyncClient) -> None:
    response = await client.get("/nope", headers={"X-Request-ID": "r-404"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert assert_error_shape(response.json()) == {
        "code": "not_found",
        "message": "Not Found",
        "details": None,
        "request_id": "r-404",
    }


async def test_wrong_method_is_a_json_405(client: AsyncClient) -> None:
    response = await client.put("/health/live")
    assert response.status_code == 405
    assert assert_error_shape(response.json())["code"] == "method_not_allowed"
    assert response.headers["allow"] == "GET"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        # Two routes share each path: `Allow` names the methods of both.
        ("OPTIONS", "/api/v1/items", "GET, POST"),
        ("PUT", "/api/v1/items", "GET, POST"),
        ("POST", f"/api/v1/items/{uuid.uuid4()}", "GET, PATCH, DELETE"),
        ("DELETE", "/openapi.json", "GET, HEAD"),
    ],
)
async def test_405_allows_every_method_of_the_path(
    client: AsyncClient, method: str, path: str, allow: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow


async def test_validation_errors_list_each_problem(
    make_client: ClientFactory,
) -> None:
    # No feature: with auth enabled an anonymous write would be a 401 first.
    async with make_client([]) as client:
        response = await client.post("/api/v1/items", json={"name": "", "price": "x"})
    assert response.status_code == 422
    error = assert_error_shape(response.json())
    assert error["code"] == "validation_error"
    assert error["request_id"] == response.headers["x-request-id"]
    details = error["details"]
    assert isinstance(details, list)
    assert {tuple(d["loc"]) for d in details} == {("body", "name"), ("body", "price")}
    assert all(set(d) == {"loc", "msg", "type"} for d in details)


async def test_unhandled_errors_are_a_json_500_without_internals(
    failing_client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = await failing_client.get("/fail/crash")
    assert response.status_code == 500
    error = assert_error_shape(response.json())
    assert error == {
        "code": "internal_error",
        "message": "Internal server error.",
        "details": None,
        "request_id": response.headers["x-request-id"],
    }
    assert "hunter2" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.__dict__["request_id"] == response.headers["x-request-id"]
    assert record.exc_info is not None


async def test_http_exceptions_keep_message_and_headers(
    failing_client: AsyncClient,
) -> None:
    response = await failing_client.get("/fail/http")
    assert response.status_code == 403
    assert response.headers["x-reason"] == "owner"
    error = assert_error_shape(response.json())
    assert error["code"] == "forbidden"
    assert error["message"] == "Not yours."

    response = await failing_client.get("/fail/http-detail")
    error = assert_error_shape(response.json())
    assert error["message"] == "Bad Request"
    assert error["details"] == {"field": "sku", "at": "2030-01-02"}


async def test_app_errors(failing_client: AsyncClient) -> None:
    response = await failing_client.get("/fail/app")
    assert response.status_code == 409
    error = assert_error_shape(response.json())
    assert error["code"] == "out_of_stock"
    assert error["message"] == "Only 2 left."
    assert error["details"] == {"available": 2}

    response = await failing_client.get("/fail/conflict")
    assert response.status_code == 409
    assert assert_error_shape(response.json())["code"] == "conflict"


async def test_a_client_that_leaves_mid_request_is_one_info_line(
    make_app: Callable[..., FastAPI], caplog: pytest.LogCaptureFixture
) -> None:
    """A client that disconnects while sending its body is not an error of ours:
    it is logged once at INFO, without a traceback, and nothing is answered."""
    router = APIRouter()

    @router.post("/upload")
    async def upload(request: Request) -> int:
        return sum([len(chunk) async for chunk in request.stream()])

    app = make_app([Feature(name="upload", router=router)])
    incoming: list[Message] = [
        {"type": "http.request", "body": b"part of a file", "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/upload",
        "raw_path": b"/upload",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    caplog.set_level(logging.DEBUG)
    async with app.router.lifespan_context(app):
        await app(scope, receive, send)
    assert sent == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    (record,) = [r for r in caplog.records if "disconnected" in r.getMessage()]
    assert record.levelno == logging.INFO
    assert record.exc_info is None
    assert record.getMessage() == "Client disconnected during POST /upload"
