"""The generated README's quick start, run exactly as written.

The README is a contract with the user: every ```sh block under a heading named "Quick
start" (the template's, and any a feature's section brings) is run line by line with
`bash -c`, in the project's folder, in a fresh shell environment: none of the services'
settings exported, so the project has to find them itself. Each line runs as written,
except:

- `nix develop …` is skipped, and said: nixpkgs cannot be fetched on the machine these
  tests run on, so the tools come from PATH (Debian's and uv's), not from the dev shell.
- A long-running line runs in the background, as in a terminal of its own:
  `paxx-compose up` (without `--detach`), until it prints that all services are ready,
  and a `uvicorn` server, until `/health/ready` answers 200; then `/openapi.json` must
  carry the project's name as the API's title and `/docs` must answer. At the end each
  gets Ctrl-C (SIGINT to its process group, as a terminal sends it) and must stop.

What the harness configures rather than the README says: the services' ports (`[ports]` in
paxx.toml, set before) and uvicorn's (UVICORN_PORT), so that runs beside each other never
clash; the interpreter (UV_PYTHON) and a shared uv cache; `paxx-compose` on PATH.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^(```+|~~~+)\s*(\S*)")
READY_TIMEOUT = 900  # a first `up` may install a fallback server from PyPI
# What `paxx-compose up` prints once every service is ready (and its setup has run).
ALL_READY = re.compile(r"\ball ready\b")
STOP_TIMEOUT = 120


def blocks(readme: str) -> list[list[str]]:
    """The lines of each shell block under a "Quick start" heading, in order."""
    found: list[list[str]] = []
    level = 0  # the open Quick start heading's level; 0 outside one
    fence = ""
    current: list[str] | None = None
    for line in readme.splitlines():
        if fence:
            if line.startswith(fence):
                fence = ""
                if current is not None:
                    found.append(current)
                current = None
            elif current is not None:
                current.append(line)
            continue
        opening = FENCE.match(line)
        if opening:
            fence = opening[1]
            if level and opening[2] in ("sh", "bash", "shell", "console"):
                current = []
            continue
        heading = HEADING.match(line)
        if heading:
            depth = len(heading[1])
            if heading[2].lower() == "quick start":
                level = depth
            elif level and depth <= level:
                level = 0
    return found


def commands(block: list[str]) -> list[str]:
    """The lines a shell would run: not blank, not only a comment."""
    return [line for line in block if line.strip() and not line.lstrip().startswith("#")]


@dataclass
class Result:
    ok: bool = True
    seconds: float = 0.0
    # One line per README line: what happened to it.
    lines: list[str] = field(default_factory=list)


@dataclass
class Background:
    command: str
    process: subprocess.Popen[bytes]
    log: Path


def _kind(command: str) -> str:
    words = command.split("#", 1)[0].split()
    if words[:2] == ["nix", "develop"]:
        return "skip"
    if words[:2] == ["paxx-compose", "up"] and "--detach" not in words and "-d" not in words:
        return "services"
    if "uvicorn" in words:
        return "server"
    return "run"


def _http(url: str) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


def _stop(job: Background) -> tuple[bool, str]:
    """Ctrl-C to the job's process group; SIGKILL if it does not stop in time."""
    try:
        os.killpg(job.process.pid, signal.SIGINT)
    except ProcessLookupError:
        pass
    try:
        code = job.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(job.process.pid, signal.SIGKILL)
        job.process.wait()
        return False, f"did not stop within {STOP_TIMEOUT} s of Ctrl-C (killed)"
    return True, f"stopped on Ctrl-C (exit {code})"


