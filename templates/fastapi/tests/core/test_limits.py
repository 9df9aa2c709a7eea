"""Request body limits: no client makes the server hold more than a route allows."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from fastapi import APIRouter, Request

from app.core.features import Feature
from app.core.limits import body_limit
from tests.conftest import ClientFactory
from tests.server import MiB, app_server, assert_peak_growth

ITEMS = "/api/v1/items"


async def chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """A body of `total` bytes sent without a Content-Length."""
    for start in range(0, total, size):
        yield b" " * min(size, total - start)


def limits_feature() -> Feature:
    router = APIRouter(prefix="/limits")

    @router.post("/default")
    async def default(request: Request) -> int:
        return len(await request.body())

    @router.post("/small")
    @body_limit(100)
    async def small(request: Request) -> int:
        return len(await request.body())

    @router.post("/streamed")
    @body_limit(None)
    async def streamed(request: Request) -> int:
        return sum([len(chunk) async for chunk in request.stream()])

    return Feature(name="limits", router=router)


async def test_a_declared_body_over_the_limit_is_refused(
    make_client: ClientFactory,
) -> None:
    async with make_client(MAX_REQUEST_BODY_SIZE=4096) as client:
        response = await client.post(
            ITEMS,
            content=b"{" + b" " * 5000,
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert "4096 bytes" in error["message"]


async def test_a_streamed_body_is_cut_off_at_the_limit(
    make_client: ClientFactory,
) -> None:
    async with make_client(MAX_REQUEST_BODY_SIZE=4096) as client:
        response = await client.post(
            ITEMS,
            content=chunks(10_000, 1000),
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 413


async def test_routes_set_their_own_limits(make_client: ClientFactory) -> None:
    features = [limits_feature()]
    async with make_client(features, MAX_REQUEST_BODY_SIZE=4096) as client:
        assert (
            await client.post("/limits/default", content=b"x" * 4096)
        ).json() == 4096
        assert (
            await client.post("/limits/default", content=b"x" * 4097)
        ).status_code == 413
        assert (await client.post("/limits/small", content=b"x" * 100)).json() == 100
        assert (
            await client.post("/limits/small", content=b"x" * 101)
        ).status_code == 413
        streamed = await client.post("/limits/streamed", content=chunks(MiB))
        assert streamed.json() == MiB
        # A body under the limit, and none at all, are untouched.
        created = await client.post(ITEMS, json={"name": "Lamp", "price": "19.90"})
        assert created.status_code == 201, created.text
        assert (await client.get(ITEMS)).status_code == 200


async def _send(port: int, path: str, total: int, *, declared: bool) -> str:
    """POST `total` bytes of JSON-ish body as fast as the server takes them; the
    status line of the answer, or what ended the attempt."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    )
    head += (
        f"Content-Length: {total}\r\n" if declared else "Transfer-Encoding: chunked\r\n"
    )
    chunk = b"[" + b"1," * (32 * 1024)
    try:
        writer.write((head + "\r\n").encode())
        sent = 0
        while sent < total:
            part = chunk[: total - sent]
            writer.write(part if declared else b"%x\r\n%s\r\n" % (len(part), part))
            await writer.drain()
            sent += len(part)
        if not declared:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 60)
        return line.decode(errors="replace").strip()
    except (ConnectionError, TimeoutError) as exc:
        try:  # the server may have answered before it stopped reading
            line = await asyncio.wait_for(reader.readline(), 5)
            return line.decode(errors="replace").strip() or type(exc).__name__
        except (ConnectionError, TimeoutError):
            return type(exc).__name__
    finally:
        writer.close()


async def test_large_bodies_do_not_grow_the_server(tmp_path: Path) -> None:
    """Four clients each sending 200 MiB of JSON (streamed and declared): the server
    refuses each at 1 MiB and its peak memory stays flat (it used to read them whole
    before answering 422)."""
    with app_server(tmp_path) as server:
        for _ in range(3):  # warm up: imports, first connections
            await asyncio.to_thread(httpx.get, f"{server.url}{ITEMS}")
        before = server.peak_rss()
        results = await asyncio.gather(
            *(
                _send(server.port, ITEMS, 200 * MiB, declared=declared)
                for declared in (False, True, False, True)
            )
        )
        assert_peak_growth(server, before, 100 * MiB, "4 bodies of 200 MiB")
    for result in results:
        assert " 200 " not in result and " 201 " not in result, results
    assert any(" 413 " in result for result in results), results
