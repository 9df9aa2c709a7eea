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


def run(
    readme: Path,
    project: Path,
    env: dict[str, str],
    log: Path,
    name: str,
    uvicorn_port: int,
) -> Result:
    """Runs the quick start of `readme` in `project`; `name` is the project's name."""
    result = Result()
    start = time.monotonic()
    found = blocks(readme.read_text())
    if not found:
        result.ok = False
        result.lines.append(f"FAIL  no ```sh block under a Quick start heading in {readme.name}")
        return result
    jobs: list[Background] = []

    def note(ok: bool, command: str, what: str) -> None:
        result.ok &= ok
        result.lines.append(f"{'ok  ' if ok else 'FAIL'}  {command.split('#', 1)[0].strip()}: {what}")
        with log.open("a") as out:
            out.write(f"[quick start] {'ok' if ok else 'FAILED'}: {command}: {what}\n")

    def background(command: str, index: int) -> Background:
        job_log = log.with_name(f"{log.stem}.quickstart-{index}.log")
        with log.open("a") as out:
            out.write(f"\n$ {command}   (in the background, output in {job_log.name})\n")
        process = subprocess.Popen(
            ["bash", "-c", command],
            cwd=project,
            env=env,
            stdout=job_log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        job = Background(command, process, job_log)
        jobs.append(job)
        return job

    def wait_for(job: Background, ready: Callable[[], bool]) -> str | None:
        """None once `ready()`, else why not."""
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if ready():
                return None
            if job.process.poll() is not None:
                return f"exited ({job.process.returncode}) before it was ready:\n{_tail(job.log)}"
            time.sleep(1)
        return f"not ready after {READY_TIMEOUT} s:\n{_tail(job.log)}"

    try:
        index = 0
        for block in found:
            for command in commands(block):
                if not result.ok:
                    break
                index += 1
                kind = _kind(command)
                t = time.monotonic()
                if kind == "skip":
                    result.lines.append(
                        f"skip  {command.split('#', 1)[0].strip()}: not run here (Nix cannot "
                        "fetch nixpkgs on this machine; the tools come from PATH)"
                    )
                elif kind == "services":
                    job = background(command, index)
                    why = wait_for(
                        job,
                        lambda job=job: re.search(r"\ball ready\b", job.log.read_text(errors="replace")) is not None,
                    )
                    note(why is None, command, why or f"all ready in {time.monotonic() - t:.1f} s (in the background)")
                elif kind == "server":
                    job = background(command, index)
                    base = f"http://127.0.0.1:{uvicorn_port}"
                    why = wait_for(job, lambda base=base: _http(f"{base}/health/ready")[0] == 200)
                    if why is None:
                        why = _probe(base, name)
                    note(
                        why is None,
                        command,
                        why
                        or f"serving in {time.monotonic() - t:.1f} s: /health/ready 200, "
                        f"/openapi.json titled {name!r}, /docs 200",
                    )
                else:
                    with log.open("ab") as out:
                        out.write(f"\n$ {command}\n".encode())
                        out.flush()
                        try:
                            code = subprocess.run(
                                ["bash", "-c", command],
                                cwd=project,
                                env=env,
                                stdout=out,
                                stderr=subprocess.STDOUT,
                                timeout=READY_TIMEOUT,
                            ).returncode
                        except subprocess.TimeoutExpired:
                            code = -1
                    note(code == 0, command, f"exit {code} in {time.monotonic() - t:.1f} s")
    finally:
        for job in reversed(jobs):
            stopped, what = _stop(job)
            # `paxx-compose up` stops its services and exits 0 on Ctrl-C; uvicorn's own exit
            # code on SIGINT is not part of the contract, stopping is.
            ok = stopped and (_kind(job.command) != "services" or job.process.returncode == 0)
            note(ok, job.command, what)
            with log.open("a") as out:
                out.write(f"--- output of `{job.command}`\n{_tail(job.log, 200)}\n")
    result.seconds = time.monotonic() - start
    return result


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
