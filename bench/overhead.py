#!/usr/bin/env python3
"""The generated app's overhead: throughput and latency of `GET /health/live`,
`GET /health/ready`, `GET /api/v1/items?limit=50` (50 rows from PostgreSQL),
`GET /api/v1/items/{id}` and `POST /api/v1/items` (one insert; the 50 rows are
restored after each run) for

  (a) a bare FastAPI app doing the same work (bench/bare_app.py),
  (b) the project `paxx-compose new` generates from the base template,
  (c) the same with every module of the catalog enabled,

served by uvicorn with the same flags from the same environment (the (c) project's,
a superset of the others', so every package is the same version), against the same
PostgreSQL (the one `paxx-compose up` starts for (c)) holding the same 50 rows. wrk
sends the load from a second process over loopback for a fixed time per run and its
request counts are reported. In each round every endpoint is loaded on a, b and c one
after the other (the order rotates), and each figure is the median over rounds; a ratio
is taken within each round, then its median, with its quartiles to show the spread. Run
once with uvicorn's access log off and once with it on. The goal (issue 16): (b) and (c)
keep 90% of (a)'s throughput on every endpoint; p50 and p99 latencies are reported
against (a)'s too (as (a)'s latency / theirs), and the server's CPU time per request.

Usage: overhead.py --bin PAXX_COMPOSE [--work DIR] [--rounds N] [--seconds S]
              [--connections C] [--variants off,on] [--profile auto|always|never] [--py-spy PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from common import BenchError, goal, machine, table
from composition import catalog, compatible_all

HERE = Path(__file__).resolve().parent
GOAL = 0.90
# name -> (method, path); `{item}` is one of the seeded items' id.
ENDPOINTS = {
    "live": ("GET", "/health/live"),
    "ready": ("GET", "/health/ready"),
    "list": ("GET", "/api/v1/items?limit=50"),
    "get": ("GET", "/api/v1/items/{item}"),
    "create": ("POST", "/api/v1/items"),
}
CREATE_BODY = '{"name": "Created by the benchmark", "price": "2.50"}'
# One of seed.py's items (they are the same every run).
ITEM_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "paxx-bench-item-7"))
APPS = {"a": "bare FastAPI", "b": "base template", "c": "every module"}
VARIANTS = {
    "off": ["--no-access-log", "--log-level", "warning"],
    "on": ["--log-level", "info"],
}
# The settings of a production deployment: every middleware of the template is on.
APP_SETTINGS = {
    "ENVIRONMENT": "production",
    "SECRET_KEY": "benchmark-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "CORS_ORIGINS": "https://app.example.com",
    "TRUSTED_HOSTS": "127.0.0.1,localhost",
    "PUBLIC_BASE_URL": "https://api.example.com",
    # What production requires of the modules enabled in (c).
    "METRICS_BEARER_TOKEN": "benchmark-metrics-token-0123456789-abcdefghij",
    "LOG_JSON": "true",
    "LOG_LEVEL": "INFO",
    # Without auth, production requires audit's key to its log.
    "AUDIT_API_KEY": "benchmark-audit-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    # Production refuses to start auth without signing keys of its own.
    "AUTH_SIGNING_KEYS": "bench:a-benchmark-signing-key-0123456789abcdefghijklmnopqrstuvwxyz",
}
# Modules that change what the same requests do, so that (a) would no longer do the same
# work: not in (c), and said in the output.
LEFT_OUT = {
    "auth": "the item writes then need a token and a permission; its cost has a benchmark of its own (auth)",
    "ratelimit": "it answers the load generator 429 once over its limits; module_costs.py measures what it adds",
}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> None:
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        code = subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=900).returncode
    if code != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        raise BenchError(f"`{' '.join(cmd)}` exited {code}; last lines of {log}:\n{tail}")


def url_path(name: str) -> str:
    return ENDPOINTS[name][1].replace("{item}", ITEM_ID)


def get(url: str, timeout: float = 5.0, method: str = "GET", body: str | None = None) -> tuple[int, bytes]:
    headers = {"Host": "127.0.0.1"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    data = body.encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


@dataclass
class Server:
    key: str
    port: int
    proc: subprocess.Popen
    log: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def start_server(
    key: str, python: str, project: Path, work: Path, flags: list[str], env: dict[str, str], variant: str
) -> Server:
    port = free_port()
    if key == "a":
        target, cwd = ["bare_app:app", "--app-dir", str(HERE)], work
    else:
        target, cwd = ["app.main:app"], project
    cmd = [python, "-m", "uvicorn", *target, "--host", "127.0.0.1", "--port", str(port), "--workers", "1", *flags]
    log = work / f"server-{key}-{variant}.log"
    out = log.open("wb")
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(key, port, proc, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
            raise BenchError(f"server ({key}) exited {proc.returncode} at start:\n{tail}")
        try:
            if get(server.url("/health/live"), 1.0)[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    stop_server(server)
    raise BenchError(f"server ({key}) did not answer /health/live within 90 s; see {log}")


def stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        os.killpg(server.proc.pid, signal.SIGTERM)
        try:
            server.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(server.proc.pid, signal.SIGKILL)
            server.proc.wait()


def wrk(
    server: Server,
    path: str,
    seconds: int,
    connections: int,
    method: str = "GET",
    headers: dict[str, str] | None = None,
) -> dict:
    seconds = max(1, round(seconds))  # wrk takes whole seconds
    env = dict(os.environ, WRK_METHOD=method, WRK_BODY=CREATE_BODY if method == "POST" else "")
    header_args = [arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")]
    before = cpu_seconds(server.proc.pid)
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            *header_args,
            "-s",
            str(HERE / "wrk_report.lua"),
            server.url(path),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        env=env,
    )
    cpu = cpu_seconds(server.proc.pid) - before
    if out.returncode != 0:
        alive = "running" if server.proc.poll() is None else f"exited {server.proc.returncode}"
        tail = "\n".join(server.log.read_text(errors="replace").splitlines()[-30:])
        raise BenchError(
            f"wrk against ({server.key}) {path} failed ({out.returncode}): {out.stdout}{out.stderr}\n"
            f"server {alive}; last lines of {server.log}:\n{tail}"
        )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    errors = sum(result[k] for k in ("connect", "read", "write", "status", "timeout"))
    if errors:
        raise BenchError(f"{errors} failed request(s) against ({server.key}) {path}: {result}; see {server.log}")
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["cpu_us_per_request"] = cpu / max(result["requests"], 1) * 1e6
    return result


def check_same_answers(servers: dict[str, Server], reference: str = "a") -> None:
    """Like for like: the apps answer every endpoint as `reference` does: the same
    bodies (a new item: the same fields but its id and times; readiness: the same
    status, as (c) checks more dependencies)."""
    for name, (method, _) in ENDPOINTS.items():
        path = url_path(name)
        bodies = {}
        for key, server in servers.items():
            status, body = get(server.url(path), method=method, body=CREATE_BODY if method == "POST" else None)
            if status != (201 if method == "POST" else 200):
                raise BenchError(f"({key}) {method} {path} answered {status}: {body[:500]!r}")
            bodies[key] = json.loads(body)
            if name == "create":
                bodies[key] = {k: v for k, v in bodies[key].items() if k not in ("id", "created_at", "updated_at")}
            elif name == "ready":
                bodies[key] = bodies[key]["status"]
        if name == "list" and len(bodies[reference]["items"]) != 50:
            raise BenchError(f"expected 50 items, got {len(bodies[reference]['items'])}")
        if any(bodies[k] != bodies[reference] for k in bodies):
            raise BenchError(f"the apps answer {method} {path} differently: {json.dumps(bodies)[:2000]}")


def prepare(bin_arg: str, work_arg: str) -> tuple[str, Path]:
    """paxx-compose's resolved path, and the work folder, emptied."""
    binary = str(Path(bin_arg).resolve())
    work = Path(work_arg)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    os.chmod(work, 0o755)  # PostgreSQL may run as an unprivileged account when we are root
    return binary, work


