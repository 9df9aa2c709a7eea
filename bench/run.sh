#!/usr/bin/env bash
# Benchmarks: composition speed, the generated app's overhead, time to ready, end-to-end tier time.
# Each prints Markdown tables with ratios against a baseline measured in the same run.
# A missed goal is printed (NOT MET), never an exit code: this exits non-zero only when
# something actually fails (a build, a command, a server, a test suite).
#
# Usage: bash bench/run.sh [composition|app|instructions|modules|auth|ready|e2e|all]... [--quick] [--log FILE]
#   composition  paxx-compose new vs cookiecutter, copier and cp -a; add/status vs project size (~3 min)
#   app          bare FastAPI vs the base template vs every module, under wrk (~15 min, --quick ~2 min)
#   instructions the same apps and endpoints as `app`, in machine instructions per request counted by
#                valgrind (callgrind): figures the load does not move (~20 min, --quick ~16 min: most of
#                it is four servers starting under callgrind)
#   modules      what each module adds to a request: the base template with one module vs without
#                it, CPU µs per request and throughput, under wrk (~15 min, --quick ~4 min)
#   auth         a request with a bearer token vs the same one anonymous, and vs a bare FastAPI
#                app doing the same JWT check, under wrk (~5 min, --quick ~2 min)
#   ready        time to ready: `up --detach` on base+redis+tasks and on every module, second
#                start vs the bare server binaries, first start apart (~5 min, --quick ~2 min)
#   e2e          runs the README test command and prints its time per tier and per project
#                (--log FILE: read a saved output of `bash tests/all.sh` instead of running it)
#   all          every one of them (default)
#   --quick      fewer rounds: a smoke run for CI (numbers are rougher)
# Environment: BENCH_WORK (scratch folder, default /tmp/paxx-bench), BENCH_KEEP=1 (keep it),
#   CARGO_TARGET_DIR (where the release build goes), UV_CACHE_DIR.
set -euo pipefail
start_dir=$PWD
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$self")/.."
repo=$(pwd)

modes=()
quick=0
log=""
while [ $# -gt 0 ]; do
  case "$1" in
    composition|app|instructions|modules|auth|ready|e2e) modes+=("$1") ;;
    all) modes+=(composition app instructions modules auth ready e2e) ;;
    --quick) quick=1 ;;
    --log) [ $# -ge 2 ] || { echo "--log needs a file" >&2; exit 2; }; log="$2"; [[ "$log" = /* ]] || log="$start_dir/$log"; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$self"; exit 0 ;;
    *) echo "unknown argument: $1 (use composition, app, instructions, modules, auth, ready, e2e, all, --quick, --log FILE)" >&2; exit 2 ;;
  esac
  shift
done
[ ${#modes[@]} -gt 0 ] || modes=(composition app instructions modules auth ready e2e)
wants() { [[ " ${modes[*]} " == *" $1 "* ]]; }

work=${BENCH_WORK:-/tmp/paxx-bench}
mkdir -p "$work"
say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

# --- what the benchmarks need ------------------------------------------------------
need_apt=()   # required
want_apt=()   # optional: eatmydata only adds a diagnostic row
if wants composition; then command -v eatmydata >/dev/null || want_apt+=(eatmydata); fi
if wants app || wants modules || wants auth; then command -v wrk >/dev/null || need_apt+=(wrk); fi
if wants instructions; then command -v callgrind_control >/dev/null || need_apt+=(valgrind); fi
if wants app || wants instructions || wants modules || wants auth || wants ready; then
  # The services' (PostgreSQL, Redis …): the `debian` fields of the catalog's manifests.
  services_apt=$(python3 tests/debian_packages.py --missing)
  need_apt+=($services_apt)
fi
if [ $(( ${#need_apt[@]} + ${#want_apt[@]} )) -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing from Debian: ${need_apt[*]} ${want_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" "${want_apt[@]}" >/dev/null
  elif [ ${#need_apt[@]} -gt 0 ]; then
    echo "missing: ${need_apt[*]} (e.g. sudo apt-get install ${need_apt[*]})" >&2
    exit 1
  fi
fi
if ! command -v uv >/dev/null; then
  say "installing uv with pip"
  python3 -m pip install --quiet uv || python3 -m pip install --quiet --user uv
  export PATH="$HOME/.local/bin:$PATH"
fi
tools="$work/tools"
if wants composition || wants app || wants auth; then
  if [ ! -x "$tools/bin/copier" ] || [ ! -x "$tools/bin/cookiecutter" ] || [ ! -x "$tools/bin/py-spy" ]; then
    say "installing copier, cookiecutter and py-spy into $tools"
    uv venv --quiet --allow-existing --python python3 "$tools"
    VIRTUAL_ENV="$tools" uv pip install --quiet "copier>=9,<10" "cookiecutter>=2.6,<3" "py-spy>=0.3"
  fi
fi
if wants composition || wants app || wants instructions || wants modules || wants ready; then
  command -v cargo >/dev/null || { echo "cargo is required (rustup)" >&2; exit 1; }
  say "building paxx-compose (release)"
  cargo build --release --locked --quiet
  bin="${CARGO_TARGET_DIR:-$repo/target}/release/paxx-compose"
fi

status=0
cd "$repo/bench"
if wants composition; then
  say "composition"
  rounds=15; [ $quick = 1 ] && rounds=3
  python3 composition.py --bin "$bin" --tools "$tools/bin" --work "$work/composition" --rounds $rounds || status=1
fi
if wants app; then
  say "generated app overhead"
  if [ $quick = 1 ]; then
    args=(--rounds 1 --seconds 2 --profile never)
  else
    args=(--rounds 12 --seconds 2 --profile always)
  fi
  python3 overhead.py --bin "$bin" --work "$work/app" --py-spy "$tools/bin/py-spy" "${args[@]}" || status=1
fi
if wants instructions; then
  say "generated app overhead in instructions per request"
  requests=400; [ $quick = 1 ] && requests=100
  python3 instructions.py --bin "$bin" --work "$work/instructions" --requests $requests || status=1
fi
if wants modules; then
  say "what each module adds to a request"
  rounds=6; [ $quick = 1 ] && rounds=1
  python3 module_costs.py --bin "$bin" --work "$work/modules" --rounds $rounds || status=1
fi
if wants ready; then
  say "time to ready"
  rounds=5; [ $quick = 1 ] && rounds=2
  python3 ready.py --bin "$bin" --work "$work/ready" --rounds $rounds || status=1
fi
if wants auth; then
  say "what authentication costs"
  if [ $quick = 1 ]; then args=(--rounds 1 --seconds 2); else args=(--rounds 5 --seconds 5); fi
  python3 auth_overhead.py --bin "$bin" --work "$work/auth" "${args[@]}" || status=1
fi
if wants e2e; then
  say "end-to-end tier time"
  if [ -n "$log" ]; then
    python3 e2e.py --repo "$repo" --work "$work" --log "$log" || status=1
  else
    python3 e2e.py --repo "$repo" --work "$work" || status=1
  fi
fi
# Scratch folders go unless asked to keep them, or something failed (to look at them).
if [ -z "${BENCH_KEEP:-}" ] && [ $status = 0 ]; then rm -rf "$work/composition" "$work/app" "$work/modules" "$work/auth" "$work/ready"; fi
exit $status
