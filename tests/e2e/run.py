#!/usr/bin/env python3
"""End-to-end tier: generate projects, start their real services, run their own checks.

For each project set (the bare template, every module alone, all compatible modules
together) this generates a project with `paxx-compose new` in a temporary folder and gives
every service a free port. It then runs the quick start of the project's README exactly as
written, in a shell with none of the services' settings exported (`quickstart.py`: the
long-running `paxx-compose up` and uvicorn in the background, the server probed, both
stopped with Ctrl-C; `nix develop` skipped, and said); its `uv run pytest` is the one run
of the project's test suite, and a quick start without it fails. Then, as CI does, it runs
`paxx-compose up --detach`, installs the project with uv (one shared cache), runs
`alembic upgrade heads` then `alembic check` (the models match the migrations of every
enabled branch), `ruff check`, `ruff format --check` and mypy with the services' settings
exported, then `paxx-compose down`. The set `tables` adds two test-only
modules with tables on Alembic branches of their own (tests/fixtures/tables, through
PAXX_MODULES), whose branches the project's tests/test_migrations.py takes down and up.
The bare and the all-modules projects also generate their typed API clients and use them
against the running application (clients.py). It prints a timing table and exits non-zero
if any step of any project failed.

Independent projects run side by side (`--jobs N`, or PAXX_E2E_JOBS; default: one per CPU,
at most 4), sharing one uv cache. Each project's report (its steps, and on a failure the
end of its log) is printed whole when it finishes, so parallel projects never interleave.
Services get ports below Linux's ephemeral range, none handed out twice in a run, so the
free ports that test suites and servers pick (bind to port 0) never take theirs.

Usage: run.py --bin PATH [--only NAME ...] [--python PY ...] [--jobs N] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import quickstart
from clients import check_clients

STEP_TIMEOUT = 900

# Project sets made of test-only modules (name -> (folder given as PAXX_MODULES, features)).
FIXTURE_SETS = {
    "tables": (Path(__file__).resolve().parent.parent / "fixtures" / "tables", ["notes", "tags"]),
}


@dataclass
class Outcome:
    name: str
    python: str
    features: list[str]
    steps: list[tuple[str, float, bool]] = field(default_factory=list)
    # The output of each failed step, as (label, its lines in the log).
    failures: list[tuple[str, list[str]]] = field(default_factory=list)
    error: str = ""
    # What the quick start did with each line of the README.
    quick_start: list[str] = field(default_factory=list)
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return not self.error and all(ok for _, _, ok in self.steps)

    @property
    def seconds(self) -> float:
        return sum(t for _, t, _ in self.steps)


# Ports for services, from below the ephemeral range (32768 and up on Linux) that bind to
# port 0 draws from: a port picked now is used again minutes later (quick start, then the
# suite), and a parallel project's test server must not have taken it meanwhile.
SERVICE_PORTS = range(20000, 32000)
_ports_lock = threading.Lock()
_ports_given: set[int] = set()


def free_port() -> int:
    with _ports_lock:
        while True:
            port = random.choice(SERVICE_PORTS)
            if port in _ports_given:
                continue
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _ports_given.add(port)
            return port


def default_jobs() -> int:
    """PAXX_E2E_JOBS, else one project per CPU (at most 4: each also runs its services)."""
    if os.environ.get("PAXX_E2E_JOBS"):
        return max(1, int(os.environ["PAXX_E2E_JOBS"]))
    return max(1, min(4, os.cpu_count() or 1))


def run(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> tuple[bool, float, list[str]]:
    """Runs one step with its output appended to the log; returns whether it passed, its
    time, and its own lines of the log (so that a failure is reported by what the step said)."""
    start = time.monotonic()
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        offset = out.tell()
        try:
            code = subprocess.run(
                cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=STEP_TIMEOUT
            ).returncode
        except subprocess.TimeoutExpired:
            out.write(f"timed out after {STEP_TIMEOUT} s\n".encode())
            code = -1
    return code == 0, time.monotonic() - start, log_since(log, offset)


# The quick start's line for the test suite, passed (quickstart.Runner.note).
SUITE_RAN = re.compile(r"^ok\s+uv run pytest\b")


def log_since(log: Path, offset: int) -> list[str]:
    with log.open("rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace").splitlines()


def catalog(binary: str, template: str) -> list[dict]:
    out = subprocess.run(
        [binary, "list", "--json"], check=True, capture_output=True, text=True, cwd=tempfile.gettempdir()
    ).stdout
    return [m for m in json.loads(out) if template in m["templates"]]


def compatible_all(modules: list[dict]) -> list[str]:
    """Every module, leaving out the later one of each conflicting pair."""
    chosen: list[str] = []
    for m in sorted(modules, key=lambda m: m["name"]):
        taken = set(chosen)
        if not taken.intersection(m["conflicts"]) and not any(
            m["name"] in o["conflicts"] for o in modules if o["name"] in taken
        ):
            chosen.append(m["name"])
    return chosen


def project_sets(binary: str, template: str) -> list[tuple[str, list[str]]]:
    modules = catalog(binary, template)
    sets: list[tuple[str, list[str]]] = [("bare", [])]
    sets += [(m["name"], [m["name"]]) for m in modules]
    everything = compatible_all(modules)
    if len(everything) > 1:
        sets.append(("all", everything))
    sets += [(name, features) for name, (_, features) in FIXTURE_SETS.items()]
    return sets


def python_label(python: str) -> str:
    """`py3.12` for an interpreter: several are named plain `python3`."""
    out = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return f"py{out.strip()}"


def check_project(
    binary: str,
    work: Path,
    name: str,
    features: list[str],
    python: str,
    base_env: dict[str, str],
    with_clients: bool = False,
) -> Outcome:
    outcome = Outcome(name, python, features)
    project = work / f"{name}-{python_label(python)}"
    log = work / f"{project.name}.log"
    env = dict(base_env)
    if name in FIXTURE_SETS:
        env["PAXX_MODULES"] = str(FIXTURE_SETS[name][0])

    def step(label: str, cmd: list[str], cwd: Path = project) -> bool:
        ok, seconds, lines = run(cmd, cwd, env, log)
        outcome.steps.append((label, seconds, ok))
        if not ok:
            outcome.failures.append((label, lines))
        return ok

    new_cmd = [binary, "new", str(project), "--name", f"e2e-{name}"]
    if features:
        new_cmd += ["--feature", ",".join(features)]
    if not step("new", new_cmd, work):
        outcome.error = "paxx-compose new failed"
        return outcome

    status = json.loads(
        subprocess.run(
            [binary, "status", "--json"], cwd=project, env=env, check=True, capture_output=True, text=True
        ).stdout
    )
    ports = {s["name"]: free_port() for s in status["services"] if s.get("port")}
    with (project / "paxx.toml").open("a") as f:
        f.write("\n[ports]\n" + "".join(f"{k} = {v}\n" for k, v in ports.items()))

    # `up` before any `uv sync`, as a user would: a worker among the services brings the
    # environment up to date itself (`uv run`). UV_PYTHON makes it the interpreter under test.
    env["UV_PYTHON"] = python
    # The quick start's shell: nothing of the services' settings, paxx-compose on PATH.
    shell = {k: v for k, v in env.items() if k not in status["env"] and k != "ENVIRONMENT"}
    shell["PATH"] = f"{work / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    shell["UVICORN_PORT"] = str(free_port())
    offset = log.stat().st_size
    quick = quickstart.run(project / "README.md", project, shell, log, status["name"], int(shell["UVICORN_PORT"]))
    outcome.quick_start = quick.lines
    if not any(SUITE_RAN.match(line) for line in quick.lines):
        quick.ok = False
        quick.lines.append("FAIL  the quick start no longer runs `uv run pytest`: the suite did not run")
    outcome.steps.append(("quick start", quick.seconds, quick.ok))
    if not quick.ok:
        outcome.failures.append(("quick start", quick.lines + log_since(log, offset)))
    try:
        if not step("up", [binary, "up", "--detach"]):
            outcome.error = "paxx-compose up failed"
            return outcome
        exported = json.loads(
            subprocess.run(
                [binary, "env", "--json"], cwd=project, env=env, check=True, capture_output=True, text=True
            ).stdout
        )
        env.update(exported)
        env["ENVIRONMENT"] = "test"
        if not step("uv sync", ["uv", "sync", "--python", python]):
            outcome.error = "uv sync failed"
            return outcome
        # The test suite ran once already, in the quick start (`uv run pytest`, against the
        # services `paxx-compose up` started): not again here, where it would only double
        # the tier's longest steps.
        # As the project's CI does: every branch applied, then nothing left to autogenerate.
        if step("alembic upgrade", ["uv", "run", "--no-sync", "alembic", "upgrade", "heads"]):
            step("alembic check", ["uv", "run", "--no-sync", "alembic", "check"])
        step("ruff check", ["uv", "run", "--no-sync", "ruff", "check", "."])
        step("ruff format", ["uv", "run", "--no-sync", "ruff", "format", "--check", "."])
        step("mypy", ["uv", "run", "--no-sync", "mypy", "app", "tests"])
        # The project's wheel, built as its Nix build builds it (tests/e2e/wheel.py).
        step("wheel", [sys.executable, str(Path(__file__).with_name("wheel.py")), ".", "--python", python])
        if with_clients:
            outcome.skipped = check_clients(project, work, env, log, step)
    finally:
        step("down", [binary, "down"])
    return outcome


def report(outcome: Outcome, wall: float, work: Path) -> str:
    """One project's block of the output: its quick start, its steps, and on a failure the
    end of its log."""
    o = outcome
    lines = [f"==> {o.name} ({o.python}){': ' + ', '.join(o.features) if o.features else ''}  [{wall:.1f} s]"]
    lines.append("    quick start of README.md, as written:")
    lines += [f"      {line}" for line in o.quick_start]
    lines += [f"    {'ok  ' if ok else 'FAIL'} {label:<16} {seconds:7.1f} s" for label, seconds, ok in o.steps]
    if o.skipped:
        lines.append(f"    SKIP {o.skipped}")
    if not o.ok:
        log = work / f"{o.name}-{python_label(o.python)}.log"
        lines.append(f"    failed: {o.error or 'see the steps below'} (whole log: {log})")
        for label, output in o.failures:
            lines.append(f"    last lines of step '{label}':")
            lines += [f"      {line}" for line in output[-60:]]
    return "\n".join(lines)


# Lines of a step's output that name what failed: pytest's short summary, mypy's and
# ruff's findings, a traceback's last line.
_VERDICT = re.compile(r"^(FAILED |ERROR |[^ ].*: error: |[A-Za-z_.]+(Error|Exception): |.*\d+ failed)")


def failure_summary(outcomes: list[Outcome]) -> list[str]:
    """What failed, in a few lines, for the very end of the output (where a CI log that
    shows only its tail still shows it)."""
    lines: list[str] = []
    for o in outcomes:
        if o.ok:
            continue
        lines.append(f"  {o.name} ({python_label(o.python)}): {o.error or 'failed steps below'}")
        for label, output in o.failures:
            verdicts = [line for line in output if _VERDICT.match(line)]
            lines.append(f"    step '{label}':")
            lines += [f"      {line[:300]}" for line in (verdicts or output[-5:])[-25:]]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True, help="the paxx-compose binary")
    parser.add_argument("--template", default="fastapi")
    parser.add_argument("--only", nargs="*", help="project sets to run (bare, all, or module names)")
    parser.add_argument(
        "--python", nargs="*", default=None, help="interpreters for the bare project (first one runs every set)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated projects and logs")
    parser.add_argument(
        "--jobs", type=int, default=None, help="projects run side by side (default: PAXX_E2E_JOBS, else CPUs, max 4)"
    )
    args = parser.parse_args()

    binary = str(Path(args.bin).resolve())
    pythons = args.python or ["python3"]
    sets = project_sets(binary, args.template)
    if args.only:
        sets = [s for s in sets if s[0] in args.only]

    work = Path(tempfile.mkdtemp(prefix="paxx-e2e-"))
    os.chmod(work, 0o755)  # services may run as an unprivileged account when we are root
    (work / "bin").mkdir()
    (work / "bin" / "paxx-compose").symlink_to(binary)
    env = dict(os.environ)
    env.setdefault("UV_CACHE_DIR", str(Path.home() / ".cache" / "paxx-e2e-uv"))
    env["UV_PROJECT_ENVIRONMENT"] = ".venv"
    env.pop("VIRTUAL_ENV", None)

    runs: list[tuple[str, list[str], str]] = [(n, f, pythons[0]) for n, f in sets]
    runs += [("bare", [], py) for py in pythons[1:] if any(n == "bare" for n, _ in sets)]
    jobs = max(1, min(args.jobs or default_jobs(), len(runs)))
    print(f"{len(runs)} project(s), {jobs} at a time", flush=True)
    printing = threading.Lock()
    total_start = time.monotonic()

    def one(name: str, features: list[str], python: str) -> tuple[Outcome, float]:
        with printing:
            print(f"--> {name} ({python_label(python)}) started", flush=True)
        start = time.monotonic()
        # The typed clients for the bare and the all-modules projects, once each.
        with_clients = python == pythons[0] and name in {"bare", "all"}
        try:
            outcome = check_project(binary, work, name, features, python, env, with_clients)
        except Exception:  # a bug in this harness: report it with the project, go on
            outcome = Outcome(name, python, features, error=f"harness error:\n{traceback.format_exc()}")
        wall = time.monotonic() - start
        with printing:
            print(report(outcome, wall, work), flush=True)
        return outcome, wall

    # The longest (every module) first, so that it does not start last and run alone.
    order = sorted(range(len(runs)), key=lambda i: runs[i][0] != "all")
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {i: pool.submit(one, *runs[i]) for i in order}
        done = [futures[i].result() for i in range(len(runs))]
    outcomes = [o for o, _ in done]
    walls = [w for _, w in done]

    print(f"\nper-project timings (seconds; {jobs} at a time, so wall times overlap):")
    print(f"  {'project':<16} {'python':<10} {'steps':>7} {'wall':>7}  result")
    for o, wall in zip(outcomes, walls, strict=True):
        print(f"  {o.name:<16} {python_label(o.python):<10} {o.seconds:7.1f} {wall:7.1f}  {'ok' if o.ok else 'FAILED'}")
    print(f"  whole tier: {time.monotonic() - total_start:.1f} s (projects' own times add up to {sum(walls):.1f} s)")
    for o in outcomes:
        if o.skipped:
            print(f"  skipped in {o.name}: {o.skipped}")
    if args.keep:
        print(f"projects kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    failed = [o.name for o in outcomes if not o.ok]
    if failed:
        print("what failed:")
        print("\n".join(failure_summary(outcomes)))
        print(f"end-to-end FAILED for: {', '.join(failed)}")
        return 1
    print(f"end-to-end ok: {len(outcomes)} project(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