def every_module(binary: str) -> list[str]:
    """The modules (c) enables: every one that goes together, but LEFT_OUT."""
    return [f for f in compatible_all(catalog(binary)) if f not in LEFT_OUT]


def setup(binary: str, work: Path, features: list[str]) -> tuple[Path, Path, dict[str, str], str]:
    base, full = work / "base", work / "all"
    log = work / "setup.log"
    env = dict(os.environ)
    env.setdefault("UV_CACHE_DIR", str(Path.home() / ".cache" / "paxx-e2e-uv"))
    env["UV_PROJECT_ENVIRONMENT"] = ".venv"
    env.pop("VIRTUAL_ENV", None)
    run([binary, "new", str(base), "--name", "benchapp"], work, env, log)
    run([binary, "new", str(full), "--name", "benchapp", "--feature", ",".join(features)], work, env, log)
    status = json.loads(
        subprocess.run([binary, "status", "--json"], cwd=full, check=True, capture_output=True, text=True).stdout
    )
    ports = {s["name"]: free_port() for s in status["services"] if s.get("port")}
    with (full / "paxx.toml").open("a") as f:
        f.write("\n[ports]\n" + "".join(f"{k} = {v}\n" for k, v in ports.items()))
    print("installing the (c) project's environment (uv sync) …", flush=True)
    run(["uv", "sync", "--python", sys.executable], full, env, log)
    return base, full, env, str(full / ".venv" / "bin" / "python")


