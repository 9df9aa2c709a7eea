"""Real servers for the WebSocket tests, and a client's helpers.

`serve(app)` runs an application on uvicorn inside the test's event loop (the test can
look at its manager); `app_processes(n)` starts `uvicorn app.main:app` in `n` processes
of their own, configured through the environment, as in production.
"""

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

PROJECT_ROOT = Path(__file__).resolve().parents[3]
# Seconds to wait for a message, a close or a server start before the test fails.
TIMEOUT = 10.0
# Seconds a uvicorn process may take to answer /health/live: busy machines are slow.
START_TIMEOUT = 120.0


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """Run `app` (with its lifespan) on uvicorn in this event loop; yields the
    `ws://` base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        deadline = time.monotonic() + TIMEOUT
        while not server.started:
            if task.done():
                raise RuntimeError("uvicorn stopped before it started")
            if time.monotonic() > deadline:
                raise TimeoutError("uvicorn did not start")
            await asyncio.sleep(0.01)
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task  # raises what stopped uvicorn, if anything did


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextmanager
def app_processes(count: int, log_dir: Path, **environment: str) -> Iterator[list[str]]:
    """Start `count` processes of `uvicorn app.main:app` on free ports, with the
    test's environment plus `environment`; yields their `ws://` base URLs once each
    answers `/health/live`, and stops them afterwards."""
    env = os.environ | {"ENVIRONMENT": "test"} | environment
    ports = [free_port() for _ in range(count)]
    processes: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        for port in ports:
            log = log_dir / f"uvicorn-{port}.log"
            with log.open("wb") as out:
                command = [sys.executable, "-m", "uvicorn", "app.main:app"]
                command += ["--host", "127.0.0.1", "--port", str(port)]
                command += ["--no-access-log"]
                process = subprocess.Popen(
                    command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=out
                )
            processes.append((process, log))
        for port, (process, log) in zip(ports, processes, strict=True):
            _wait_until_live(port, process, log)
        yield [f"ws://127.0.0.1:{port}" for port in ports]
    finally:
        for process, _ in processes:
            process.terminate()
        for process, _ in processes:
            try:
                process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_live(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"uvicorn exited with {process.returncode}:\n{log.read_text()}"
            )
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1)
            if response.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"uvicorn did not answer on port {port}:\n{log.read_text()}")


async def receive(websocket: ClientConnection, answer_pings: bool = True) -> Any:
    """The next message, decoded; pings are answered and skipped unless told not to."""
    while True:
        message = json.loads(await asyncio.wait_for(websocket.recv(), TIMEOUT))
        if answer_pings and message == {"type": "ping"}:
            await send(websocket, {"type": "pong"})
            continue
        return message


async def send(websocket: ClientConnection, message: Any) -> None:
    await websocket.send(json.dumps(message))


async def assert_nothing_arrives(
    websocket: ClientConnection, seconds: float = 0.3
) -> None:
    """Fails when a message (other than a ping) arrives within `seconds`."""
    try:
        message = await asyncio.wait_for(receive(websocket), seconds)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected message: {message}")


async def close_code(websocket: ClientConnection) -> int | None:
    """Read until the server closes the connection; the code it closed with."""
    try:
        while True:
            await asyncio.wait_for(websocket.recv(), TIMEOUT)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None
