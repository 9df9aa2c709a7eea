#!/usr/bin/env python3
"""Time to ready: how long `paxx-compose up --detach` takes to return with every service
ready, on a project whose services ran before (second start: state initialised, the
worker's environment installed) and, reported apart, the first start (initdb, `uv run`
installing the environment, fallbacks installing from PyPI).

Two projects: the base template with redis and tasks (goal: second start within 2 s), and
every module. The in-run baseline, measured round by round beside `up`: the same server
binaries started directly, one after another, each polled with its own readiness check
(PostgreSQL's `pg_isready`, a TCP connect for Redis) every 10 ms, plus the worker's
floor: the project's Python importing `app.worker` (the worker cannot be ready sooner).
Services that run through a fallback (moto, aiosmtpd under uvx) have no baseline; they
count in `up`'s time only.

Python's bytecode cache. The services run with Python's default, which writes compiled
modules (`.pyc`) on the first import and reads them afterwards; `PYTHONDONTWRITEBYTECODE`
is removed from their environment if the caller's has it (these build machines set it
everywhere). A case of its own, "no bytecode cache", deletes the project's compiled
modules and times `up` with it set to 1, as every start is on such a machine: the worker
compiles every module it imports again (the cache is written back before the next case).

`--before PATH`: another paxx-compose (e.g. an older commit's build, with its own catalog's
manifests) timed the same way on the same projects, interleaved: a before/after in one run.

Usage: ready.py --bin PATH --work DIR [--rounds N] [--before PATH]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import BenchError, goal, machine, table

GOAL_S = 2.0
READY_LINE = re.compile(r"^(\S+): ready(?: on \S+)? \(pid \d+, ([\d.]+) s\)", re.M)


def free_port(taken: set[int]) -> int:
    """Below the ephemeral range, as tests/e2e/run.py does: no other test server takes it."""
    while True:
        port = random.randrange(20000, 32000)
        if port in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port


def program(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        raise BenchError(f"`{name}` not found on PATH nor in /usr/lib/postgresql/*/bin")
    return found


def make_project(binary: str, work: Path, name: str, features: list[str], env: dict[str, str]) -> Path:
    project = work / name
    shutil.rmtree(project, ignore_errors=True)
    cmd = [binary, "new", str(project), "--name", "readybench", "-q"]
    if features:
        cmd += ["--feature", ",".join(features)]
    subprocess.run(cmd, check=True, env=env)
    status = json.loads(
        subprocess.run([binary, "status", "--json"], cwd=project, check=True, capture_output=True, text=True).stdout
    )
    taken: set[int] = set()
    ports = {s["name"]: free_port(taken) for s in status["services"] if s.get("port")}
    with (project / "paxx.toml").open("a") as f:
        f.write("\n[ports]\n" + "".join(f"{k} = {v}\n" for k, v in ports.items()))
    return project


def up(binary: str, project: Path, env: dict[str, str]) -> tuple[float, dict[str, float]]:
    """`up --detach`, timed; and each service's own wait for readiness, as `up` reports it."""
    start = time.perf_counter()
    proc = subprocess.run([binary, "up", "--detach"], cwd=project, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise BenchError(f"`paxx-compose up --detach` in {project} failed:\n{proc.stderr[-3000:]}")
    return took, {m[1]: float(m[2]) for m in READY_LINE.finditer(proc.stderr)}


def down(binary: str, project: Path, env: dict[str, str]) -> None:
    proc = subprocess.run([binary, "down"], cwd=project, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchError(f"`paxx-compose down` in {project} failed:\n{proc.stderr[-3000:]}")


def bare_services(binary: str, project: Path, env: dict[str, str]) -> list[dict]:
    """The project's services that run a server binary of their own (not a fallback, not
    the project's own process), as `up` would run them."""
    status = json.loads(
        subprocess.run(
            [binary, "status", "--json"], cwd=project, env=env, check=True, capture_output=True, text=True
        ).stdout
    )
    return [s for s in status["services"] if s.get("package") and s["command"][0] in ("postgres", "redis-server")]


def ready_now(service: dict) -> bool:
    ready = service.get("ready") or {"tcp": True, "command": None}
    if ready.get("tcp"):
        try:
            socket.create_connection(("127.0.0.1", service["port"]), 0.3).close()
        except OSError:
            return False
    command = ready.get("command")
    if command:
        probe = [program(command[0]), *command[1:]]
        return subprocess.run(probe, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    return True


def start_bare(services: list[dict], project: Path) -> float:
    """Starts each server directly, one after another, each polled every 10 ms until
    ready; then stops them. Returns the time until the last was ready."""
    procs = []
    start = time.perf_counter()
    try:
        for s in services:
            cmd = [program(s["command"][0]), *s["command"][1:]]
            cwd = project
            if s.get("refuses_root") and os.geteuid() == 0:
                account = "postgres" if shutil.which("runuser") else None
                if account is None:
                    raise BenchError("runuser is needed to start PostgreSQL as root")
                cmd = ["runuser", "-u", account, "--", *cmd]
                cwd = Path(s["state"])
            procs.append(
                subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, process_group=0)
            )
            deadline = time.monotonic() + 60
            while not ready_now(s):
                if procs[-1].poll() is not None or time.monotonic() > deadline:
                    raise BenchError(f"bare `{' '.join(cmd)}` did not become ready")
                time.sleep(0.01)
        return time.perf_counter() - start
    finally:
        for s, p in zip(services, procs, strict=False):
            sig = signal.SIGINT if s.get("stop_signal") == "INT" else signal.SIGTERM
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def import_worker(project: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [str(project / ".venv" / "bin" / "python"), "-c", "import app.worker"],
        cwd=project,
        env={**env, "ENVIRONMENT": "development"},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def drop_bytecode(project: Path) -> None:
    for cache in list(project.rglob("__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)


def compatible_all(binary: str) -> list[str]:
    """Every module of the fastapi template, leaving out the later one of a conflicting pair."""
    listed = json.loads(subprocess.run([binary, "list", "--json"], check=True, capture_output=True, text=True).stdout)
    modules = [m for m in listed if "fastapi" in m["templates"]]
    chosen: list[str] = []
    for m in sorted(modules, key=lambda m: m["name"]):
        clash = set(m["conflicts"]) | {o["name"] for o in modules if m["name"] in o["conflicts"]}
        if not clash.intersection(chosen):
            chosen.append(m["name"])
    return chosen


def fmt(xs: list[float]) -> list[str]:
    return [f"{statistics.median(xs):.2f}", f"{min(xs):.2f}", f"{max(xs):.2f}"]


def bench(
    binary: str, work: Path, name: str, features: list[str], rounds: int, env: dict[str, str], before: str | None
) -> dict:
    print(f"[{name}] first start (initdb, the worker's environment, fallbacks) …", file=sys.stderr, flush=True)
    project = make_project(binary, work, name, features, env)
    first, first_each = up(binary, project, env)
    down(binary, project, env)
    services = bare_services(binary, project, env)
    worker = "tasks" in features
    times: dict[str, list[float]] = {"up": [], "nopyc": [], "before": [], "bare": [], "import": []}
    no_cache = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
    each: dict[str, list[float]] = {}
    print(f"[{name}] {rounds} rounds of second starts, beside the bare binaries …", file=sys.stderr, flush=True)
    for r in range(rounds + 1):  # the first is a warm-up
        cases = ["up", "bare", *(["nopyc"] if worker else []), *(["before"] if before else [])]
        for case in cases[r % len(cases) :] + cases[: r % len(cases)]:
            if case == "before":
                assert before is not None
                took, _ = up(before, project, env)
                down(before, project, env)
                if r:
                    times["before"].append(took)
            elif case == "nopyc":
                drop_bytecode(project)
                took, _ = up(binary, project, no_cache)
                down(binary, project, no_cache)
                import_worker(project, env)  # writes the cache back
                if r:
                    times["nopyc"].append(took)
            elif case == "up":
                took, per = up(binary, project, env)
                down(binary, project, env)
                if r:
                    times["up"].append(took)
                    for k, v in per.items():
                        each.setdefault(k, []).append(v)
            else:
                took = start_bare(services, project) + (import_worker(project, env) if worker else 0.0)
                if r:
                    times["bare"].append(took)
        if worker and r:
            times["import"].append(import_worker(project, env))
    shutil.rmtree(project, ignore_errors=True)
    return {
        "name": name,
        "features": features,
        "first": first,
        "first_each": first_each,
        "times": times,
        "each": each,
        "bare_names": [s["name"] for s in services] + (["import app.worker"] if worker else []),
    }


def report(results: list[dict], rounds: int) -> None:
    print(f"\n### Time to ready (`bash bench/run.sh ready`, {rounds} rounds)\n")
    print(f"Machine: {machine()}\n")
    rows = []
    for res in results:
        t = res["times"]
        ratios = [a / b for a, b in zip(t["up"], t["bare"], strict=True)]
        rows.append([f"{res['name']}: `up --detach`, second start", *fmt(t["up"]), f"{statistics.median(ratios):.2f}x"])
        if t["nopyc"]:
            slow = [a / b for a, b in zip(t["nopyc"], t["bare"], strict=True)]
            rows.append(
                [f"{res['name']}: the same, no bytecode cache", *fmt(t["nopyc"]), f"{statistics.median(slow):.2f}x"]
            )
        if t["before"]:
            was = [a / b for a, b in zip(t["before"], t["bare"], strict=True)]
            rows.append(
                [f"{res['name']}: the same, `--before` binary", *fmt(t["before"]), f"{statistics.median(was):.2f}x"]
            )
        rows.append([f"{res['name']}: baseline ({' + '.join(res['bare_names'])})", *fmt(t["bare"]), "1.00x"])
        if t["import"]:
            rows.append([f"{res['name']}: of which `import app.worker`", *fmt(t["import"]), ""])
        rows.append([f"{res['name']}: first start (once)", f"{res['first']:.2f}", "", "", ""])
    print(table(["case", "median s", "min", "max", "vs baseline"], rows, [False, True, True, True, True]))

    print("\nEach service's wait for readiness inside `up` (second starts, median s; setup steps not included):\n")
    rows = []
    for res in results:
        for name, xs in res["each"].items():
            rows.append([res["name"], name, f"{statistics.median(xs):.2f}", f"{res['first_each'].get(name, 0):.2f}"])
    print(table(["project", "service", "second start", "first start"], rows, [False, False, True, True]))
    base = next((r for r in results if r["name"] == "redis+tasks"), None)
    if base:
        median = statistics.median(base["times"]["up"])
        print()
        print(goal(median <= GOAL_S, f"second start of base + redis + tasks within {GOAL_S:.0f} s: {median:.2f} s"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", required=True, type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", help="another paxx-compose to time beside --bin (before/after)")
    args = parser.parse_args()
    binary = str(Path(args.bin).resolve())
    before = str(Path(args.before).resolve()) if args.before else None
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    os.chmod(work, 0o755)  # PostgreSQL runs as another account when we are root
    env = dict(os.environ)
    env.setdefault("UV_CACHE_DIR", str(Path.home() / ".cache" / "paxx-e2e-uv"))
    env["UV_PROJECT_ENVIRONMENT"] = ".venv"
    env.pop("VIRTUAL_ENV", None)
    if env.pop("PYTHONDONTWRITEBYTECODE", None):
        print("note: PYTHONDONTWRITEBYTECODE is set here; removed for the services (Python's default)", file=sys.stderr)
    try:
        results = [
            bench(binary, work, "redis+tasks", ["redis", "tasks"], args.rounds, env, before),
            bench(binary, work, "all", compatible_all(binary), args.rounds, env, before),
        ]
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    report(results, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
