#!/usr/bin/env python3
"""Composition speed: `paxx-compose new` with every module of the catalog against
cookiecutter and copier rendering the same output tree, with `cp -a` of that tree as
the floor; then `add feature` and `status` on a project holding thousands of files of
user code against the same commands on a bare project.

The cookiecutter and copier templates are built here from the tree paxx-compose
generates: every file becomes a Jinja template whose only variable is the project name
(each occurrence of the name in a file's text is a `{{ name }}` placeholder, the rest is
a raw block), so all three tools render the same files into the same tree, which is
checked byte for byte before anything is timed.

Usage: composition.py --bin PAXX_COMPOSE --tools VENV_BIN [--work DIR] [--rounds N]
                      [--user-files N]
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from common import BenchError, Case, goal, machine, ms, table, time_cases

USER_DIR = "app/domain"  # where the benchmark puts the user code
NAME = "paxxbenchapp"  # distinctive: every occurrence in a file is the project name
RAW_OPEN, RAW_CLOSE = "{% raw %}", "{% endraw %}"


def catalog(binary: str) -> list[dict]:
    out = subprocess.run([binary, "list", "--json"], check=True, capture_output=True, text=True, cwd="/").stdout
    return json.loads(out)


def compatible_all(modules: list[dict], template: str = "fastapi") -> list[str]:
    """Every module of the template, leaving out the later one of a conflicting pair
    (the same choice as the end-to-end harness's `all` project)."""
    modules = [m for m in modules if template in m["templates"]]
    chosen: list[str] = []
    for m in sorted(modules, key=lambda m: m["name"]):
        taken = set(chosen)
        if not taken.intersection(m["conflicts"]) and not any(
            m["name"] in o["conflicts"] for o in modules if o["name"] in taken
        ):
            chosen.append(m["name"])
    return chosen


def files_of(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def as_template(text: str, variable: str) -> str | None:
    """The file's text as a Jinja template that renders back to it, or None if it
    cannot be one (it holds the raw block's own end tag)."""
    if RAW_CLOSE in text or "{%- endraw" in text:
        return None
    parts = text.split(NAME)
    return RAW_OPEN + f"{RAW_CLOSE}{{{{ {variable} }}}}{RAW_OPEN}".join(parts) + RAW_CLOSE


def build_templates(ref: Path, work: Path) -> tuple[Path, Path, int]:
    """Cookiecutter and copier templates that render `ref`. Returns their folders and
    how many files are copied verbatim (not valid UTF-8, or not expressible)."""
    cc = work / "cookiecutter-template"
    cp = work / "copier-template"
    for d in (cc, cp):
        shutil.rmtree(d, ignore_errors=True)
    cc_root = cc / "{{cookiecutter.project_name}}"
    cp_root = cp / "template"
    verbatim: list[str] = []
    for rel in files_of(ref):
        src = ref / rel
        for root in (cc_root, cp_root):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
        try:
            text = src.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            text = None
        cc_text = as_template(text, "cookiecutter.project_name") if text is not None else None
        cp_text = as_template(text, "project_name") if text is not None else None
        if cc_text is None or cp_text is None:
            verbatim.append(rel.as_posix())
            shutil.copy2(src, cc_root / rel)
            shutil.copy2(src, cp_root / rel)
            continue
        (cc_root / rel).write_bytes(cc_text.encode("utf-8"))
        shutil.copymode(src, cc_root / rel)
        target = cp_root / (rel.as_posix() + ".jinja")
        target.write_bytes(cp_text.encode("utf-8"))
        shutil.copymode(src, target)
    (cc / "cookiecutter.json").write_text(
        json.dumps({"project_name": NAME, "_copy_without_render": verbatim}, indent=2) + "\n"
    )
    (cp / "copier.yml").write_text(
        f"_subdirectory: template\n_templates_suffix: .jinja\nproject_name:\n  type: str\n  default: {NAME}\n"
    )
    return cc, cp, len(verbatim)


def same_tree(a: Path, b: Path) -> list[str]:
    """Differences between two trees (file lists and contents)."""
    fa, fb = files_of(a), files_of(b)
    problems = [f"only in {a.name}: {p}" for p in sorted(set(fa) - set(fb))]
    problems += [f"only in {b.name}: {p}" for p in sorted(set(fb) - set(fa))]
    for rel in sorted(set(fa) & set(fb)):
        if not filecmp.cmp(a / rel, b / rel, shallow=False):
            problems.append(f"differs: {rel}")
    return problems


def user_code(root: Path, count: int) -> None:
    """`count` Python modules of plausible size in 50 packages under USER_DIR."""
    per_package = max(1, count // 50)
    written = 0
    package = 0
    while written < count:
        pkg = root / USER_DIR / f"area{package:02d}"
        pkg.mkdir(parents=True, exist_ok=True)
        for i in range(min(per_package, count - written)):
            body = "".join(
                f"\n\ndef handler_{k}(value: int) -> int:\n"
                f'    """Step {k} of module {i} in area {package}."""\n'
                f"    return value * {k + 1} + {i}\n"
                for k in range(12)
            )
            (pkg / f"module{i:03d}.py").write_text(f'"""User code {package}/{i}."""{body}')
            written += 1
        package += 1


def restore(src: Path, dst: Path, skip: str = USER_DIR) -> callable:
    """Put `dst` back to `src` by writing only what differs (what the timed command
    changed). The user code folder `skip` is neither walked nor written (it is checked
    once at the end instead), so resetting a project with thousands of files of user
    code costs exactly what resetting a bare one does, and no after-effect of a big
    copy or walk lands in the next timing."""

    def walk(root: Path, topdown: bool = True):
        for here, dirs, files in os.walk(root, topdown=topdown):
            rel = Path(here).relative_to(root)
            if topdown:
                dirs[:] = [d for d in dirs if (rel / d).as_posix() != skip]
            elif rel.as_posix() == skip or rel.as_posix().startswith(skip + "/"):
                continue
            yield rel, [d for d in dirs if (rel / d).as_posix() != skip], files

    def prepare() -> None:
        if not dst.exists():
            subprocess.run(["cp", "-a", str(src), str(dst)], check=True)
        for rel, dirs, files in walk(dst, topdown=False):
            for f in files:
                if not (src / rel / f).is_file():
                    os.remove(dst / rel / f)
            for d in dirs:
                if not (src / rel / d).is_dir():
                    os.rmdir(dst / rel / d)
        for rel, dirs, files in walk(src):
            for d in dirs:
                (dst / rel / d).mkdir(exist_ok=True)
            for f in files:
                a, b = src / rel / f, dst / rel / f
                if not b.is_file() or a.read_bytes() != b.read_bytes():
                    shutil.copy2(a, b)
        os.sync()  # an fsync in the timed command must not flush this reset

    return prepare


def remove(path: Path) -> callable:
    def prepare() -> None:
        shutil.rmtree(path, ignore_errors=True)
        os.sync()  # an fsync in the timed command must not flush this deletion

    return prepare


def row(t, name: str, baseline: str, note: str = "") -> list[str]:
    s = t.seconds[name]
    return [name, ms(t.median(name)), ms(min(s)), ms(max(s)), f"{t.ratio(name, baseline):.2f}x", note]


def bench_new(binary: str, tools: Path, work: Path, rounds: int, eatmydata: str | None) -> None:
    features = compatible_all(catalog(binary))
    ref = work / "ref"
    shutil.rmtree(ref, ignore_errors=True)
    subprocess.run(
        [binary, "new", str(ref), "--name", NAME, "--feature", ",".join(features)],
        check=True,
        capture_output=True,
    )
    nfiles = len(files_of(ref))
    size = sum((ref / p).stat().st_size for p in files_of(ref))
    cc, cp, verbatim = build_templates(ref, work)
    out = work / "out"
    cc_out = work / "out-cookiecutter"
    cc_config = work / "cookiecutter-config.yaml"
    cc_config.write_text(
        f"cookiecutters_dir: {work / 'cc-home' / 'cookiecutters'}\nreplay_dir: {work / 'cc-home' / 'replay'}\n"
    )
    cases = [
        Case("cp -a (floor)", ["cp", "-a", str(ref), str(out)], prepare=remove(out)),
        Case(
            "paxx-compose new",
            [binary, "new", str(out), "--name", NAME, "--feature", ",".join(features)],
            prepare=remove(out),
        ),
        Case(
            "cookiecutter",
            [str(tools / "cookiecutter"), "--no-input", "--config-file", str(cc_config), "-o", str(cc_out), str(cc)],
            prepare=remove(cc_out),
        ),
        Case(
            "copier",
            [str(tools / "copier"), "copy", "--quiet", "--defaults", "-d", f"project_name={NAME}", str(cp), str(out)],
            prepare=remove(out),
        ),
        Case("`true` (process start only)", ["true"]),
    ]
    if eatmydata:
        cases.insert(
            2,
            Case(
                "paxx-compose new, fsync off *",
                [eatmydata, binary, "new", str(out), "--name", NAME, "--feature", ",".join(features)],
                prepare=remove(out),
            ),
        )

    # Like for like: every tool must produce exactly the reference tree.
    for case in cases:
        if case.name.startswith("`true`"):
            continue
        case.prepare()
        subprocess.run(case.cmd, check=True, capture_output=True)
        produced = cc_out / NAME if case.name == "cookiecutter" else out
        problems = same_tree(ref, produced)
        if problems:
            raise BenchError(f"{case.name} did not produce the reference tree:\n  " + "\n  ".join(problems[:20]))

    print(f"\n### `new` with every module ({', '.join(features)})\n")
    print(
        f"Output tree: {nfiles} files, {size / 1024:.0f} KiB; each tool's output checked identical to "
        f"paxx-compose's ({verbatim} file(s) copied without rendering by the other tools). "
        f"{rounds} interleaved rounds after one warm-up; times in ms; ratio = median over rounds "
        f"of time / `cp -a` time in the same round.\n"
    )
    t = time_cases(cases, rounds)
    rows = [row(t, c.name, "cp -a (floor)") for c in cases]
    for r in rows:
        if r[0] in ("cookiecutter", "copier"):
            r[5] = f"paxx-compose is {t.ratio(r[0], 'paxx-compose new'):.1f}x faster"
    print(table(["command", "median", "min", "max", "vs cp -a", "note"], rows, [False, True, True, True, True, False]))
    if eatmydata:
        print("\n\\* the same command under eatmydata (fsync made a no-op): `new` without waiting for the disk.")
    ratio = t.ratio("paxx-compose new", "cp -a (floor)")
    print()
    print(goal(ratio <= 1.2, f"`new` within 1.2x of the `cp -a` floor: {ratio:.2f}x"))
    for other in ("cookiecutter", "copier"):
        r = t.ratio(other, "paxx-compose new")
        print(goal(r > 1, f"`new` faster than {other}: {r:.1f}x"))


def bench_size(binary: str, work: Path, rounds: int, user_files: int, eatmydata: str | None) -> None:
    features = compatible_all(catalog(binary))
    add_one = "redis" if "redis" in features else features[0]
    base = work / "size"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    bare, big = base / "bare", base / "big"
    subprocess.run([binary, "new", str(bare), "--name", NAME], check=True, capture_output=True)
    subprocess.run(["cp", "-a", str(bare), str(big)], check=True)
    user_code(big, user_files)
    nbare, nbig = len(files_of(bare)), len(files_of(big))
    run_bare, run_big = base / "run-bare", base / "run-big"
    cases, status_cases = [], []
    for label, src, dst in (("bare", bare, run_bare), (f"+{user_files} files", big, run_big)):
        cases += [
            Case(
                f"add feature {add_one} ({label})",
                [binary, "-C", str(dst), "add", "feature", add_one],
                prepare=restore(src, dst),
            ),
            Case(
                f"add feature <all> ({label})",
                [binary, "-C", str(dst), "add", "feature", *features],
                prepare=restore(src, dst),
            ),
        ]
        if eatmydata:
            cases.append(
                Case(
                    f"add feature {add_one}, fsync off * ({label})",
                    [eatmydata, binary, "-C", str(dst), "add", "feature", add_one],
                    prepare=restore(src, dst),
                )
            )
        status_cases.append(Case(f"status ({label})", [binary, "-C", str(src), "status"]))
    print(f"\n### `add` and `status`: bare project ({nbare} files) vs with user code ({nbig} files)\n")
    print(
        f"Before each `add` the project is put back as it was (untimed; only what `add` changed is rewritten, "
        f"the user code is left alone). `status` is timed in a second series, with nothing between runs. "
        f"{rounds} interleaved rounds after one warm-up; times in ms; ratio = median over rounds of "
        f"(with user code / bare).\n"
    )
    t = time_cases(cases, rounds)
    ts = time_cases(status_cases, rounds * 2)
    t.seconds.update(ts.seconds)
    rows = []
    half = len(cases) // 2
    pairs = [*zip(cases[:half], cases[half:], strict=True), tuple(status_cases)]
    for c_bare, c_big in pairs:
        for c in (c_bare, c_big):
            s = t.seconds[c.name]
            ratio = f"{t.ratio(c.name, c_bare.name):.2f}x" if c is c_big else ""
            rows.append([c.name, ms(t.median(c.name)), ms(min(s)), ms(max(s)), ratio])
    print(table(["command", "median", "min", "max", "vs bare"], rows))
    if eatmydata:
        print("\n\\* under eatmydata (fsync made a no-op): paxx-compose's own work, without waiting for the disk.")
    problems = same_tree(big / USER_DIR, run_big / USER_DIR)
    if problems:
        raise BenchError("`add` changed the user code:\n  " + "\n  ".join(problems[:20]))
    add_big = f"add feature {add_one} (+{user_files} files)"
    add_bare = f"add feature {add_one} (bare)"
    ratio = t.ratio(add_big, add_bare)
    print()
    print(
        goal(ratio <= 1.2, f"`add` with {user_files} user files within 1.2x of `add` on a bare project: {ratio:.2f}x")
    )
    med = t.median(add_big)
    print(goal(med < 0.050, f"`add feature {add_one}` with {user_files} user files under 50 ms: {ms(med)} ms"))
    sratio = t.ratio(f"status (+{user_files} files)", "status (bare)")
    print(goal(sratio <= 1.2, f"`status` with {user_files} user files within 1.2x of bare: {sratio:.2f}x"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--tools", required=True, help="bin folder holding cookiecutter and copier")
    parser.add_argument("--work", default=None)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--user-files", type=int, default=5000)
    parser.add_argument("--eatmydata", default=shutil.which("eatmydata"))
    args = parser.parse_args()
    work = Path(args.work or "/tmp/paxx-bench/composition")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    binary = str(Path(args.bin).resolve())
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    tools = Path(args.tools)
    cc_v = subprocess.run([str(tools / "cookiecutter"), "--version"], capture_output=True, text=True).stdout.split()[1]
    cp_v = subprocess.run([str(tools / "copier"), "--version"], capture_output=True, text=True).stdout.split()[-1]
    print("## Composition\n")
    print(f"machine: {machine()}")
    print(f"tools: {version} (release build), cookiecutter {cc_v}, copier {cp_v}, Python {sys.version.split()[0]}")
    try:
        bench_new(binary, tools, work, args.rounds, args.eatmydata)
        bench_size(binary, work, args.rounds, args.user_files, args.eatmydata)
    except (BenchError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", None)
        print(
            f"composition benchmark failed: {exc}" + (f"\n{detail.decode(errors='replace')}" if detail else ""),
            file=sys.stderr,
        )
        print(f"(its scratch folder is kept: {work})", file=sys.stderr)
        return 1
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
