"""The typed clients of a generated project, end to end (run.py calls `check_clients`).

In a project whose services are up and whose own checks passed:

1. `scripts/clients.py` passes mypy (strict, the project's settings) and writes
   clients/ from the application's OpenAPI document; `--check` then passes, and fails
   once a generated file is changed (the CI step);
2. the application runs under uvicorn; the Python client, installed in an environment
   of its own, creates items, lists them with filters, reads one and gets a 404 back
   as a typed `ErrorResponse`; the same program passes `mypy --strict`;
3. `tsc` type-checks a TypeScript program that uses the TypeScript client (a number
   where the document wants a decimal string must not compile), then node runs it
   against the same application.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import tomllib
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

TYPESCRIPT = "typescript@5.9.3"
# With auth: the account the server creates at startup, whose token the clients use.
SUPERUSER_EMAIL = "e2e-admin@example.com"
SUPERUSER_PASSWORD = "e2e-" + secrets.token_urlsafe(24)
# What @hey-api/openapi-ts (pinned in the generated scripts/clients.py) needs.
MIN_NODE = (20, 19)

Step = Callable[..., bool]

PYTHON_PROGRAM = '''\
"""Use the generated Python client the way an application would."""

import sys
import uuid

from {package} import {client_class}
from {package}.api.items import create_item, list_items, read_item
from {package}.models import ErrorResponse, ItemCreate, ItemRead, PageItemRead


def main(base_url: str, token: str) -> None:
    marker = uuid.uuid4().hex[:8]
    # An undocumented status raises `UnexpectedStatus` instead of returning None.
    with {client_class}(
        base_url=base_url, raise_on_unexpected_status=True{token_argument}
    ) as client:
        lamp = create_item.sync(
            client=client, body=ItemCreate(name=f"Desk lamp {{marker}}", price="19.9")
        )
        assert isinstance(lamp, ItemRead), lamp
        assert lamp.price == "19.90"
        for name, price in [("Floor lamp", "89.00"), ("Desk", "120.00")]:
            made = create_item.sync(
                client=client, body=ItemCreate(name=f"{{name}} {{marker}}", price=price)
            )
            assert isinstance(made, ItemRead), made

        page = list_items.sync(client=client, name=f"lamp {{marker}}", max_price="50")
        assert isinstance(page, PageItemRead), page
        assert [item.name for item in page.items] == [lamp.name], page
        assert page.total == 1

        again = read_item.sync(client=client, item_id=lamp.id)
        assert isinstance(again, ItemRead) and again.id == lamp.id, again

        missing = read_item.sync(client=client, item_id=uuid.UUID(int=0))
        assert isinstance(missing, ErrorResponse), missing
        assert missing.error.code == "not_found"

        invalid = create_item.sync_detailed(
            client=client, body=ItemCreate(name="Lamp", price="1.001")
        )
        assert invalid.status_code == 422
        assert isinstance(invalid.parsed, ErrorResponse)
    print("python client: ok")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
'''

TYPESCRIPT_PROGRAM = """\
// Use the generated TypeScript client the way an application would.
declare const process: {{ argv: string[]; exit(code: number): never }};

import {{ createItem, listItems, readItem }} from "{client}";
import type {{ ErrorResponse, ItemRead }} from "{client}";

function check(condition: boolean, what: string): void {{
  if (!condition) throw new Error(`failed: ${{what}}`);
}}

async function main(baseUrl: string, token: string): Promise<void> {{
  // With auth enabled the writes need a bearer token (empty: no auth, no header).
  const headers: Record<string, string> = token ? {{ Authorization: `Bearer ${{token}}` }} : {{}};
  const marker = Math.random().toString(16).slice(2, 10);
  const made = await createItem({{ baseUrl, headers, body: {{ name: `Lamp ${{marker}}`, price: "19.9" }} }});
  const lamp: ItemRead | undefined = made.data;
  check(made.response.status === 201 && lamp?.price === "19.90", "create");
  if (lamp === undefined) return;

  const page = await listItems({{ baseUrl, query: {{ name: marker, max_price: "20", limit: 5 }} }});
  check(page.data?.total === 1 && page.data.items[0].id === lamp.id, "list with filters");

  const missing = await readItem({{ baseUrl, path: {{ item_id: "00000000-0000-4000-8000-000000000000" }} }});
  const error: ErrorResponse | undefined = missing.error;
  check(missing.response.status === 404 && error?.error.code === "not_found", "404");
  console.log("typescript client: ok");
}}

// The document types a price as a decimal string: a number must not compile.
// @ts-expect-error price is a string
const wrong: Parameters<typeof createItem>[0] = {{ body: {{ name: "Lamp", price: 19.9 }} }};
void wrong;

