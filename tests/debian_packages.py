"""The Debian packages of the catalog's services: each `debian` field of a [[services]] in
templates/*.toml and modules/*/module.toml, so that tests/all.sh and bench/run.sh install
what a new module needs without an edit there.

    python3 tests/debian_packages.py [--missing] [--catalog DIR]

prints one package a line, sorted. --missing leaves out those already there: the service's
program (the first word of its `command`) is on PATH, or dpkg has the package installed
(Debian's PostgreSQL keeps its programs off PATH, where `paxx-compose up` finds them).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path


def services(catalog: Path) -> list[dict]:
    manifests = sorted(catalog.glob("templates/*.toml")) + sorted(catalog.glob("modules/*/module.toml"))
    found = []
    for path in manifests:
        try:
            manifest = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as e:
            sys.exit(f"{path}: {e}")
        found.extend(manifest.get("services", []))
    return found


def installed(package: str) -> bool:
    if shutil.which("dpkg-query") is None:
        return False
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${db:Status-Status}", package], capture_output=True, text=True, check=False
    )
    return out.returncode == 0 and out.stdout.strip() == "installed"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--missing", action="store_true", help="only the packages not there yet")
    parser.add_argument("--catalog", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args()
    wanted = set()
    for service in services(args.catalog):
        package = service.get("debian")
        if not package:
            continue
        program = (service.get("command") or [""])[0]
        if args.missing and ((program and shutil.which(program)) or installed(package)):
            continue
        wanted.add(package)
    for package in sorted(wanted):
        print(package)
    return 0


if __name__ == "__main__":
    sys.exit(main())
