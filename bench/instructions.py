#!/usr/bin/env python3
"""The generated app's overhead counted in machine instructions per request, which the
machine's other load does not move: the same five endpoints and apps as overhead.py,
each served by uvicorn under valgrind's callgrind, which counts every instruction the
server process executes.

  (a)   a bare FastAPI app doing the same work (bench/bare_app.py),
  (a+h) the same app sending the response headers the template adds, through the
        thinnest layer that can add them (bench/floor_app.py): what those headers cost
        the server to write, whoever adds them,
  (b)   the project `paxx-compose new` generates from the base template,
  (c)   the same with every module of the catalog enabled (auth and ratelimit left out,
        as in overhead.py).

Per app and endpoint: warm-up requests, then the counters are zeroed (callgrind_control
-z), N requests are sent one after the other on one keep-alive connection, and the
counters are dumped (-d): instructions per request = the dump's total / N. Same
environment, settings, PostgreSQL and rows as overhead.py. A ratio (a)/(x) is the share
of (a)'s work per request in (x)'s: the throughput (x) would keep if the server's core
were the only limit. Instructions are not time (a cache miss costs more than an add),
so this complements overhead.py's throughput, which is the goal's measure, with a
figure that two runs agree on to a few tenths of a percent.

Usage: instructions.py --bin PAXX_COMPOSE [--work DIR] [--requests N] [--warmup N]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import BenchError, goal, machine, table
from overhead import (
    APP_SETTINGS,
    CREATE_BODY,
    ENDPOINTS,
    GOAL,
    HERE,
    VARIANTS,
    every_module,
    free_port,
    prepare,
    run,
    setup,
    start_server,
    start_services,
    stop_server,
    url_path,
    versions,
)

APPS = {
    "a": "bare FastAPI",
    "a+h": "bare FastAPI + the template's response headers",
    "b": "base template",
    "c": "every module",
}
SERVER_FLAGS = ["--workers", "1", *VARIANTS["off"]]  # as overhead.py serves them, access log off
# Under callgrind a Python server starts 20-50 times slower than natively.
START_TIMEOUT = 900


class Connection:
    """One keep-alive connection to a server, requests one after the other."""

    def __init__(self, port: int, timeout: float) -> None:
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, name: str) -> tuple[int, list[tuple[str, str]]]:
        method = ENDPOINTS[name][0]
        headers = {"Host": "127.0.0.1"}
        body = None
        if method == "POST":
            headers["Content-Type"] = "application/json"
            body = CREATE_BODY
        self.http.request(method, url_path(name), body=body, headers=headers)
        response = self.http.getresponse()
        response.read()
        return response.status, response.getheaders()

    def close(self) -> None:
        self.http.close()


def expected_status(name: str) -> int:
    return 201 if ENDPOINTS[name][0] == "POST" else 200


class CountedServer:
    """A uvicorn server running under callgrind, its counters zeroed and dumped around
    each measured stretch of requests."""

    def __init__(self, key: str, python: str, cwd: Path, target: list[str], env: dict[str, str], work: Path) -> None:
        self.key = key
        self.port = free_port()
        self.out = work / f"callgrind-{key}.out"
        self.log = work / f"server-{key}-callgrind.log"
        for old in work.glob(f"callgrind-{key}.out*"):
            old.unlink()
        cmd = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={self.out}",
            python,
            "-m",
            "uvicorn",
            *target,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *SERVER_FLAGS,
        ]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.dumps = 0
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise BenchError(f"({key}) under callgrind exited {self.proc.returncode} at start; see {self.log}")
            try:
                conn = Connection(self.port, 60)
                status, _ = conn.request("live")
                conn.close()
                if status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise BenchError(f"({key}) under callgrind did not answer within {START_TIMEOUT} s; see {self.log}")
            time.sleep(1)

    def control(self, option: str) -> None:
        subprocess.run(["callgrind_control", option, str(self.proc.pid)], check=True, capture_output=True, timeout=300)

    def instructions(self, name: str, requests: int, warmup: int) -> float:
        """Instructions per request on endpoint `name`."""
        conn = Connection(self.port, 300)
        try:
            for _ in range(warmup):
                self.check(name, conn.request(name)[0])
            self.control("-z")
            for _ in range(requests):
                self.check(name, conn.request(name)[0])
            self.control("-d")
        finally:
            conn.close()
        self.dumps += 1
        return self.total(Path(f"{self.out}.{self.dumps}")) / requests

    def check(self, name: str, status: int) -> None:
        if status != expected_status(name):
            raise BenchError(f"({self.key}) {' '.join(ENDPOINTS[name][:2])} answered {status}; see {self.log}")

    @staticmethod
    def total(dump: Path) -> int:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if dump.exists():
                for line in dump.read_text(errors="replace").splitlines():
                    if line.startswith(("summary:", "totals:")):
                        return int(line.split()[1])
            time.sleep(0.5)
        raise BenchError(f"callgrind wrote no total to {dump}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()


def added_headers(python: str, projects: dict[str, Path], env: dict[str, str], work: Path) -> list[tuple[str, str]]:
    """The headers the base template's `/health/live` answer has and the bare app's has
    not, as (b) sends them: what (a+h) adds. Both served natively, for one answer each."""
    answers = {}
    for key in ("a", "b"):
        server = start_server(key, python, projects[key], work, VARIANTS["off"], env, "headers")
        try:
            conn = Connection(server.port, 30)
            status, answers[key] = conn.request("live")
            conn.close()
        finally:
            stop_server(server)
        if status != 200:
            raise BenchError(f"({key}) answered /health/live {status}; see {server.log}")
    bare_names = {name.lower() for name, _ in answers["a"]}
    return [(name.lower(), value) for name, value in answers["b"] if name.lower() not in bare_names]


def app_target(key: str, projects: dict[str, Path]) -> tuple[list[str], Path]:
    if key == "a":
        return ["bare_app:app", "--app-dir", str(HERE)], projects["a"]
    if key == "a+h":
        return ["floor_app:app", "--app-dir", str(HERE)], projects["a"]
    return ["app.main:app"], projects[key]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", default="/tmp/paxx-bench/instructions")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=100)
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind (with callgrind_control) is required: apt-get install valgrind", file=sys.stderr)
        return 1
    binary, work = prepare(args.bin, args.work)
    features = every_module(binary)
    print("## Generated app overhead in instructions per request\n")
    print(f"machine: {machine()}")
    full = None
    env: dict[str, str] = {}
    try:
        base, full, env, python = setup(binary, work, features)
        print(f"versions: {versions(python)}; {valgrind_version()}")
        print(f"(c) enables: {', '.join(features)}")
        start_services(binary, full, python, env, APP_SETTINGS, work / "setup.log")
        projects = {"a": work, "a+h": work, "b": base, "c": full}
        extra = added_headers(python, projects, env, work)
        print(f"(a+h) adds: {', '.join(name for name, _ in extra)}")
        env_floor = dict(env, BENCH_EXTRA_HEADERS=json.dumps(extra))
        counts: dict[str, dict[str, float]] = {name: {} for name in ENDPOINTS}
        for key in APPS:
            run([python, str(HERE / "seed.py")], full, env, work / "setup.log")  # the same 50 rows for each
            target, cwd = app_target(key, projects)
            print(f"  ({key}): starting under callgrind …", flush=True)
            server = CountedServer(key, python, cwd, target, env_floor if key == "a+h" else env, work)
            try:
                for name in ENDPOINTS:  # create last: it adds rows
                    counts[name][key] = server.instructions(name, args.requests, args.warmup)
            finally:
                server.stop()
            print(f"  ({key}): done", flush=True)
    except (BenchError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        print(f"instruction benchmark failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if full is not None and (full / "paxx.toml").exists():
            subprocess.run([binary, "down"], cwd=full, env=env or None, capture_output=True)
    report(counts, args.requests)
    return 0


def valgrind_version() -> str:
    return subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip()


def report(counts: dict[str, dict[str, float]], requests: int) -> None:
    rows = []
    for name, (method, path) in ENDPOINTS.items():
        a = counts[name]["a"]
        rows.append(
            [
                f"`{method} {path}`",
                *(f"{counts[name][key] / 1000:,.1f}" for key in APPS),
                *(f"{a / counts[name][key]:.1%}" for key in ("a+h", "b", "c")),
                f"{counts[name]['a+h'] / counts[name]['b']:.1%}",
            ]
        )
    print()
    print(
        table(
            [
                "endpoint",
                *(f"({key}) k instr/req" for key in APPS),
                "(a)/(a+h)",
                "(a)/(b)",
                "(a)/(c)",
                "(a+h)/(b)",
            ],
            rows,
            [False] + [True] * (len(APPS) + 4),
        )
    )
    print(
        f"\nk instr/req: thousands of instructions the server process executed per request, over {requests} "
        "requests on one keep-alive connection after a warm-up (callgrind). (a)/(x): (a)'s count over (x)'s, the "
        "share of (x)'s work per request that a bare app does; (a)/(a+h): what the template's response headers "
        "alone leave, the ceiling for any implementation that sends them; (a+h)/(b): the template against that "
        "ceiling.\n"
    )
    for name, (method, path) in ENDPOINTS.items():
        for key in ("b", "c"):
            ratio = counts[name]["a"] / counts[name][key]
            what = f"({key}) at {ratio:.1%} of (a) in instructions per request on {method} {path}"
            print(goal(ratio >= GOAL, f"{what} ((a)'s count / ({key})'s; goal {GOAL:.0%})"))


if __name__ == "__main__":
    sys.exit(main())