main(process.argv[2], process.argv[3] ?? "").catch((error: unknown) => {{
  console.error(error);
  process.exit(1);
}});
"""

TSCONFIG = """\
{
  "compilerOptions": {
    "strict": true,
    "target": "ES2022",
    "module": "commonjs",
    "moduleResolution": "node10",
    "lib": ["ES2022", "DOM", "DOM.Iterable"],
    "types": [],
    "rootDir": "..",
    "outDir": "out"
  },
  "files": ["check.ts"]
}
"""


def node_version() -> tuple[int, ...] | None:
    node = shutil.which("node")
    if node is None or shutil.which("npx") is None:
        return None
    out = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
    match = re.match(r"v(\d+)\.(\d+)", out.strip())
    return (int(match[1]), int(match[2])) if match else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_live(url: str, process: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/health/live", timeout=5) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.5)
    return False


def check_clients(project: Path, work: Path, env: dict[str, str], log: Path, step: Step) -> str | None:
    """Run the checks above as steps; return why the TypeScript ones were skipped
    (no Node.js new enough here), or None."""
    clients = ["uv", "run", "--no-sync", "python", "scripts/clients.py"]
    node = node_version()
    skipped = None
    kinds = ["openapi", "python", "typescript"]
    if node is None or node < MIN_NODE:
        skipped = f"TypeScript client: needs Node.js {'.'.join(map(str, MIN_NODE))}+ with npx"
        kinds.remove("typescript")
    step("scripts mypy", ["uv", "run", "--no-sync", "mypy", "scripts"])
    if not step("clients", clients + kinds):
        return skipped
    if not step("clients --check", clients + ["--check"]):
        return skipped
    # A hand-made change is drift too (checked on one client, to save a generation).
    changed = project / "clients/python/README.md"
    original = changed.read_bytes()
    changed.write_bytes(original + b"\nChanged by hand.\n")
    drift = " ".join(clients + ["--check", "python"]) + "; test $? -eq 1"
    step("check drifted", ["sh", "-c", drift])
    changed.write_bytes(original)

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    if not step("migrate", ["uv", "run", "--no-sync", "alembic", "upgrade", "heads"]):
        return skipped
    with_auth = (project / "app/features/auth").is_dir()
    server_env = dict(env)
    if with_auth:
        # The writes need `items:write`: the first superuser, made at startup, has it.
        server_env |= {
            "AUTH_FIRST_SUPERUSER_EMAIL": SUPERUSER_EMAIL,
            "AUTH_FIRST_SUPERUSER_PASSWORD": SUPERUSER_PASSWORD,
        }
    with log.open("ab") as out:
        server = subprocess.Popen(
            ["uv", "run", "--no-sync", "uvicorn", "app.main:app", "--port", str(port)],
            cwd=project,
            env=server_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        live = wait_until_live(base_url, server, timeout=180)
        step("app live", ["sh", "-c", f"test {int(live)} -eq 1"])
        token = ""
        if live and with_auth:
            token = _log_in(base_url)
            step("auth token", ["sh", "-c", f"test {int(bool(token))} -eq 1"])
            live = bool(token)
        if live:
            _python_client(project, work, step, base_url, token)
            if skipped is None:
                _typescript_client(project, work, step, base_url, token)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    return skipped


def _log_in(base_url: str) -> str:
    """The superuser's access token from the OAuth2 password flow, or "" on failure."""
    form = urllib.parse.urlencode({"username": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD})
    request = urllib.request.Request(f"{base_url}/api/v1/auth/token", data=form.encode(), method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return str(json.load(response)["access_token"])
    except (OSError, KeyError, ValueError):
        return ""


def _python_client(project: Path, work: Path, step: Step, base_url: str, token: str) -> None:
    with (project / "pyproject.toml").open("rb") as f:
        name = tomllib.load(f)["project"]["name"]
    package = re.sub(r"\W", "_", name.lower()) + "_client"
    program = work / f"{project.name}-client.py"
    # A secured operation takes an `AuthenticatedClient` in the generated client.
    program.write_text(
        PYTHON_PROGRAM.format(
            package=package,
            client_class="AuthenticatedClient" if token else "Client",
            token_argument=", token=token" if token else "",
        )
    )
    # An environment of its own, as a consumer of the client has: the client and mypy.
    isolated = ["uv", "run", "--no-project", "--with", str(project / "clients/python")]
    isolated += ["--with", "mypy"]
    step("py client mypy", isolated + ["mypy", "--strict", str(program)], cwd=work)
    step("py client run", isolated + ["python", str(program), base_url, token], cwd=work)


def _typescript_client(project: Path, work: Path, step: Step, base_url: str, token: str) -> None:
    folder = project / "clients" / "check"
    folder.mkdir()
    (folder / "check.ts").write_text(TYPESCRIPT_PROGRAM.format(client="../typescript"))
    (folder / "tsconfig.json").write_text(TSCONFIG)
    tsc = ["npx", "--yes", "-p", TYPESCRIPT, "tsc", "-p", "tsconfig.json"]
    try:
        if step("ts client tsc", tsc, cwd=folder):
            step("ts client run", ["node", "out/check/check.js", base_url, token], cwd=folder)
    finally:
        shutil.rmtree(folder)
