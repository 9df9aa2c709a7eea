#!/usr/bin/env python3
"""Build a generated project's wheel the way its Nix build does, without Nix.

pyproject.nix (through uv2nix) builds the project with the backend its pyproject.toml
declares (setuptools + wheel when it declares none), at the versions build-system-pkgs
pins (nix/build-systems.toml), by `uv build --no-build-isolation`. This does the same in a
throwaway virtualenv, then checks that the wheel holds what the image runs: every file
under the packages the app and Alembic import (`app/`, `migrations/`).

Usage: wheel.py PROJECT [--python PY]     (exit 1 with the reason when it fails)
As a module: requirements(project) -> ["hatchling==1.27.0", ...] (tests/nix/real.py).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TABLE = REPO / "nix" / "build-systems.toml"
# pyproject.nix's choice for a project without [build-system].
FALLBACK = ["setuptools", "wheel"]
# What the image runs from the wheel: the app and its migrations.
SHIPPED = ["app", "migrations"]


def normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def requirement_name(requirement: str) -> str:
    for stop in "<>=!~;[ (":
        requirement = requirement.split(stop, 1)[0]
    return normalise(requirement.strip())


def requirements(project: Path) -> list[str]:
    """`name==version` for every package the Nix build puts beside the backend."""
    table = tomllib.loads(TABLE.read_text())
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    declared = pyproject.get("build-system", {}).get("requires")
    names: list[str] = []
    for req in declared if declared else FALLBACK:
        name = requirement_name(req)
        if name not in table["closure"]:
            raise SystemExit(f"{name}: not in {TABLE} (add it with the version build-system-pkgs pins)")
        names += [n for n in table["closure"][name] if n not in names]
    versions = dict(table["versions"])
    lock = project / "uv.lock"
    if lock.exists():
        for package in tomllib.loads(lock.read_text()).get("package", []):
            if normalise(package["name"]) in versions and "version" in package:
                versions[normalise(package["name"])] = package["version"]
    return [f"{n}=={versions[n]}" for n in names]


def run(cmd: list[str], cwd: Path | None = None) -> None:
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    sys.stdout.write(out.stdout + out.stderr)
    if out.returncode != 0:
        raise SystemExit(f"failed ({out.returncode}): {' '.join(cmd)}")


def missing_from(wheel: Path, project: Path) -> list[str]:
    names = set(zipfile.ZipFile(wheel).namelist())
    want = [
        p.relative_to(project).as_posix()
        for top in SHIPPED
        for p in sorted((project / top).rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    ]
    return [w for w in want if w not in names]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("project", type=Path)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    project = args.project.resolve()

    reqs = requirements(project)
    print(f"backend and its packages, as the Nix build has them: {' '.join(reqs)}")
    with tempfile.TemporaryDirectory(prefix="paxx-wheel-") as tmp:
        env = Path(tmp) / "env"
        run(["uv", "venv", "--quiet", "--python", args.python, str(env)])
        python = str(env / "bin" / "python")
        run(["uv", "pip", "install", "--quiet", "--python", python, *reqs])
        dist = Path(tmp) / "dist"
        run(
            ["uv", "build", "--wheel", "--no-build-isolation", "--python", python, "--out-dir", str(dist), str(project)]
        )
        wheels = sorted(dist.glob("*.whl"))
        if len(wheels) != 1:
            raise SystemExit(f"expected one wheel, got {[w.name for w in wheels]}")
        missing = missing_from(wheels[0], project)
        if missing:
            raise SystemExit(f"{wheels[0].name} lacks what the image runs: {', '.join(missing)}")
        print(f"{wheels[0].name}: holds every file of {', '.join(SHIPPED)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
