#!/usr/bin/env bash
# The one test command: installs what the tiers need, then runs every tier.
#   tier 1  lints and formatting (tests/lint.sh: rustfmt, clippy, ruff, nixfmt), then Rust:
#           unit tests, snapshots, integration tests of the real binary
#   tier 2  Nix: every .nix parses, `nix flake init -t`, builtins-only logic by `nix eval`,
#           the flake and a generated project through the real uv2nix (../shared/nix-sources)
#   tier 3  end to end: generated projects against real services (PostgreSQL, Redis …),
#           and each one's wheel built as its Nix build would
#   tier 4  distribution: the wheel (maturin, release build: the slow step), the crate
#           package, completions and man pages, the workflows and release scripts
# Usage: bash tests/all.sh [--tier N]...   (default: every tier)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

tiers=()
while [ $# -gt 0 ]; do
  case "$1" in
    --tier) tiers+=("$2"); shift 2 ;;
    *) echo "unknown argument: $1 (use --tier 1|2|3|4)" >&2; exit 2 ;;
  esac
done
[ ${#tiers[@]} -gt 0 ] || tiers=(1 2 3 4)
wants() { [[ " ${tiers[*]} " == *" $1 "* ]]; }

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
started=$(date +%s)
# What did not run here (a check without its tool, an ignored test) and why: listed at the end.
export PAXX_SKIPPED
PAXX_SKIPPED=$(mktemp)
# Each tier's time, printed together at the end (also when a tier fails: up to it).
tier_times=()
took() { tier_times+=("tier $1 ($2): $(( $(date +%s) - $3 )) s"); echo "tier $1 took $(( $(date +%s) - $3 )) s"; }
times_so_far() {
  [ ${#tier_times[@]} -gt 0 ] || return 0
  echo "time per tier:"
  printf '  %s\n' "${tier_times[@]}"
}
trap 'status=$?; rm -f "$PAXX_SKIPPED" "${log:-}"; if [ $status != 0 ]; then times_so_far; fi' EXIT

# --- what the tiers need -----------------------------------------------------------
say "checking tools"
need_apt=()
command -v nix-instantiate >/dev/null || need_apt+=(nix-bin)
# The services' own (PostgreSQL, Redis …): the `debian` fields of the catalog's manifests,
# so a new module's service needs no edit here.
services_apt=$(python3 tests/debian_packages.py --missing)
need_apt+=($services_apt)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing from Debian: ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "missing (install them, e.g. sudo apt-get install ${need_apt[*]}): ${need_apt[*]}" >&2
    exit 1
  fi
fi
if ! command -v uv >/dev/null; then
  echo "installing uv with pip"
  python3 -m pip install --quiet uv || python3 -m pip install --quiet --user uv
  export PATH="$HOME/.local/bin:$PATH"
fi
command -v cargo >/dev/null || { echo "cargo is required (rustup)" >&2; exit 1; }
echo "cargo $(cargo --version | cut -d' ' -f2), uv $(uv --version | cut -d' ' -f2), $(nix-instantiate --version), python $(python3 --version | cut -d' ' -f2)"

say "building paxx-compose"
cargo build --quiet --locked
bin="$repo/target/debug/paxx-compose"

if wants 1; then
  say "tier 1: lints and formatting"
  t=$(date +%s)
  bash tests/lint.sh
  say "tier 1: Rust tests"
  # Not --quiet: its one dot per test hides which were ignored. The passing lines are
  # left out here; the ignored ones, with their reasons, are listed after the summary
  # and at the end of the run.
  log=$(mktemp)
  CI=true cargo test --locked 2>&1 | tee "$log" | awk '!/^test .* \.\.\. (ok|ignored)/'
  ignored=$(sed -nE 's/^test (.*) \.\.\. ignored(, (.*))?$/\1: \3/p' "$log")
  rm -f "$log"
  if [ -n "$ignored" ]; then
    echo "ignored tests ($(wc -l <<<"$ignored")):"
    sed 's/^/  /' <<<"$ignored"
    sed 's/^/test /' <<<"$ignored" >>"$PAXX_SKIPPED"
  fi
  took 1 "lints, Rust" "$t"
fi

if wants 2; then
  say "tier 2: Nix"
  t=$(date +%s)
  PAXX_COMPOSE="$bin" bash tests/nix/run.sh
  took 2 "Nix" "$t"
fi

if wants 3; then
  say "tier 3: end to end"
  t=$(date +%s)
  pythons=(python3)
  for v in 3.12 3.13; do
    p=$(ls -d "$HOME"/.pyenv/versions/"$v"*/bin/python3 2>/dev/null | head -1 || true)
    [ -n "$p" ] && pythons+=("$p")
  done
  python3 tests/e2e/run.py --bin "$bin" --python "${pythons[@]}"
  took 3 "end to end" "$t"
fi

if wants 4; then
  say "tier 4: distribution"
  t=$(date +%s)
  PAXX_COMPOSE="$bin" bash tests/dist/run.sh
  took 4 "distribution" "$t"
fi

say "all requested tiers passed in $(( $(date +%s) - started )) s"
times_so_far
if [ -s "$PAXX_SKIPPED" ]; then
  echo "not run here ($(wc -l <"$PAXX_SKIPPED")):"
  sed 's/^/  - /' "$PAXX_SKIPPED"
fi
