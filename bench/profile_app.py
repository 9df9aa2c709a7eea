"""Where the generated app's time goes: py-spy samples each server, (a), (b) and (c),
under the same wrk load, and every sample is charged to the innermost layer on its
stack that we can name (a middleware, logging, the database, validation …). With the
server's CPU time per request measured over the same window, each layer's share
becomes microseconds per request, so (b) − (a) and (c) − (b) show what the template
and the modules cost, layer by layer.

Used by overhead.py (`--profile always`, or by default when a throughput goal is missed).
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from common import BenchError, table

# (layer, substrings of a frame's file name). A sample is charged to the innermost frame
# on its stack (leaf first) that belongs to a layer; frames of no layer (the standard
# library, helpers such as Starlette's header classes) are charged to their caller.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("metrics middleware + collectors (module)", ("/app/features/metrics/", "/prometheus_client/")),
    # Since 2026-11-29 one middleware does request id, security headers, host, body limit.
    ("request context middleware (template)", ("/app/core/middleware.py", "/app/core/limits.py")),
    ("security headers middleware (template)", ("/app/core/security.py",)),
    ("CORS middleware (template)", ("/starlette/middleware/cors.py",)),
    ("trusted host middleware (template)", ("/starlette/middleware/trustedhost.py",)),
    ("JSON logging (template)", ("/app/core/logging.py", "/logging/__init__.py")),
    ("error handlers (template)", ("/app/core/errors.py",)),
    ("database: SQLAlchemy + asyncpg", ("/sqlalchemy/", "/asyncpg/")),
    ("validation + serialization: pydantic", ("/pydantic/", "/pydantic_core/")),
    (
        "routing, dependencies, endpoint",
        ("/fastapi/", "/starlette/routing.py", "/bare_app.py", "/app/api/", "/app/models/", "/app/schemas/"),
    ),
    (
        "Starlette app, responses, error middleware",
        (
            "/starlette/applications.py",
            "/starlette/middleware/",
            "/starlette/responses.py",
            "/starlette/_exception_handler.py",
            "/starlette/requests.py",
        ),
    ),
    ("server: uvicorn + httptools + event loop", ("/uvicorn/", "/httptools/", "/uvloop/", "/asyncio/")),
    ("other", ()),
]


def layer_of(stack: list[str]) -> str:
    for frame in reversed(stack):  # leaf first
        for name, patterns in LAYERS:
            if any(p in frame for p in patterns):
                return name
    return LAYERS[-1][0]


def frames(line: str) -> tuple[list[str], int] | None:
    """One line of py-spy's raw output: `frame;frame;… count`. None for a torn line
    (`--nonblocking` sampling can read a frame while it changes)."""
    stack, _, count = line.rstrip().rpartition(" ")
    if not stack or not count.isdigit():
        return None
    return stack.split(";"), int(count)


def profile(
    spy: str | None,
    python: str,
    projects: dict[str, Path],
    work: Path,
    env: dict[str, str],
    connections: int,
    reseed: Callable[[], None],
    seconds: int = 10,
    endpoints: tuple[str, ...] = ("live", "get", "create"),
) -> None:
    from overhead import APPS, ENDPOINTS, start_server, stop_server, url_path, wrk

    spy = spy or shutil.which("py-spy")
    if not spy:
        print("\n(py-spy not found: no profile; bench/run.sh installs it)")
        return
    print(f"\n### Where the time goes (py-spy, {seconds:g} s of wrk load per app and endpoint, access log off)\n")
    for name in endpoints:
        method, path = ENDPOINTS[name][0], url_path(name)
        per_app: dict[str, dict[str, float]] = {}
        for key in APPS:
            server = start_server(
                key, python, projects[key], work, ["--no-access-log", "--log-level", "warning"], env, "profile"
            )
            try:
                wrk(server, path, 2, connections, method)  # warm-up
                out = work / f"profile-{key}-{name}.txt"
                result: dict = {}

                def load_it(server=server, path=path, method=method, result=result) -> None:
                    result.update(wrk(server, path, seconds + 2, connections, method))

                load = threading.Thread(target=load_it)
                load.start()
                proc = subprocess.run(
                    [
                        spy,
                        "record",
                        "--pid",
                        str(server.proc.pid),
                        "--duration",
                        f"{seconds:g}",
                        "--rate",
                        "250",
                        "--format",
                        "raw",
                        "--full-filenames",
                        "--nonblocking",
                        "--output",
                        str(out),
                    ],
                    capture_output=True,
                    text=True,
                )
                load.join()
                if proc.returncode != 0:
                    raise BenchError(f"py-spy failed: {proc.stderr[-1000:]}")
            finally:
                stop_server(server)
                if method == "POST":
                    reseed()
            counts: Counter[str] = Counter()
            for line in out.read_text(errors="replace").split("\n"):
                parsed = frames(line)
                if parsed is not None:
                    counts[layer_of(parsed[0])] += parsed[1]
            total = sum(counts.values()) or 1
            cpu = result["cpu_us_per_request"]
            per_app[key] = {layer: counts[layer] / total * cpu for layer, _ in LAYERS}
            per_app[key]["= total CPU per request"] = cpu
        rows = []
        for layer in [*(n for n, _ in LAYERS), "= total CPU per request"]:
            values = [per_app[k][layer] for k in APPS]
            if max(values) < 0.5:
                continue
            rows.append(
                [layer, *(f"{v:.0f}" for v in values), f"{values[1] - values[0]:+.0f}", f"{values[2] - values[1]:+.0f}"]
            )
        print(f"`{method} {ENDPOINTS[name][1]}`: server CPU µs per request, by layer\n")
        print(table(["layer", "(a)", "(b)", "(c)", "(b) − (a)", "(c) − (b)"], rows))
        print()
    print(f"Raw stacks: {work}/profile-*.txt (py-spy raw format; keep them with BENCH_KEEP=1).")