def start_services(
    binary: str, full: Path, python: str, env: dict[str, str], settings: dict[str, str], log: Path
) -> None:
    """`up` the every-module project's services, take their settings into `env` (with
    `settings` over them), migrate its database and seed the 50 items."""
    run([binary, "up", "--detach"], full, env, log)
    env.update(
        json.loads(
            subprocess.run([binary, "env", "--json"], cwd=full, check=True, capture_output=True, text=True).stdout
        )
    )
    env.update(settings)
    run([python, "-m", "alembic", "upgrade", "heads"], full, env, log)
    run([python, str(HERE / "seed.py")], full, env, log)


def versions(python: str) -> str:
    code = (
        "import importlib.metadata as m, sys\n"
        "names = ['fastapi', 'starlette', 'pydantic', 'uvicorn', 'uvloop', 'httptools', 'sqlalchemy', 'asyncpg']\n"
        "print(f'Python {sys.version.split()[0]}, ' + ', '.join(f'{n} {m.version(n)}' for n in names))\n"
    )
    return subprocess.run([python, "-c", code], check=True, capture_output=True, text=True).stdout.strip()


def measure(
    python: str,
    projects: dict[str, Path],
    work: Path,
    env: dict[str, str],
    variant: str,
    rounds: int,
    seconds: int,
    connections: int,
    reseed: Callable[[], None],
) -> dict[str, dict[str, list[dict]]]:
    servers: dict[str, Server] = {}
    try:
        for key in APPS:
            servers[key] = start_server(key, python, projects[key], work, VARIANTS[variant], env, variant)
        check_same_answers(servers)
        reseed()
        for server in servers.values():  # warm-up: connections, caches, JIT-less but lazy imports
            for name, (method, _) in ENDPOINTS.items():
                wrk(server, url_path(name), max(1, seconds // 3), connections, method)
        reseed()
        results: dict[str, dict[str, list[dict]]] = {e: {k: [] for k in APPS} for e in ENDPOINTS}
        keys = list(APPS)
        for r in range(rounds):
            order = keys[r % 3 :] + keys[: r % 3]
            # Endpoint by endpoint, the three apps one after the other: a ratio compares
            # runs a few seconds apart, which the machine's other load shifts alike.
            for name, (method, _) in ENDPOINTS.items():
                for key in order:
                    results[name][key].append(wrk(servers[key], url_path(name), seconds, connections, method))
                    if method == "POST":
                        reseed()  # back to the 50 rows, so that every app lists the same
            print(f"  access log {variant}: round {r + 1}/{rounds} done", flush=True)
        return results
    finally:
        for server in servers.values():
            stop_server(server)


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """First quartile, median, third quartile (the median alone for fewer than 4)."""
    if len(values) < 4:
        middle = statistics.median(values)
        return middle, middle, middle
    low, middle, high = statistics.quantiles(values, n=4)
    return low, middle, high


def spread(q: tuple[float, float, float]) -> str:
    low, middle, high = q
    return f"{middle:.0%}" if low == high else f"{middle:.0%} ({low:.0%}–{high:.0%})"


def report(variant: str, results: dict[str, dict[str, list[dict]]], seconds: int, connections: int) -> list[bool]:
    print(f"\n### uvicorn access log {variant} (`{' '.join(VARIANTS[variant])}`)\n")
    rows, goals = [], []
    for name, (method, path) in ENDPOINTS.items():
        runs = results[name]
        for key in APPS:
            rs = runs[key]
            rps = [x["rps"] for x in rs]
            pairs = list(zip(rs, runs["a"], strict=True))
            # Each a ratio within one round, then the median (and the quartiles, to show
            # the spread): (a) is 100%, more is better.
            spreads = {
                "throughput": quartiles([x["rps"] / a["rps"] for x, a in pairs]),
                "p50": quartiles([a["p50_us"] / x["p50_us"] for x, a in pairs]),
                "p99": quartiles([a["p99_us"] / x["p99_us"] for x, a in pairs]),
                "cpu": quartiles([a["cpu_us_per_request"] / x["cpu_us_per_request"] for x, a in pairs]),
            }
            rows.append(
                [
                    f"`{method} {path}`" if key == "a" else "",
                    f"({key}) {APPS[key]}",
                    f"{statistics.median(x['requests'] for x in rs):,.0f}",
                    f"{statistics.median(rps):,.0f}",
                    f"{min(rps):,.0f}–{max(rps):,.0f}",
                    f"{statistics.median(x['p50_us'] for x in rs) / 1000:.2f}",
                    f"{statistics.median(x['p99_us'] for x in rs) / 1000:.2f}",
                    f"{statistics.median(x['cpu_us_per_request'] for x in rs):,.0f}",
                    *(spread(spreads[what]) if key != "a" else "100%" for what in ("throughput", "cpu", "p50", "p99")),
                ]
            )
            if key != "a":
                low, ratio, high = spreads["throughput"]
                goals.append(
                    (
                        ratio >= GOAL,
                        f"access log {variant}: ({key}) throughput {ratio:.0%} of (a)'s on {method} {path} "
                        f"(goal {GOAL:.0%}; quartiles of the rounds' ratios {low:.0%}–{high:.0%})",
                    )
                )
    print(
        table(
            [
                "endpoint",
                "app",
                "requests/run",
                "req/s",
                "req/s range",
                "p50 ms",
                "p99 ms",
                "server CPU µs/req",
                "req/s vs (a)",
                "CPU vs (a)",
                "p50 vs (a)",
                "p99 vs (a)",
            ],
            rows,
            [False, False, True, True, True, True, True, True, True, True, True, True],
        )
    )
    print(
        f"\nrequests/run: median count in one {seconds:g} s run of wrk (1 thread, {connections} connections, "
        "keep-alive); req/s, p50, p99: medians over rounds; server CPU µs/req: the server process's user + "
        "system time per request; req/s vs (a): median over rounds of req/s / (a)'s req/s in the same round, "
        "with the quartiles of those ratios in brackets (how much the rounds disagree); CPU vs (a): the same "
        "with (a)'s CPU per request / the app's; p50 and p99 vs (a): the same with (a)'s latency / the app's "
        "(so 100% is as fast as (a), more is better). The goal, as issue 16 sets it, is on throughput; the "
        "latencies are reported.\n"
    )
    for ok, text in goals:
        print(goal(ok, text))
    return [ok for ok, _ in goals]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", default="/tmp/paxx-bench/app")
    # Many short rounds: the machine's other load moves single runs by 10-20%, and more
    # ratios give a steadier median than longer runs do.
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--seconds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--variants", default="off,on")
    parser.add_argument(
        "--profile",
        choices=["auto", "always", "never"],
        default="auto",
        help="profile (a), (b), (c) with py-spy: when a goal is missed (auto), always, or never",
    )
    parser.add_argument("--py-spy", default=None, help="the py-spy program (default: from PATH)")
    args = parser.parse_args()
    binary, work = prepare(args.bin, args.work)
    features = every_module(binary)
    print("## Generated app overhead\n")
    print(f"machine: {machine()}")
    full = None
    env: dict[str, str] = {}
    try:
        base, full, env, python = setup(binary, work, features)
        print(f"versions: {versions(python)}")
        print(f"(c) enables: {', '.join(features)}")
        for name, why in LEFT_OUT.items():
            print(f"(c) leaves out {name}: {why}")
        start_services(binary, full, python, env, APP_SETTINGS, work / "setup.log")
        print(
            "settings of (b) and (c): "
            + ", ".join(f"{k}={v}" for k, v in APP_SETTINGS.items() if k != "SECRET_KEY")
            + " (every middleware of the template on)"
        )
        projects = {"a": work, "b": base, "c": full}

        def reseed() -> None:
            run([python, str(HERE / "seed.py")], full, env, work / "setup.log")

        met: list[bool] = []
        all_results = {}
        for variant in args.variants.split(","):
            all_results[variant] = measure(
                python, projects, work, env, variant, args.rounds, args.seconds, args.connections, reseed
            )
            met += report(variant, all_results[variant], args.seconds, args.connections)
        (work.parent / "app-results.json").write_text(json.dumps(all_results, indent=1))
        if args.profile == "always" or (args.profile == "auto" and not all(met)):
            from profile_app import profile

            profile(args.py_spy, python, projects, work, env, args.connections, reseed)
    except (BenchError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        print(f"app benchmark failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if full is not None and (full / "paxx.toml").exists():
            subprocess.run([binary, "down"], cwd=full, env=env or None, capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
