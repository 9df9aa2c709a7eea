#!/usr/bin/env python3
"""What authentication costs: throughput of `GET /api/v1/probe` (a route that asks who
is calling, `CurrentPrincipal`, and names them) in

  (b) the project `paxx-compose new --feature auth` generates, called anonymously
      (no credentials: the authenticator returns at once) and with a bearer access
      token (the JWT verified, then the user and the session checked in PostgreSQL:
      one query, and one for the user's roles);
  (a) a bare FastAPI app doing the same JWT check by hand (bench/bare_auth_app.py),
      anonymously and with the same token, without a database; and with the token
      followed by the generated app's query (`/api/v1/probe-db`).

The probe route is added to the generated project by this script (the template has
no route that asks for a principal without requiring one). Both apps run under
uvicorn with the same flags from the same environment, with production settings; wrk
sends the load. Rounds interleave the four cases (the order rotates); each figure is
the median over rounds, and a ratio is taken within each round, then its median.

Usage: auth_overhead.py --bin PAXX_COMPOSE [--work DIR] [--rounds N] [--seconds S]
              [--connections C]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from common import BenchError, machine, table
from overhead import APP_SETTINGS, Server, free_port, get, prepare, run, stop_server, wrk

HERE = Path(__file__).resolve().parent
PROBE = "/api/v1/probe"
KEY = "bench:" + "a-benchmark-signing-key-" + "0123456789abcdefghijklmnopqrstuvwxyz"
SETTINGS = APP_SETTINGS | {
    "AUTH_SIGNING_KEYS": KEY,
    "AUTH_ACCESS_TOKEN_MINUTES": "120",
    "PUBLIC_BASE_URL": "http://127.0.0.1",
    "BENCH_AUTH_KEY": KEY,
}
FLAGS = ["--no-access-log", "--log-level", "warning"]
# case: (server, with the token, path)
CASES = {
    "b-anonymous": ("b", False, PROBE),
    "b-bearer": ("b", True, PROBE),
    "a-anonymous": ("a", False, PROBE),
    "a-bearer": ("a", True, PROBE),
    "a-bearer-db": ("a", True, PROBE + "-db"),
}
NAMES = {
    "b-anonymous": "(b) generated app, anonymous",
    "b-bearer": "(b) generated app, bearer token",
    "a-anonymous": "(a) bare FastAPI, anonymous",
    "a-bearer": "(a) bare FastAPI, bearer token, JWT only",
    "a-bearer-db": "(a) bare FastAPI, bearer token, JWT + the same query",
}
PROBE_ROUTE = '''"""Added by bench/auth_overhead.py: who is calling."""

from fastapi import APIRouter

from app.core.principal import CurrentPrincipal

router = APIRouter()


@router.get("/probe")
async def probe(principal: CurrentPrincipal) -> dict[str, str | None]:
    return {"principal": principal.id if principal else None}
'''


def start(key: str, python: str, project: Path, work: Path, env: dict[str, str]) -> Server:
    port = free_port()
    if key == "a":
        target, cwd = ["bare_auth_app:app", "--app-dir", str(HERE)], work
    else:
        target, cwd = ["app.main:app"], project
    cmd = [python, "-m", "uvicorn", *target, "--host", "127.0.0.1", "--port", str(port), "--workers", "1", *FLAGS]
    log = work / f"server-{key}.log"
    out = log.open("wb")
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(key, port, proc, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"server ({key}) exited {proc.returncode} at start; see {log}")
        try:
            if get(server.url("/health/live"), 1.0)[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    stop_server(server)
    raise BenchError(f"server ({key}) did not answer /health/live within 90 s; see {log}")


def post(url: str, data: bytes, content_type: str) -> dict:
    request = urllib.request.Request(url, data=data, headers={"Host": "127.0.0.1", "Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def access_token(server: Server) -> str:
    email, password = "bench@example.com", "a benchmark passphrase"
    body = json.dumps({"email": email, "password": password}).encode()
    try:
        post(server.url("/api/v1/auth/register"), body, "application/json")
    except urllib.error.HTTPError as exc:
        if exc.code != 409:
            raise
    form = f"username={email}&password={password.replace(' ', '+')}".encode()
    tokens = post(server.url("/api/v1/auth/token"), form, "application/x-www-form-urlencoded")
    return str(tokens["access_token"])


def answer(server: Server, headers: dict[str, str], path: str = PROBE) -> dict:
    request = urllib.request.Request(server.url(path), headers={"Host": "127.0.0.1", **headers})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def setup(binary: str, work: Path) -> tuple[Path, dict[str, str], str]:
    project = work / "auth"
    log = work / "setup.log"
    env = dict(os.environ)
    env.setdefault("UV_CACHE_DIR", str(Path.home() / ".cache" / "paxx-e2e-uv"))
    env["UV_PROJECT_ENVIRONMENT"] = ".venv"
    env.pop("VIRTUAL_ENV", None)
    run([binary, "new", str(project), "--name", "benchapp", "--feature", "auth"], work, env, log)
    (project / "app" / "api" / "routes" / "probe.py").write_text(PROBE_ROUTE)
    with (project / "app" / "api" / "main.py").open("a") as f:
        f.write("\nfrom app.api.routes import probe  # noqa: E402\n\nAPI_ROUTERS.append(probe.router)\n")
    with (project / "paxx.toml").open("a") as f:
        f.write(f"\n[ports]\npostgres = {free_port()}\n")
    print("installing the project's environment (uv sync) …", flush=True)
    run(["uv", "sync", "--python", sys.executable], project, env, log)
    return project, env, str(project / ".venv" / "bin" / "python")


def report(results: dict[str, list[dict]], seconds: int, connections: int) -> None:
    def ratio(case: str, base: str) -> float:
        return statistics.median(x["rps"] / y["rps"] for x, y in zip(results[case], results[base], strict=True))

    rows = []
    for case, runs in results.items():
        rps = [x["rps"] for x in runs]
        rows.append(
            [
                NAMES[case],
                f"{statistics.median(rps):,.0f}",
                f"{min(rps):,.0f}–{max(rps):,.0f}",
                f"{statistics.median(x['p50_us'] for x in runs) / 1000:.2f}",
                f"{statistics.median(x['p99_us'] for x in runs) / 1000:.2f}",
                f"{statistics.median(x['cpu_us_per_request'] for x in runs):,.0f}",
            ]
        )
    print(
        table(
            ["case", "req/s", "req/s range", "p50 ms", "p99 ms", "server CPU µs/req"],
            rows,
            [False, True, True, True, True, True],
        )
    )
    print(
        f"\nOne {seconds} s run of wrk per case and round (1 thread, {connections} connections, keep-alive); "
        "medians over rounds.\n"
    )
    lines = [
        f"(b) with a bearer token keeps {ratio('b-bearer', 'b-anonymous'):.0%} of its anonymous throughput",
        f"(a) with a bearer token keeps {ratio('a-bearer', 'a-anonymous'):.0%} of its anonymous throughput",
        f"(b) with a bearer token reaches {ratio('b-bearer', 'a-bearer'):.0%} of (a) with the same token, JWT only",
        f"(b) with a bearer token reaches {ratio('b-bearer', 'a-bearer-db'):.0%} of (a) with the token and the query",
        f"(a) with the token and the query keeps {ratio('a-bearer-db', 'a-anonymous'):.0%} of (a) anonymous",
        f"(b) anonymous reaches {ratio('b-anonymous', 'a-anonymous'):.0%} of (a) anonymous (the template's stack)",
    ]
    print("\n".join(f"- {line}" for line in lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", default="/tmp/paxx-bench/auth")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    binary, work = prepare(args.bin, args.work)
    print("## What authentication costs\n")
    print(f"machine: {machine()}")
    project = None
    env: dict[str, str] = {}
    servers: dict[str, Server] = {}
    try:
        project, env, python = setup(binary, work)
        run([binary, "up", "--detach"], project, env, work / "setup.log")
        env.update(
            json.loads(
                subprocess.run(
                    [binary, "env", "--json"], cwd=project, check=True, capture_output=True, text=True
                ).stdout
            )
        )
        env.update(SETTINGS)
        run([python, "-m", "alembic", "upgrade", "heads"], project, env, work / "setup.log")
        for key in ("a", "b"):
            servers[key] = start(key, python, project, work, env)
        bearer = {"Authorization": f"Bearer {access_token(servers['b'])}"}
        answers = {key: answer(server, bearer) for key, server in servers.items()}
        answers["a-db"] = answer(servers["a"], bearer, PROBE + "-db")
        if len({json.dumps(a) for a in answers.values()}) != 1 or answers["a"]["principal"] is None:
            raise BenchError(f"the apps answer the token differently: {answers}")
        if any(answer(server, {}) != {"principal": None} for server in servers.values()):
            raise BenchError("an app does not answer an anonymous request with no principal")
        headers = {case: bearer if with_token else {} for case, (_, with_token, _) in CASES.items()}
        for case, (key, _, path) in CASES.items():  # warm-up
            wrk(servers[key], path, max(1, args.seconds // 3), args.connections, headers=headers[case])
        results: dict[str, list[dict]] = {case: [] for case in CASES}
        order = list(CASES)
        for r in range(args.rounds):
            for case in order[r % len(order) :] + order[: r % len(order)]:
                key, _, path = CASES[case]
                results[case].append(wrk(servers[key], path, args.seconds, args.connections, headers=headers[case]))
            print(f"  round {r + 1}/{args.rounds} done", flush=True)
        report(results, args.seconds, args.connections)
        (work.parent / "auth-results.json").write_text(json.dumps(results, indent=1))
    except (BenchError, OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        print(f"auth benchmark failed: {exc}", file=sys.stderr)
        return 1
    finally:
        for server in servers.values():
            stop_server(server)
        if project is not None and (project / "paxx.toml").exists():
            subprocess.run([binary, "down"], cwd=project, env=env or None, capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
