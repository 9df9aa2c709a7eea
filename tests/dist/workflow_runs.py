"""Every `run:` step of the given workflow files, syntax-checked by `bash -n`.

GitHub expressions (`${{ … }}`) are replaced by a placeholder word first, as the runner
substitutes them before the shell sees the script. Usage: python workflow_runs.py FILE...
(needs ruamel.yaml, which check-jsonschema brings). Prints PASS/FAIL per step.
"""

import re
import subprocess
import sys

from ruamel.yaml import YAML

failures = 0
for path in sys.argv[1:]:
    doc = YAML(typ="safe").load(open(path))
    for job_name, job in (doc.get("jobs") or {}).items():
        for i, step in enumerate(job.get("steps") or []):
            if "run" not in step:
                continue
            shell = step.get("shell", (job.get("defaults") or {}).get("run", {}).get("shell", "bash"))
            label = f"{path}: {job_name}: {step.get('name', f'step {i + 1}')}"
            if shell not in ("bash", "sh"):
                print(f"FAIL {label}: shell {shell} is not checked here")
                failures += 1
                continue
            script = re.sub(r"\$\{\{.*?\}\}", "EXPR", step["run"], flags=re.S)
            r = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
            print(f"{'PASS' if r.returncode == 0 else 'FAIL'} bash -n {label}" + (f": {r.stderr.strip()}" if r.returncode else ""))
            failures += r.returncode != 0
sys.exit(1 if failures else 0)
