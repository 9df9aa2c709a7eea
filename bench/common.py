"""Shared helpers of the benchmarks: interleaved timing of whole commands, statistics,
tables. Standard library only.

Every comparison is a ratio against a baseline measured in the same run, round by
round: in each round every case runs once (the order rotates from round to round), and
a case's ratio is the median over rounds of (its time / the baseline's time in that
round). A machine whose speed drifts during the run (other jobs, thermal limits) moves
both sides of each ratio alike.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class BenchError(RuntimeError):
    """A real failure (a command failed, an output differs): the run exits non-zero."""


@dataclass
class Case:
    name: str
    cmd: list[str]
    cwd: Path | None = None
    prepare: Callable[[], None] | None = None  # untimed, before every run
    env: dict[str, str] | None = None


@dataclass
class Timings:
    rounds: int
    seconds: dict[str, list[float]] = field(default_factory=dict)

    def median(self, name: str) -> float:
        return statistics.median(self.seconds[name])

    def ratio(self, name: str, baseline: str) -> float:
        """Median over rounds of name / baseline within each round."""
        pairs = zip(self.seconds[name], self.seconds[baseline], strict=True)
        return statistics.median(a / b for a, b in pairs)


def time_cases(cases: Sequence[Case], rounds: int, warmup: int = 1) -> Timings:
    """Run every case `warmup + rounds` times, interleaved, and keep the counted runs."""
    result = Timings(rounds, {c.name: [] for c in cases})
    for r in range(warmup + rounds):
        shift = r % len(cases)
        for case in [*cases[shift:], *cases[:shift]]:
            if case.prepare is not None:
                case.prepare()
            start = time.perf_counter()
            proc = subprocess.run(
                case.cmd,
                cwd=case.cwd,
                env=case.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            elapsed = time.perf_counter() - start
            if proc.returncode != 0:
                raise BenchError(
                    f"`{' '.join(case.cmd)}` exited {proc.returncode}:\n" + proc.stderr.decode(errors="replace")[-2000:]
                )
            if r >= warmup:
                result.seconds[case.name].append(elapsed)
    return result


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] | None = None) -> str:
    """A Markdown table, padded so that it also reads well in a terminal."""
    right = right or [i > 0 for i in range(len(headers))]
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]

    def line(cells: Sequence[str]) -> str:
        out = [str(c).rjust(w) if r else str(c).ljust(w) for c, w, r in zip(cells, widths, right, strict=False)]
        return "| " + " | ".join(out) + " |"

    rule = (
        "|"
        + "|".join(("-" * (w + 1) + ":") if r else ("-" * (w + 2)) for w, r in zip(widths, right, strict=False))
        + "|"
    )
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def goal(met: bool, text: str) -> str:
    return f"{'MET    ' if met else 'NOT MET'}  {text}"


def machine() -> str:
    """One line about this machine: CPU model, cores, memory, load, kernel."""
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem}, load {load}, "
        f"Linux {platform.release()}, {time.strftime('%Y-%m-%d %H:%M %Z')}"
    )