def _tail(path: Path, lines: int = 30) -> str:
    text = path.read_text(errors="replace").splitlines() if path.exists() else []
    return "\n".join(text[-lines:])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Runner:
    """Runs one project's quick start; `result` says what happened to each line."""

    def __init__(self, project: Path, env: dict[str, str], log: Path, name: str, uvicorn_port: int) -> None:
        self.project, self.env, self.log, self.name = project, env, log, name
        self.base = f"http://127.0.0.1:{uvicorn_port}"
        self.result = Result()
        self.jobs: list[Background] = []

    def note(self, ok: bool, command: str, what: str) -> None:
        self.result.ok &= ok
        self.result.lines.append(f"{'ok  ' if ok else 'FAIL'}  {_shown(command)}: {what}")
        with self.log.open("a") as out:
            out.write(f"[quick start] {'ok' if ok else 'FAILED'}: {command}: {what}\n")

    def line(self, command: str, index: int) -> None:
        kind, start = _kind(command), time.monotonic()

        def took() -> str:
            return f"{time.monotonic() - start:.1f} s"

        if kind == "skip":
            self.result.lines.append(
                f"skip  {_shown(command)}: not run here (Nix cannot fetch nixpkgs on this machine; "
                "the tools come from PATH)"
            )
        elif kind == "services":
            job = self.background(command, index)
            why = self.wait_for(job, lambda: ALL_READY.search(job.log.read_text(errors="replace")) is not None)
            self.note(why is None, command, why or f"all ready in {took()} (in the background)")
        elif kind == "server":
            # A port picked just now: one picked at the project's start may have been taken
            # meanwhile (the test suite's own servers pick free ports the same way).
            port = _free_port()
            self.env = {**self.env, "UVICORN_PORT": str(port)}
            self.base = f"http://127.0.0.1:{port}"
            job = self.background(command, index)
            why = self.wait_for(job, lambda: _http(f"{self.base}/health/ready")[0] == 200) or _probe(
                self.base, self.name
            )
            promised = f"/health/ready 200, /openapi.json titled {self.name!r}, /docs 200"
            self.note(why is None, command, why or f"serving in {took()}: {promised}")
        else:
            code = self.foreground(command)
            self.note(code == 0, command, f"exit {code} in {took()}")

    def foreground(self, command: str) -> int:
        with self.log.open("ab") as out:
            out.write(f"\n$ {command}\n".encode())
            out.flush()
            try:
                return subprocess.run(
                    ["bash", "-c", command],
                    cwd=self.project,
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=READY_TIMEOUT,
                ).returncode
            except subprocess.TimeoutExpired:
                return -1

    def background(self, command: str, index: int) -> Background:
        """Started as in a terminal of its own: a new session, so Ctrl-C reaches its group."""
        job_log = self.log.with_name(f"{self.log.stem}.quickstart-{index}.log")
        with self.log.open("a") as out:
            out.write(f"\n$ {command}   (in the background, output in {job_log.name})\n")
        with job_log.open("wb") as out:
            process = subprocess.Popen(
                ["bash", "-c", command],
                cwd=self.project,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        job = Background(command, process, job_log)
        self.jobs.append(job)
        return job

    def wait_for(self, job: Background, ready: Callable[[], bool]) -> str | None:
        """None once `ready()`, else why it never was."""
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if ready():
                return None
            if job.process.poll() is not None:
                return f"exited ({job.process.returncode}) before it was ready:\n{_tail(job.log)}"
            time.sleep(1)
        return f"not ready after {READY_TIMEOUT} s:\n{_tail(job.log)}"

    def stop_all(self) -> None:
        for job in reversed(self.jobs):
            stopped, what = _stop(job)
            # `paxx-compose up` stops its services and exits 0 on Ctrl-C; uvicorn's exit
            # code on SIGINT is not part of the contract, stopping is.
            ok = stopped and (_kind(job.command) != "services" or job.process.returncode == 0)
            self.note(ok, job.command, what)
            with self.log.open("a") as out:
                out.write(f"--- output of `{job.command}`\n{_tail(job.log, 200)}\n")


def run(readme: Path, project: Path, env: dict[str, str], log: Path, name: str, uvicorn_port: int) -> Result:
    """Runs the quick start of `readme` in `project`; `name` is the project's name."""
    start = time.monotonic()
    runner = Runner(project, env, log, name, uvicorn_port)
    lines = [command for block in blocks(readme.read_text()) for command in commands(block)]
    if not lines:
        runner.note(False, readme.name, "no ```sh block under a Quick start heading")
    try:
        for index, command in enumerate(lines, 1):
            runner.line(command, index)
            if not runner.result.ok:
                break
    finally:
        runner.stop_all()
    runner.result.seconds = time.monotonic() - start
    return runner.result


def _shown(command: str) -> str:
    """The command without its comment, for the report."""
    return command.split("#", 1)[0].strip()


def _probe(base: str, name: str) -> str | None:
    """None when the running app answers as the README promises, else what is wrong."""
    status, body = _http(f"{base}/health/ready")
    if status != 200:
        return f"/health/ready answered {status}: {body[:300]!r}"
    status, body = _http(f"{base}/openapi.json")
    if status != 200:
        return f"/openapi.json answered {status}"
    title = json.loads(body).get("info", {}).get("title")
    if title != name:
        return f"the API's title is {title!r}, not the project's name {name!r}"
    status, _ = _http(f"{base}/docs")
    if status != 200:
        return f"/docs answered {status}"
    return None
