#!/usr/bin/env python3
"""Tier 2, part 7: the workflows prove the image reproducible, and run it.

They cannot run here (no nixpkgs), so their shape is what is checked, in the repo's
workflow and the one every generated project gets:
  - the image is built in a job matrix over two different runners, with no cache action
    and no extra substituter (nothing of the project's own is shared between them);
  - each of those jobs lists what it must build itself (`--dry-run`) and rebuilds every
    one of those derivations with `nix-store --realise --check`;
  - a job after both compares their digests;
  - a job after that loads the image, runs it against a PostgreSQL service container and
    probes /health/ready;
  - no "same hash twice" by `nix build --rebuild` of the image alone (it rebuilds only the
    outermost derivation, so both hashes are of one store path).

Prints PASS/FAIL/SKIP lines for tests/nix/run.sh. Usage: workflows.py --repo DIR
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

CACHES = ("cachix/cachix-action", "magic-nix-cache", "actions/cache", "cache-nix-action")


def steps_text(job: dict) -> str:
    return "\n".join(
        str(s.get("run", "")) + " " + str(s.get("uses", "")) + " " + str(s.get("with", ""))
        for s in job.get("steps", [])
    )


def needs(job: dict) -> list[str]:
    n = job.get("needs", [])
    return [n] if isinstance(n, str) else list(n)


def check(path: Path, label: str, yaml) -> int:
    failed = 0

    def result(ok: bool, what: str, why: str = "") -> None:
        nonlocal failed
        if ok:
            print(f"PASS workflows: {label}: {what}")
        else:
            failed += 1
            print(f"FAIL workflows: {label}: {what}\n    {why}")

    jobs = yaml.safe_load(path.read_text())["jobs"]
    builds = {name: job for name, job in jobs.items() if "nix build .#image" in steps_text(job)}
    text = path.read_text()
    result(
        "nix build .#image --rebuild" not in text,
        "no `nix build .#image --rebuild` posing as a reproducibility proof",
        "it rebuilds only the outermost derivation",
    )

    matrix_builds = {
        n: j
        for n, j in builds.items()
        if len(set(j.get("strategy", {}).get("matrix", {}).get("runner", []))) >= 2
        and "matrix.runner" in str(j.get("runs-on"))
    }
    result(
        len(matrix_builds) == 1,
        "the image is built by one job over two different runners",
        f"jobs building it: {sorted(builds)}",
    )
    if len(matrix_builds) != 1:
        return failed
    ((build_name, build),) = matrix_builds.items()
    body = steps_text(build)
    result(
        not any(c in body for c in CACHES) and "substituters" not in body,
        "those builds share no cache of the project's derivations",
        "a cache action or an extra substituter is configured",
    )
    result(
        "nix build .#image --dry-run" in body and "nix-store --realise --check" in body,
        "each rebuilds every derivation it had to build itself (--dry-run list, nix-store --check)",
        "missing the --dry-run list or `nix-store --realise --check`",
    )
    compare = [n for n, j in jobs.items() if build_name in needs(j) and "diff " in steps_text(j)]
    result(
        len(compare) == 1,
        "a job after both compares the two digests",
        f"jobs needing {build_name}: {[n for n, j in jobs.items() if build_name in needs(j)]}",
    )
    serve = [
        n
        for n, j in jobs.items()
        if set(needs(j)) & set(compare)
        and "postgres" in j.get("services", {})
        and "docker load" in steps_text(j)
        and "/health/ready" in steps_text(j)
    ]
    result(
        len(serve) == 1,
        "then the image runs against a PostgreSQL service container and serves /health/ready",
        "no such job",
    )
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, required=True)
    args = parser.parse_args()
    try:
        import yaml
    except ImportError:
        print("SKIP workflows: PyYAML is not installed for this python3 (pip install pyyaml)")
        return 0
    failed = check(args.repo / ".github/workflows/ci.yml", "paxx CI", yaml)
    failed += check(args.repo / "templates/fastapi/.github/workflows/ci.yml", "generated project CI", yaml)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
