"""The application in a uvicorn process of its own, for tests that attack it as a
client would and watch what it costs the server.

    with app_server(tmp_path, MAX_REQUEST_BODY_SIZE="65536") as server:
        httpx.get(f"{server.url}/health/live")
        assert server.peak_rss() < ...

The process runs `uvicorn app.main:app` from the project folder, with the test's
environment plus the given settings (and ENVIRONMENT=test unless given), exactly as a
deployment starts it.
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.database import PROJECT_ROOT

MiB = 1024 * 1024
# Seconds a server may take to answer /health/live: generous, machines can be busy.
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _status_field(pid: int, field: str) -> int:
    """A `kB` field of /proc/<pid>/status (VmRSS, VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def require_proc() -> None:
    if not Path("/proc/self/status").is_file():
        pytest.skip("peak memory is read from /proc/<pid>/status, which only Linux has")


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def rss(self) -> int:
        """Resident memory now, in bytes."""
        return _status_field(self.process.pid, "VmRSS")

    def peak_rss(self) -> int:
        """The most resident memory the process has had, in bytes."""
        return _status_field(self.process.pid, "VmHWM")

    def assert_alive(self) -> None:
        assert self.process.poll() is None, (
            f"the server exited with {self.process.returncode}:\n"
            + self.log.read_text(errors="replace")[-4000:]
        )


def assert_peak_growth(server: Server, before: int, bound: int, attack: str) -> None:
    """Fail with a message that says what the attack cost, if more than `bound`."""
    server.assert_alive()
    grown = server.peak_rss() - before
    assert grown < bound, (
        f"{attack}: the server's peak memory grew by {grown / MiB:.0f} MiB "
        f"(bound {bound / MiB:.0f} MiB; before {before / MiB:.0f} MiB)"
    )


@contextmanager
def app_server(log_dir: Path, *args: str, **settings: str) -> Iterator[Server]:
    """Run `uvicorn app.main:app` (plus `args`) on a free port until the block ends."""
    require_proc()
    port = free_port()
    env = os.environ | {"ENVIRONMENT": "test"} | settings
    log = log_dir / f"uvicorn-{port}.log"
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--no-access-log", *args]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=out
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_until_live(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_live(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        server.assert_alive()
        try:
            if httpx.get(f"{server.url}/health/live", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(
        f"uvicorn did not answer on {server.url} within {START_TIMEOUT:.0f} s:\n"
        + server.log.read_text(errors="replace")[-4000:]
    )
