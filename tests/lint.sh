#!/usr/bin/env bash
# Lints and formatting, run first in tier 1 of tests/all.sh (alone: bash tests/lint.sh).
#   Rust    cargo fmt --check; cargo clippy --all-targets -- -D warnings (the [lints] of
#           Cargo.toml say which lints and why the allowed ones are allowed)
#           and no function in src/ past 80 lines (tests/fn_length.py, itself checked
#           first on made-up sources with a long function: it must be able to fail)
#   Python  the repository's own (bench/, tests/e2e, tests/nix, tests/dist): ruff check and
#           ruff format --check with ruff.toml, ruff pinned below. The generated app's Python
#           is checked inside each generated project, with its own settings (tier 3).
#   Nix     nixfmt --check on every tracked .nix file, with the flake's formatter
#           (nixfmt-rfc-style, in `nix develop`). Neither Debian nor the package registries
#           here carry it: without it this says so, and the skip is listed at the end of
#           tests/all.sh, never passed over in silence.
# A skipped check is appended to $PAXX_SKIPPED (a file) when that is set.
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned: a newer ruff brings new rules and format changes of its own.
RUFF_VERSION=0.17.6

skipped() {
  printf '\033[33mSKIPPED\033[0m %s\n' "$*" >&2
  if [ -n "${PAXX_SKIPPED:-}" ]; then echo "$*" >>"$PAXX_SKIPPED"; fi
}

for component in rustfmt clippy; do
  cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1 || {
    echo "cargo ${component/rustfmt/fmt} is missing: rustup component add $component" >&2
    exit 1
  }
done
echo "rust: cargo fmt --check"
cargo fmt --check
echo "rust: cargo clippy --all-targets -- -D warnings"
cargo clippy --quiet --locked --all-targets -- -D warnings
echo "rust: no function in src/ past 80 lines"
python3 tests/fn_length.py --self-test
python3 tests/fn_length.py --max 80 src

if command -v uv >/dev/null; then
  ruff=(uv tool run --quiet "ruff@$RUFF_VERSION")
elif command -v ruff >/dev/null; then
  ruff=(ruff)
  echo "note: uv is missing; using $(ruff --version) from PATH (tests pin $RUFF_VERSION)" >&2
else
  echo "ruff is missing: install uv (tests/all.sh does) or ruff $RUFF_VERSION" >&2
  exit 1
fi
echo "python: ruff check, ruff format --check ($("${ruff[@]}" --version))"
"${ruff[@]}" check --quiet .
"${ruff[@]}" format --quiet --check .

# nixfmt 0.5 and older is the retired style the flake's formatter replaced: it would
# reformat every file.
nixfmt_version=$(nixfmt --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+(\.[0-9]+)?' | head -1 || true)
if [ -n "$nixfmt_version" ] && [ "$(printf '%s\n0.6\n' "$nixfmt_version" | sort -V | head -1)" = 0.6 ]; then
  mapfile -t nix_files < <(git ls-files '*.nix')
  echo "nix: nixfmt $nixfmt_version --check (${#nix_files[@]} files)"
  nixfmt --check "${nix_files[@]}"
elif [ -n "$nixfmt_version" ]; then
  skipped "nixfmt --check: the nixfmt on PATH is $nixfmt_version, the old style; the flake's formatter is nixfmt-rfc-style (run in \`nix develop\`)"
else
  skipped "nixfmt --check: no nixfmt on PATH (the flake's formatter, nixfmt-rfc-style, comes with \`nix develop\`)"
fi
