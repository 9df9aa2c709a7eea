"""Helpers for tests/nix/real.py: running nix, uv and git, reading derivations, and the
PASS/FAIL lines tests/nix/run.sh counts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import wheel  # tests/e2e/wheel.py (real.py puts it on the path)

NAME = "shop"


class Report:
    def __init__(self) -> None:
        self.failed = 0

    def ok(self, label: str) -> None:
        print(f"PASS real: {label}", flush=True)

    def bad(self, label: str, why: str) -> None:
        self.failed += 1
        print(f"FAIL real: {label}\n    {why}", flush=True)

    def skip(self, label: str, why: str) -> None:
        print(f"SKIP real: {label}: {why}", flush=True)

    def check(self, label: str, got: object, want: object) -> bool:
        if got == want:
            self.ok(label)
            return True
        self.bad(label, f"got:  {got!r}\n    want: {want!r}")
        return False


def sh(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)


def nix(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return sh(["nix", "--offline", *args], cwd=cwd)


def last_error(out: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in out.stderr.splitlines() if line.strip() and not line.startswith("warning:")]
    return " | ".join(lines[-4:])


def eval_json(flake: str, attr: str, apply: str | None = None) -> object:
    args = ["eval", "--json", f"{flake}#{attr}"] + (["--apply", apply] if apply else [])
    out = nix(*args)
    if out.returncode != 0:
        raise RuntimeError(f"nix eval {attr}: {last_error(out)}")
    return json.loads(out.stdout)


def derivations(flake: str, attr: str) -> dict[str, dict]:
    """Every derivation in `attr`'s closure, as `nix show-derivation -r` gives them (Nix
    2.8; newer Nix calls it `nix derivation show` and may leave out /nix/store/)."""
    out = nix("derivation", "show", "-r", f"{flake}#{attr}")
    if out.returncode != 0:
        out = nix("show-derivation", "-r", f"{flake}#{attr}")
    if out.returncode != 0:
        raise RuntimeError(f"nix show-derivation {attr}: {last_error(out)}")
    shown = json.loads(out.stdout)
    shown = shown.get("derivations", shown)
    return {k if k.startswith("/") else f"/nix/store/{k}": v for k, v in shown.items()}


def store_name(path: str) -> str:
    """`/nix/store/<hash>-hatchling-1.27.0` -> `hatchling-1.27.0`."""
    return Path(path).name.split("-", 1)[1]


def files(root: str | Path) -> list[str]:
    root = Path(root)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if not p.is_dir())


def git(cwd: Path, *args: str) -> None:
    out = sh(["git", "-c", "user.name=paxx-tests", "-c", "user.email=paxx-tests@localhost", *args], cwd=cwd)
    if out.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {out.stderr.strip()}")


def commit_all(cwd: Path, message: str = "snapshot") -> None:
    if not (cwd / ".git").exists():
        git(cwd, "init", "-q")
    git(cwd, "add", "-A")
    git(cwd, "commit", "-q", "--allow-empty", "-m", message)


def copy_checkout(repo: Path, dest: Path) -> None:
    """What git tracks and would track (not ignored), as a flake of its own sees it."""
    out = sh(
        ["git", "-c", f"safe.directory={repo}", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=repo,
    )
    for rel in filter(None, out.stdout.split("\0")):
        src = repo / rel
        if src.exists() or src.is_symlink():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel, follow_symlinks=False)
    commit_all(dest)


UV_TARGETS = {
    "x86_64-linux": "x86_64-unknown-linux-gnu",
    "aarch64-linux": "aarch64-unknown-linux-gnu",
    "x86_64-darwin": "x86_64-apple-darwin",
    "aarch64-darwin": "aarch64-apple-darwin",
}


def locked_runtime(project: Path, system: str, python_version: str) -> list[str]:
    """`name-version` of what uv.lock installs on `system` without dev groups, the project
    included: uv's own reading of the lock (export), its markers evaluated by uv for that
    platform and Python (pip compile, every version pinned), independent of uv2nix."""
    export = sh(
        ["uv", "export", "--frozen", "--no-dev", "--no-hashes", "--no-header", "--no-annotate", "--no-emit-project"],
        cwd=project,
    )
    if export.returncode != 0:
        raise RuntimeError(f"uv export: {export.stderr.strip()}")
    pinned = project.parent / f"{project.name}-{system}.txt"
    pinned.write_text(export.stdout)
    compiled = sh([
        "uv", "pip", "compile", "--quiet", "--no-deps", "--no-header", "--no-annotate",
        "--python-platform", UV_TARGETS[system], "--python-version", python_version, str(pinned),
    ])  # fmt: skip
    if compiled.returncode != 0:
        raise RuntimeError(f"uv pip compile: {compiled.stderr.strip()}")
    picked = []
    for line in compiled.stdout.splitlines():
        name, sep, version = line.strip().partition("==")
        if sep:
            picked.append(f"{wheel.normalise(name)}-{version.split(';')[0].strip()}")
    version = re.search(r'^version = "([^"]+)"', (project / "pyproject.toml").read_text(), re.M)
    picked.append(f"{NAME}-{version.group(1) if version else '0.0.0'}")
    return sorted(picked)
