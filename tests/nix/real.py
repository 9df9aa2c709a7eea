#!/usr/bin/env python3
"""Tier 2, part 6: the flake's real outputs through the real uv2nix code.

The paxx flake and a generated project with every feature and a real uv.lock (made here
by uv) are evaluated with uv2nix, pyproject.nix and build-system-pkgs at the revisions
flake.lock pins and nixpkgs' real `lib` (../shared/nix-sources, README there), nixpkgs'
packages being stand-ins that evaluate and never build (tests/nix/standin). Then what
would be built is read back (`nix show-derivation`, `nix eval`) and checked:

  - `nix flake check --no-build` passes for both flakes (every output instantiates);
  - the venv holds exactly the packages and versions uv.lock gives the platform;
  - the project itself builds with its declared backend (hatchling at build-system-pkgs'
    version), from pyproject.toml, uv.lock, README.md, app/ and migrations/ alone; without
    [build-system] it would fall back to setuptools + wheel (the flat-layout failure);
  - the image's config, the dev shells' packages (against paxx-compose's own resolution),
    paxx-compose's check inputs, an untracked uv.lock, and local state never reaching a
    derivation.

Prints PASS/FAIL/SKIP lines for tests/nix/run.sh to count.
Usage: real.py --repo DIR --work DIR [--bin PAXX_COMPOSE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))
import wheel  # noqa: E402  (tests/e2e/wheel.py: the build requirements rule tier 3 uses)
from realkit import (  # noqa: E402
    NAME,
    Report,
    commit_all,
    copy_checkout,
    derivations,
    eval_json,
    files,
    git,
    last_error,
    locked_runtime,
    nix,
    sh,
    store_name,
)

SYSTEMS = ["x86_64-linux", "aarch64-linux", "x86_64-darwin", "aarch64-darwin"]


class Real:
    def __init__(self, args: argparse.Namespace, report: Report) -> None:
        self.r = report
        self.repo = args.repo.resolve()
        self.work = args.work.resolve() / "real"
        self.bin = args.bin
        self.sources = Path(os.environ.get("PAXX_NIX_SOURCES", self.repo.parent / "shared" / "nix-sources")).resolve()
        self.nonce = f"{time.time_ns()}-{os.getpid()}"

    # --- set-up ------------------------------------------------------------------------
    def standin(self) -> Path:
        d = self.work / "nixpkgs-standin"
        d.mkdir(parents=True)
        for f in (HERE / "standin").iterdir():
            shutil.copy2(f, d / f.name)
        shutil.copy2(self.repo / "nix" / "known-attrs.toml", d / "known-attrs.toml")
        shutil.copytree(self.sources / "nixpkgs-lib" / "lib", d / "lib")
        return d

    def paxx(self, standin: Path) -> Path:
        """This checkout, its inputs locked to the real sources and the stand-in."""
        d = self.work / "paxx"
        copy_checkout(self.repo, d)
        # New content each run, so every filtered source is new to the store: under
        # `nix flake check --no-build` (read-only) one that a former run left there would
        # hide a read of a path that is only computed.
        (d / "tests" / "nix" / "run-nonce").write_text(self.nonce)
        out = nix(
            "flake", "lock",
            "--override-input", "nixpkgs", f"path:{standin}",
            "--override-input", "uv2nix", f"path:{self.sources / 'uv2nix'}",
            "--override-input", "pyproject-nix", f"path:{self.sources / 'pyproject.nix'}",
            "--override-input", "pyproject-build-systems", f"path:{self.sources / 'build-system-pkgs'}",
            cwd=d,
        )  # fmt: skip
        if out.returncode != 0:
            raise RuntimeError(f"nix flake lock (paxx): {last_error(out)}")
        commit_all(d, "inputs: the real sources")
        return d

    def project(self, paxx: Path, features: list[str]) -> Path:
        d = self.work / NAME
        out = sh([self.bin, "new", str(d), "--name", NAME, "--feature", ",".join(features)])
        if out.returncode != 0:
            raise RuntimeError(f"paxx-compose new: {out.stderr.strip()}")
        out = sh(["uv", "lock", "--quiet"], cwd=d)
        if out.returncode != 0:
            raise RuntimeError(f"uv lock (needs the package index through uv): {out.stderr.strip()}")
        with (d / "app" / "__init__.py").open("a") as f:
            f.write(f"# tier-2 run {self.nonce}\n")  # new content each run (see paxx())
        commit_all(d)
        out = nix("flake", "lock", "--override-input", "paxx", f"git+file://{paxx}", cwd=d)
        if out.returncode != 0:
            raise RuntimeError(f"nix flake lock (project): {last_error(out)}")
        commit_all(d, "lock")
        return d

    def rust_packages(self, features: list[str]) -> list[str]:
        """What paxx-compose resolves as the packages of a project with `features`."""
        d = self.work / ("resolve-" + ("-".join(features) or "bare"))
        if d.exists():
            return json.loads(sh([self.bin, "status", "--json"], cwd=d).stdout)["packages"]
        out = sh([self.bin, "new", str(d), "--name", NAME] + (["--feature", ",".join(features)] if features else []))
        if out.returncode != 0:
            raise RuntimeError(f"paxx-compose new: {out.stderr.strip()}")
        status = sh([self.bin, "status", "--json"], cwd=d)
        return json.loads(status.stdout)["packages"]

    def features(self) -> list[str]:
        out = sh([self.bin, "list", "--json"], cwd=self.work)
        modules = [m for m in json.loads(out.stdout) if "fastapi" in m["templates"]]
        chosen: list[str] = []
        for m in sorted(modules, key=lambda m: m["name"]):
            taken = [c for c in modules if c["name"] in chosen]
            if not set(m["conflicts"]) & set(chosen) and not any(m["name"] in c["conflicts"] for c in taken):
                chosen.append(m["name"])
        return chosen

    # --- checks --------------------------------------------------------------------------
    def flake_check(self, label: str, flake: Path) -> bool:
        out = nix("flake", "check", "--no-build", cwd=flake)
        if out.returncode == 0:
            self.r.ok(f"{label}: nix flake check --no-build (every output of every system instantiates)")
            return True
        self.r.bad(f"{label}: nix flake check --no-build", last_error(out))
        return False

    def paxx_checks(self, paxx: Path) -> None:
        f = f"git+file://{paxx}"
        pick = (
            "d: { doCheck = d.doCheck; inputs = map (p: p.pname or p.name) d.nativeCheckInputs; skip = d.checkFlags; }"
        )
        want_linux = {"doCheck": True, "inputs": ["python3", "postgresql_16", "git", "procps", "lsof"], "skip": []}
        want_darwin = {"doCheck": True, "inputs": ["python3", "postgresql_16", "git"],
                       "skip": ["--skip=an_unwritable_folder_fails_before_any_write"]}  # fmt: skip
        got = {s: eval_json(f, f"checks.{s}.paxx-compose", pick) for s in ("x86_64-linux", "aarch64-darwin")}
        self.r.check(
            "paxx: checks.paxx-compose runs cargo test with the services' programs in the sandbox",
            got,
            {"x86_64-linux": want_linux, "aarch64-darwin": want_darwin},
        )

    def venv(self, project: Path, python_version: str) -> dict[str, dict]:
        flake = f"git+file://{project}"
        drvs: dict[str, dict] = {}
        for system in ("x86_64-linux", "aarch64-darwin"):
            closure = derivations(flake, f"packages.{system}.venv")
            drvs.update(closure)
            venv = next(d for d in closure.values() if d["env"].get("name") == f"{NAME}-env")
            got = sorted(store_name(p) for p in venv["env"]["NIX_PYPROJECT_DEPS"].split(":"))
            self.r.check(
                f"venv ({system}): exactly the packages and versions uv.lock installs there (as uv reads it)",
                got,
                locked_runtime(project, system, python_version),
            )
        return drvs

    def project_build(self, project: Path, drvs: dict[str, dict], label: str = "project") -> dict | None:
        own = [d for d in drvs.values() if d["env"].get("pname") == NAME and d["system"] == "x86_64-linux"]
        if len(own) != 1:
            self.r.bad(f"{label}: its own derivation", f"found {len(own)} derivations named {NAME}")
            return None
        return own[0]

    def build_system(self, project: Path, own: dict, label: str) -> None:
        inputs = sorted(store_name(p) for p in own["env"]["nativeBuildInputs"].split())
        python_inputs = [i for i in inputs if not i.startswith("pyproject-")]
        want = sorted(r.replace("==", "-") for r in wheel.requirements(project))
        backends = sorted({i.rsplit("-", 1)[0] for i in python_inputs} & {"hatchling", "setuptools", "wheel"})
        self.r.check(
            f"{label}: the backend is hatchling, not pyproject.nix's fallback (setuptools + wheel, "
            "which stops on the flat layout: app/ and migrations/)",
            backends,
            ["hatchling"],
        )
        self.r.check(
            f"{label}: built with the backend pyproject.toml declares, at build-system-pkgs' versions "
            "(the rule tests/e2e/wheel.py builds with)",
            python_inputs,
            want,
        )

    def image(self, project: Path) -> None:
        flake = f"git+file://{project}"
        args = eval_json(flake, "packages.x86_64-linux.image.passthru.args")
        venv = eval_json(flake, "packages.x86_64-linux.venv.outPath")
        config = args["config"]
        self.r.check("image: fixed creation time", args["created"], "1970-01-01T00:00:01Z")
        self.r.check(
            "image: non-root user, with a passwd entry",
            (config["User"], "app:x:1000:1000:" in args["extraCommands"]),
            ("1000:1000", True),
        )
        self.r.check(
            "image: starts the app (its wheel, in the locked venv) with uvicorn on port 8000, exposed",
            (config["Entrypoint"], config["ExposedPorts"]),
            (
                [f"{venv}/bin/uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"],
                {"8000/tcp": {}},
            ),
        )
        test = config["Healthcheck"]["Test"]
        self.r.check(
            "image: health check probes /health/ready with the venv's python",
            (test[:3], "http://127.0.0.1:8000/health/ready" in test[3]),
            (["CMD", f"{venv}/bin/python", "-c"], True),
        )
        self.r.check(
            "image: its working folder holds alembic.ini and the migrations, nothing else",
            files(config["WorkingDir"]),
            sorted(["alembic.ini"] + [f"migrations/{p}" for p in files(project / "migrations")]),
        )
        packages = eval_json(flake, "packages", "p: builtins.mapAttrs (_: builtins.attrNames) p")
        self.r.check(
            "image: offered for Linux systems only",
            packages,
            {s: ["default", "image", "venv"] if s.endswith("linux") else ["default", "venv"] for s in SYSTEMS},
        )

    def shells(self, flake: str, features: list[str], standin: Path, extra: tuple[str, str] | None, label: str) -> None:
        """Each dev shell's packages, as derivations, against the pinned (stand-in) nixpkgs'
        packages paxx-compose resolves for that feature set (then `extra`'s)."""
        got = eval_json(
            flake, "devShells.x86_64-linux", "ds: builtins.mapAttrs (_: d: map (p: p.outPath) d.passthru.packages) ds"
        )

        def want(names: list[str]) -> list[str]:
            paths = eval_json(
                f"path:{standin}",
                "legacyPackages.x86_64-linux",
                f'pkgs: map (n: (pkgs.lib.getAttrFromPath (pkgs.lib.splitString "." n) pkgs).outPath) '
                f"(builtins.fromJSON ''{json.dumps(names)}'')",
            )
            return paths + ([eval_json(*extra)] if extra else [])

        for f in features:
            self.r.check(
                f"{label}: devShells.{f} holds its manifest's packages (as paxx-compose resolves them)",
                got.get(f),
                want(self.rust_packages([f])),
            )
        if extra:
            self.r.check(
                f"{label}: devShells.default holds every enabled feature's packages, and paxx-compose",
                got.get("default"),
                want(self.rust_packages(features)),
            )

    def fallback(self, project: Path) -> None:
        """Without [build-system]: the setuptools + wheel fallback, which the check catches."""
        d = self.work / "no-build-system"
        shutil.copytree(project, d, symlinks=True)
        text = (d / "pyproject.toml").read_text()
        text = re.sub(r"\[build-system\].*?(?=\n\[tool\.ruff\])", "", text, flags=re.S)
        (d / "pyproject.toml").write_text(text)
        commit_all(d, "no build-system")
        own = self.project_build(d, derivations(f"git+file://{d}", "packages.x86_64-linux.venv"), "no [build-system]")
        if own is None:
            return
        inputs = [store_name(p) for p in own["env"]["nativeBuildInputs"].split()]
        self.r.check(
            "no [build-system]: pyproject.nix falls back to setuptools + wheel (uv build then stops on "
            "the flat layout: tier 3's wheel step fails the same way), so the check above can fail",
            sorted(i for i in inputs if not i.startswith("pyproject-")),
            ["setuptools-80.9.0", "wheel-0.45.1"],
        )

    def untracked_lock(self, project: Path) -> None:
        d = self.work / "untracked-lock"
        shutil.copytree(project, d, symlinks=True)
        git(d, "rm", "-q", "--cached", "uv.lock")
        git(d, "commit", "-q", "-m", "uv.lock untracked")
        out = nix("eval", "--raw", f"git+file://{d}#packages.x86_64-linux.venv.drvPath")
        self.r.check(
            "an untracked uv.lock: evaluation stops and says `uv lock`, then `git add uv.lock`",
            (out.returncode != 0, "git add uv.lock" in out.stderr),
            (True, True),
        )

    def local_state(self, project: Path) -> None:
        """Outside git (Nix copies the whole folder), .venv, .paxx/state and .env still reach
        no derivation: the venv is the same derivation as from the git repository."""
        d = self.work / "not-git"
        shutil.copytree(project, d, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        (d / ".venv" / "bin").mkdir(parents=True)
        (d / ".venv" / "bin" / "python").write_text("")
        (d / ".paxx" / "state" / "postgres").mkdir(parents=True)
        (d / ".paxx" / "state" / "postgres" / "PG_VERSION").write_text("16\n")
        (d / ".env").write_text("SECRET_KEY=do-not-ship\n")
        (d / "app" / "__pycache__").mkdir(exist_ok=True)
        (d / "app" / "__pycache__" / "main.cpython-312.pyc").write_text("")
        paths = []
        for flake in (f"git+file://{project}", f"path:{d}"):
            out = nix("eval", "--raw", f"{flake}#packages.x86_64-linux.image.drvPath")
            paths.append(out.stdout if out.returncode == 0 else f"error: {last_error(out)}")
        self.r.check(
            "local state (.venv, .paxx/state, .env, caches) reaches no derivation: the image is the same outside git",
            paths[1],
            paths[0],
        )

    # --- all -----------------------------------------------------------------------------
    def run(self) -> None:
        if not (self.sources / "uv2nix" / "flake.nix").exists():
            self.r.skip("real uv2nix evaluation", f"no nix sources at {self.sources} (set PAXX_NIX_SOURCES)")
            return
        self.work.mkdir(parents=True, exist_ok=True)
        lock = json.loads((self.repo / "flake.lock").read_text())["nodes"]
        readme = (self.sources / "README.md").read_text()
        self.r.check(
            "the nix sources are at flake.lock's revisions (uv2nix, pyproject-nix, pyproject-build-systems)",
            [lock[n]["locked"]["rev"] in readme for n in ("uv2nix", "pyproject-nix", "pyproject-build-systems")],
            [True, True, True],
        )
        standin = self.standin()
        paxx = self.paxx(standin)
        self.flake_check("paxx", paxx)
        self.paxx_checks(paxx)
        if not self.bin or not Path(self.bin).is_file():
            self.r.skip("generated project", "paxx-compose not built (set PAXX_COMPOSE)")
            return
        if shutil.which("uv") is None:
            self.r.skip("generated project", "uv is not installed (pip install uv): no uv.lock can be made")
            return
        features = self.features()
        self.shells(f"git+file://{paxx}", features, standin, None, "paxx")
        project = self.project(paxx, features)
        print(f"     (project {project.name} with {', '.join(features)}; uv.lock made by uv)", flush=True)
        self.flake_check("project", project)
        python_version = eval_json(f"path:{standin}", "legacyPackages.x86_64-linux.python312.version")
        drvs = self.venv(project, python_version)
        own = self.project_build(project, drvs)
        if own is not None:
            self.build_system(project, own, "project")
            self.r.check(
                "project: built from pyproject.toml, its readme and the wheel's packages alone",
                sorted({f.split("/")[0] for f in files(own["env"]["src"])}),
                ["README.md", "app", "migrations", "pyproject.toml"],
            )
        self.image(project)
        paxx_compose = (f"git+file://{paxx}", "packages.x86_64-linux.paxx-compose.outPath")
        self.shells(f"git+file://{project}", features, standin, paxx_compose, "project")
        self.fallback(project)
        self.untracked_lock(project)
        self.local_state(project)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--bin", default=os.environ.get("PAXX_COMPOSE", ""))
    args = parser.parse_args()
    os.environ.pop("PAXX_MODULES", None)  # the real catalog only (run.sh part 5 sets it)
    report = Report()
    try:
        Real(args, report).run()
    except (RuntimeError, KeyError, StopIteration, json.JSONDecodeError) as err:
        report.bad("evaluation", f"{type(err).__name__}: {err}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
