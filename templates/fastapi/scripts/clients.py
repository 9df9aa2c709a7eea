"""Typed API clients, generated from the application's OpenAPI document.

    uv run python scripts/clients.py           # all: openapi, python, typescript
    uv run python scripts/clients.py python    # some of them
    uv run python scripts/clients.py --check   # exit 1 if clients/ is not what the
                                               # application generates now (for CI)

- `clients/openapi.json`: the document, as served at `/openapi.json`;
- `clients/python/`: a package made by openapi-python-client (attrs models, sync and
  async functions on httpx); use it with `uv add ./clients/python`;
- `clients/typescript/`: an SDK made by @hey-api/openapi-ts, on `fetch`, without
  dependencies.

A status the document lists comes back typed: `read_item.sync(...)` returns an
`ItemRead` or, for a 404, an `ErrorResponse`. The generators' versions are pinned
below, so the output changes only when the API does: commit `clients/`, and CI
checks it is up to date. The Python client needs uv (`uv tool run` fetches its
generator), the TypeScript one Node.js 20.19 or newer (`npx` fetches its generator).
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = ROOT / "clients"
PYTHON_GENERATOR = "openapi-python-client==0.29.1"
TYPESCRIPT_GENERATOR = "@hey-api/openapi-ts@0.95.0"
TYPESCRIPT = "typescript@5.9.3"
# What each kind is called inside clients/.
TARGETS = {"openapi": "openapi.json", "python": "python", "typescript": "typescript"}
# What using or building a client leaves beside it: not part of the client.
IGNORED = {"__pycache__", ".mypy_cache", ".ruff_cache", ".venv", "dist", "node_modules"}


class ClientError(Exception):
    """A generator is missing or failed; the message says what to do."""


def project_name() -> str:
    with (ROOT / "pyproject.toml").open("rb") as file:
        name: str = tomllib.load(file)["project"]["name"]
    return name


def write_document(path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from app.main import app

    text = json.dumps(app.openapi(), indent=2, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


def _run(command: list[str], what: str) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise ClientError(f"`{command[0]}` is needed for {what}") from None
    if done.returncode != 0:
        raise ClientError(f"{what} failed:\n{done.stdout}{done.stderr}")


def python_client(document: Path, out: Path) -> None:
    package = re.sub(r"\W", "_", project_name().lower()) + "_client"
    config = out.parent / "openapi-python-client.json"
    config.write_text(
        json.dumps(
            {
                "project_name_override": package.replace("_", "-"),
                "package_name_override": package,
                # A body of any media type (a file upload) goes as bytes, a `File`.
                "content_type_overrides": {"*/*": "application/octet-stream"},
            }
        )
    )
    _run(
        [
            "uv",
            "tool",
            "run",
            "--from",
            PYTHON_GENERATOR,
            "openapi-python-client",
            "generate",
            "--path",
            str(document),
            "--output-path",
            str(out),
            "--meta",
            "uv",
            "--config",
            str(config),
            "--fail-on-warning",
        ],
        "the Python client (openapi-python-client)",
    )
    shutil.rmtree(out / ".ruff_cache", ignore_errors=True)  # its formatter's cache


def typescript_client(document: Path, out: Path) -> None:
    npx = shutil.which("npx")
    if npx is None:
        raise ClientError(
            "the TypeScript client needs Node.js 20.19 or newer, with `npx`"
        )
    _run(
        [
            npx,
            "--yes",
            "-p",
            TYPESCRIPT,
            "-p",
            TYPESCRIPT_GENERATOR,
            "openapi-ts",
            "--input",
            str(document),
            "--output",
            str(out),
            "--client",
            "@hey-api/client-fetch",
            "--no-log-file",
            "--silent",
        ],
        "the TypeScript client (@hey-api/openapi-ts)",
    )


GENERATORS: dict[str, Callable[[Path, Path], None]] = {
    "python": python_client,
    "typescript": typescript_client,
}


def generate(kinds: list[str], into: Path) -> None:
    """Write the document and the clients of `kinds` into the folder `into`."""
    document = into / TARGETS["openapi"]
    write_document(document)
    for kind in kinds:
        if kind in GENERATORS:
            GENERATORS[kind](document, into / TARGETS[kind])


def _files(path: Path) -> dict[str, bytes]:
    if path.is_file():
        return {"": path.read_bytes()}
    return {
        str(file.relative_to(path)): file.read_bytes()
        for file in sorted(path.rglob("*"))
        if file.is_file() and not IGNORED.intersection(file.relative_to(path).parts)
    }


def differences(expected: Path, actual: Path) -> list[Path]:
    """The files that differ between two trees (or two files), missing or extra."""
    want = _files(expected)
    have = _files(actual) if actual.exists() else {}
    return [
        actual / name if name else actual
        for name in sorted(want.keys() | have.keys())
        if want.get(name) != have.get(name)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "kinds", nargs="*", metavar="KIND", help=f"{', '.join(TARGETS)} (default: all)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="compare the clients in clients/ with what is generated now",
    )
    args = parser.parse_args()
    if unknown := set(args.kinds) - set(TARGETS):
        parser.error(f"unknown kind {', '.join(sorted(unknown))}")
    kinds = list(dict.fromkeys(["openapi", *(args.kinds or TARGETS)]))
    if args.check:
        kinds = [kind for kind in kinds if (CLIENTS / TARGETS[kind]).exists()]
        if not kinds:
            print("clients/ holds no client: nothing to check")
            return 0
    with tempfile.TemporaryDirectory() as temporary:
        fresh = Path(temporary)
        try:
            generate(kinds, fresh)
        except ClientError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        if args.check:
            changed = [
                path.relative_to(ROOT)
                for kind in kinds
                for path in differences(fresh / TARGETS[kind], CLIENTS / TARGETS[kind])
            ]
            for path in changed:
                print(f"out of date: {path}", file=sys.stderr)
            if changed:
                print(
                    "The API changed: run `uv run python scripts/clients.py` and "
                    "commit clients/.",
                    file=sys.stderr,
                )
                return 1
            print(f"clients/ is up to date ({', '.join(kinds)})")
            return 0
        CLIENTS.mkdir(exist_ok=True)
        for kind in kinds:
            target = CLIENTS / TARGETS[kind]
            if target.is_dir():
                shutil.rmtree(target)
            shutil.move(fresh / TARGETS[kind], target)
            print(f"wrote clients/{TARGETS[kind]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
