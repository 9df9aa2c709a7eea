"""Checks a paxx-compose wheel's metadata and contents against the repo.

Usage: python3 wheel_check.py WHEEL REPO VERSION
Prints PASS/FAIL lines; exits 1 on any failure. Standard library only (Python >= 3.11).
"""

import email.parser
import platform
import re
import sys
import tomllib
import zipfile
from pathlib import Path

wheel, repo, version = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
failures = 0


def check(label: str, ok: bool, detail: object = "") -> None:
    global failures
    print(f"{'PASS' if ok else 'FAIL'} wheel: {label}" + ("" if ok else f": {detail}"))
    failures += not ok


pyproject = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
dist_info = f"paxx_compose-{version}.dist-info"
with zipfile.ZipFile(wheel) as z:
    names = z.namelist()
    meta = email.parser.HeaderParser().parsestr(z.read(f"{dist_info}/METADATA").decode())
    wheel_meta = email.parser.HeaderParser().parsestr(z.read(f"{dist_info}/WHEEL").decode())
    script = z.getinfo(f"paxx_compose-{version}.data/scripts/paxx-compose")

check("file name is paxx_compose-<crate version>-py3-none-<platform>.whl",
      re.fullmatch(rf"paxx_compose-{re.escape(version)}-py3-none-[a-z0-9_.]+\.whl", wheel.name) is not None,
      wheel.name)
check("Name", meta["Name"] == "paxx-compose", meta["Name"])
check("Version is the crate's", meta["Version"] == version, meta["Version"])
check("Summary is pyproject's description", meta["Summary"] == pyproject["description"], meta["Summary"])
check("License-Expression MIT, with the LICENSE text",
      meta["License-Expression"] == "MIT" and f"{dist_info}/licenses/LICENSE" in names
      and meta.get_all("License-File") == ["LICENSE"],
      (meta["License-Expression"], meta.get_all("License-File")))
check("Requires-Python is pyproject's", meta["Requires-Python"] == pyproject["requires-python"],
      meta["Requires-Python"])
readme = (repo / "README.md").read_text()
check("the README is the long description, as Markdown",
      meta["Description-Content-Type"].startswith("text/markdown") and meta.get_payload().strip() == readme.strip(),
      meta["Description-Content-Type"])
urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
check("Project-URLs are pyproject's", urls == pyproject["urls"], urls)
check("classifiers and keywords are pyproject's",
      meta.get_all("Classifier") == pyproject["classifiers"]
      and meta["Keywords"].split(",") == pyproject["keywords"],
      (meta.get_all("Classifier"), meta["Keywords"]))
check("no dependencies", not meta.get_all("Requires-Dist"), meta.get_all("Requires-Dist"))

tags = wheel_meta.get_all("Tag")
machine = platform.machine()
plat = {"Linux": rf"(manylinux_\d+_\d+|musllinux_\d+_\d+)_{machine}",
        "Darwin": rf"macosx_\d+_\d+_{machine}"}.get(platform.system(), r"\S+")
check(f"platform tag is py3-none-<{platform.system()} {machine}>, not pure Python",
      len(tags) >= 1 and all(re.fullmatch(rf"py3-none-{plat}", t) for t in tags)
      and wheel_meta["Root-Is-Purelib"] == "false",
      (tags, wheel_meta["Root-Is-Purelib"]))
check("the binary is a script, executable", (script.external_attr >> 16) & 0o111 == 0o111,
      oct(script.external_attr >> 16))
other = [n for n in names if not n.startswith(dist_info + "/") and n != script.filename]
check("nothing else: no Python code, no other data", other == [], other)

sys.exit(1 if failures else 0)
