#!/usr/bin/env python3
"""What each module adds to a request: for every module of the catalog, the project
`paxx-compose new --feature <module>` generates (b+m) against the base template (b),
on `GET /health/live`, `GET /health/ready`, `GET /api/v1/items/{id}` and
`POST /api/v1/items`.

Both are served as in the app benchmark (overhead.py): uvicorn, access log off, the
production settings, the same environment and the same services (the ones `paxx-compose
up` starts for a project with every module), wrk from a second process. Rounds
alternate (b) and (b+m) endpoint by endpoint; per round the ratio of throughputs and
the difference in server CPU time per request, then their medians. So each module's
own per-request cost shows in microseconds: a middleware on every request, a
readiness check of its service, the audit row a write adds.

auth is left out: with it, item writes need a token (its cost has a benchmark of its
own, auth_overhead.py). ratelimit runs with a default rate no load generator reaches,
so that each request does the rate check and passes.

Usage: module_costs.py --bin PAXX_COMPOSE [--work DIR] [--rounds N] [--seconds S]
                       [--modules a,b,...]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from common import BenchError, machine, table
from composition import catalog
from overhead import (
    APP_SETTINGS,
    ENDPOINTS,
    HERE,
    VARIANTS,
    check_same_answers,
    prepare,
    quartiles,
    run,
    setup,
    spread,
    start_server,
    start_services,
    stop_server,
    url_path,
    wrk,
)

MEASURED = ("live", "ready", "get", "create")
LEFT_OUT = {"auth": "item writes then need a token; auth_overhead.py measures it"}
# ratelimit: a rate no load generator reaches, so every request is checked and passes.
SETTINGS = {**APP_SETTINGS, "RATELIMIT_DEFAULT": "1000000000/minute"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", default="/tmp/paxx-bench/modules")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--modules", default=None, help="comma-separated (default: every module but auth)")
    args = parser.parse_args()
    binary, work = prepare(args.bin, args.work)
    modules = [m for m in catalog(binary) if "fastapi" in m["templates"]]
    names = args.modules.split(",") if args.modules else [m["name"] for m in modules if m["name"] not in LEFT_OUT]
    print("## What each module adds to a request\n")
    print(f"machine: {machine()}")
    for name, why in LEFT_OUT.items():
        if name not in names:
            print(f"left out: {name} ({why})")
    # One project with every measured module (and what they require) provides the
    # environment and the services; conflicting modules are not enabled together there.
    full = None
    env: dict[str, str] = {}
    try:
        base, full, env, python = setup(binary, work, names)
        start_services(binary, full, python, env, SETTINGS, work / "setup.log")

        def reseed() -> None:
            run([python, str(HERE / "seed.py")], full, env, work / "setup.log")

        rows = []
        for name in names:
            project = work / f"with-{name}"
            run([binary, "new", str(project), "--name", "benchapp", "--feature", name], work, env, work / "setup.log")
            rows += measure_module(name, python, base, project, work, env, args, reseed)
            print(f"  {name} done", flush=True)
        print()
        print(
            table(
                ["module", "endpoint", "(b) CPU µs/req", "(b+m) CPU µs/req", "added µs/req", "req/s vs (b)"],
                rows,
                [False, False, True, True, True, True],
            )
        )
        print(
            f"\n{args.rounds} round(s) of {args.seconds} s per app and endpoint (wrk, 1 thread, {args.connections} "
            "connections); CPU µs/req: the server process's user + system time per request, median over rounds; "
            "added: the median over rounds of (b+m) − (b) in the same round; req/s vs (b): the median of the "
            "rounds' throughput ratios, their quartiles in brackets."
        )
    except (BenchError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        print(f"module benchmark failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if full is not None and (full / "paxx.toml").exists():
            subprocess.run([binary, "down"], cwd=full, env=env or None, capture_output=True)
    return 0


def measure_module(
    name: str,
    python: str,
    base: Path,
    project: Path,
    work: Path,
    env: dict[str, str],
    args: argparse.Namespace,
    reseed: Callable[[], None],
) -> list[list[str]]:
    flags = VARIANTS["off"]
    servers = {}
    try:
        servers["b"] = start_server("b", python, base, work, flags, env, f"with-{name}")
        servers["m"] = start_server("m", python, project, work, flags, env, f"with-{name}")
        check_same_answers(servers, reference="b")
        reseed()
        results: dict[str, dict[str, list[dict]]] = {e: {"b": [], "m": []} for e in MEASURED}
        for r in range(args.rounds):
            order = ["b", "m"] if r % 2 == 0 else ["m", "b"]
            for endpoint in MEASURED:
                method = ENDPOINTS[endpoint][0]
                for key in order:
                    results[endpoint][key].append(
                        wrk(servers[key], url_path(endpoint), args.seconds, args.connections, method)
                    )
                    if method == "POST":
                        reseed()
    finally:
        for server in servers.values():
            stop_server(server)
    rows = []
    for endpoint in MEASURED:
        b, m = results[endpoint]["b"], results[endpoint]["m"]
        method, path = ENDPOINTS[endpoint]
        added = statistics.median(x["cpu_us_per_request"] - y["cpu_us_per_request"] for x, y in zip(m, b, strict=True))
        rows.append(
            [
                name if endpoint == MEASURED[0] else "",
                f"`{method} {path}`",
                f"{statistics.median(x['cpu_us_per_request'] for x in b):,.0f}",
                f"{statistics.median(x['cpu_us_per_request'] for x in m):,.0f}",
                f"{added:+,.0f}",
                spread(quartiles([x["rps"] / y["rps"] for x, y in zip(m, b, strict=True)])),
            ]
        )
    return rows


if __name__ == "__main__":
    sys.exit(main())
