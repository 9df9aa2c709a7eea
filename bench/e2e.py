#!/usr/bin/env python3
"""End-to-end tier time: runs the README test command (`bash tests/all.sh`), or reads
the output of a run of it, and prints how long each tier and each generated project
took, against the 30-minute budget (issue 16), with how many more modules fit at this rate.

Usage: e2e.py --repo DIR [--log FILE]      (--log: parse that output, run nothing)
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from common import goal, machine, table

BUDGET_S = 1800
STEPS = ["new", "quick start", "uv sync", "up", "pytest", "ruff check", "ruff format", "mypy", "down"]
LIVE = re.compile(r"^(== |==> |tier \d+ took|end-to-end|test result:|\d+ passed)")


def run_suite(repo: Path, log: Path) -> tuple[int, float]:
    start = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["bash", "tests/all.sh"], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            plain = re.sub(r"\x1b\[[0-9;]*m", "", line)
            if LIVE.match(plain.strip()) or plain.startswith("==> "):
                print(f"  {plain.rstrip()}", flush=True)
        code = proc.wait()
    return code, time.monotonic() - start


def python_label(path: str) -> str:
    """`python3`, or the version of a pyenv interpreter (`/…/versions/3.12.1/bin/python3`)."""
    version = re.search(r"/versions/([^/]+)/", path)
    return version[1] if version else Path(path).name


def parse(text: str) -> dict:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    tiers = {int(m[1]): int(m[2]) for m in re.finditer(r"^tier (\d+) took (\d+) s", text, re.M)}
    total = re.search(r"all requested tiers passed in (\d+) s", text)
    projects: list[dict] = []
    current: dict | None = None
    for line in text.splitlines():
        head = re.match(r"^==> (\S+) \(([^)]*)\)", line)
        if head:
            current = {"name": head[1], "python": python_label(head[2]), "steps": {}, "ok": True}
            projects.append(current)
            continue
        step = re.match(r"^    (ok  |FAIL) (.+?)\s+([\d.]+) s$", line)
        if step and current is not None:
            current["steps"][step[2].strip()] = float(step[3])
            current["ok"] &= step[1] == "ok  "
    whole = re.search(r"whole tier: ([\d.]+) s", text)
    jobs = re.search(r"^\d+ project\(s\), (\d+) at a time", text, re.M)
    return {
        "jobs": int(jobs[1]) if jobs else 1,
        "tiers": tiers,
        "total": int(total[1]) if total else None,
        "projects": projects,
        "tier3": float(whole[1]) if whole else tiers.get(3),
    }


def report(data: dict, wall: float | None, failed: bool = False) -> None:
    total = data["total"] or (int(wall) if wall else None) or sum(data["tiers"].values())
    print("\n### Tiers of the README test command (`bash tests/all.sh`)\n")
    rows = [[f"tier {t}", f"{s:,}", f"{s / total:.0%}" if total else ""] for t, s in sorted(data["tiers"].items())]
    rows.append(["whole command (tools, builds, tiers)", f"{total:,}" if total else "?", "100%"])
    print(table(["part", "seconds", "share"], rows))

    projects = data["projects"]
    if projects:
        print("\n### Tier 3, per generated project (seconds)\n")
        rows = []
        for p in projects:
            steps = p["steps"]
            rows.append(
                [
                    p["name"],
                    p["python"],
                    *(f"{steps[s]:.1f}" if s in steps else "-" for s in STEPS),
                    f"{sum(steps.values()):.1f}",
                    "ok" if p["ok"] else "FAILED",
                ]
            )
        print(
            table(
                ["project", "python", *STEPS, "total", "result"],
                rows,
                [False, False, *[True] * (len(STEPS) + 1), False],
            )
        )
        totals = [sum(p["steps"].values()) for p in projects]
        heavy = sum(p["steps"].get(s, 0) for p in projects for s in ("uv sync", "pytest", "mypy"))
        print(
            f"\n{len(projects)} projects, {sum(totals):.0f} s in all, median {statistics.median(totals):.0f} s "
            f"per project; uv sync + pytest + mypy are {heavy / max(sum(totals), 1):.0%} of it."
        )
    if failed:
        print("\nThe command failed: these times are partial, no goal is judged.")
    elif total:
        print()
        print(
            goal(
                total <= BUDGET_S,
                f"README test command under {BUDGET_S // 60} minutes on this machine: "
                f"{total / 60:.1f} min ({total / BUDGET_S:.0%} of the budget)",
            )
        )
        main_python = Counter(p["python"] for p in projects).most_common(1)[0][0] if projects else ""
        singles = [
            sum(p["steps"].values())
            for p in projects
            if p["name"] not in ("bare", "all") and p["python"] == main_python
        ]
        by_name = {p["name"]: sum(p["steps"].values()) for p in projects if p["python"] == main_python}
        if singles and total < BUDGET_S:
            growth = 0.0
            if "all" in by_name and "bare" in by_name:
                growth = max(0.0, by_name["all"] - by_name["bare"]) / len(singles)
            # With projects side by side, a new one adds its time divided among them.
            per_module = (statistics.median(singles) + growth) / data["jobs"]
            print(
                f"Each new module adds its own project (median {statistics.median(singles):.0f} s, "
                f"{data['jobs']} projects at a time) and about {growth:.0f} s to `all`: at {per_module:.0f} s "
                f"of the whole a module, about {int((BUDGET_S - total) // per_module)} more modules fit in the budget."
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", required=True)
    parser.add_argument("--log", help="the saved output of `bash tests/all.sh`: parse it, run nothing")
    parser.add_argument("--work", default="/tmp/paxx-bench")
    args = parser.parse_args()
    print("## End-to-end tier time\n")
    print(f"machine: {machine()}")
    wall = None
    code = 0
    if args.log:
        text = Path(args.log).read_text(errors="replace")
        print(f"from the saved output {args.log}")
    else:
        log = Path(args.work) / "tests-all.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        print(f"running `bash tests/all.sh` (full output in {log}) …", flush=True)
        code, wall = run_suite(Path(args.repo), log)
        text = log.read_text(errors="replace")
    report(parse(text), wall, failed=code != 0 or "all requested tiers passed" not in text)
    if code != 0:
        print(f"\nthe README test command FAILED (exit {code}): see the log above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
