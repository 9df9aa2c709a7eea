#!/usr/bin/env bash
# Tier 4: how paxx-compose reaches users, checked here as far as it goes offline.
#
#   1. workflows: every workflow (the repo's, the template's) against GitHub's workflow
#      schema (check-jsonschema, vendored schema: no network), and every `run:` by bash -n
#   2. release gate (.github/release/check.sh) in a copy of this checkout: refuses a tag
#      whose catalog snapshot is not committed, or whose version differs; passes once it is
#   3. crate: `cargo package --list` is the source, the catalog the binary embeds and the
#      metadata files, exactly as git has them; `cargo publish --dry-run` (or, without the
#      registry, `cargo package --offline`) builds the packaged crate, whose binary carries
#      the same catalog as this checkout's
#   4. completions and man pages in the real shells: fish completes `add feature re`, the
#      zsh script parses, every man page renders through groff without a warning
#   5. the wheel: built once by maturin, its metadata
#      checked, installed by uv into a fresh virtual environment with no index, and
#      `new`, `add`, `status` run from it, and from `uvx --from <wheel>`; the sdist's
#      files; the release's
#      binary archives and SHA256SUMS made from it (.github/release/binaries.sh)
#
# Both builds reuse tier 1's compiled dependencies, so that only paxx-compose itself
# compiles (seconds, where building everything again took 6 and 12 minutes here): the
# packaged crate in a target folder of its own seeded with a copy of target/debug's
# dependencies, the wheel with the dev profile (`--strip`) instead of `--release`. What
# these checks look at (files, metadata, the embedded catalog, installing, running) does
# not depend on the optimisation level; the release workflow builds the published wheels
# with `--release` on GitHub.
#
# Prints PASS/FAIL/SKIP per check and "N passed, N failed, N skipped" last; exits 1 on any
# failure. Usage: bash tests/dist/run.sh   (PAXX_COMPOSE=path optional: the dev binary)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
passed=0
failed=0
skipped=0
# A target folder of a build of ours, seeded with a copy (not links: cargo rewrites some
# files in place) of the dependencies target/debug has compiled already, so that only
# paxx-compose itself compiles there.
seed_target() {
  if [ ! -d "$1/debug/deps" ] && [ -d "$repo/target/debug/deps" ]; then
    mkdir -p "$1/debug"
    cp -a "$repo/target/debug/deps" "$repo/target/debug/build" "$repo/target/debug/.fingerprint" "$1/debug/"
  fi
}
ok() { printf 'PASS %s\n' "$*"; passed=$((passed + 1)); }
bad() { printf 'FAIL %s\n' "$*"; failed=$((failed + 1)); }
skip() { printf 'SKIP %s\n' "$*"; skipped=$((skipped + 1)); }
section() { printf '\n-- %s\n' "$*"; }
count() { # count <output of a PASS/FAIL printer>
  printf '%s\n' "$1"
  passed=$((passed + $(printf '%s\n' "$1" | grep -c '^PASS ' || true)))
  failed=$((failed + $(printf '%s\n' "$1" | grep -c '^FAIL ' || true)))
}

work=$(mktemp -d "${TMPDIR:-/tmp}/paxx-dist.XXXXXX")
trap 'rm -rf "$work"' EXIT
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/Cargo.toml" | head -1)
bin=${PAXX_COMPOSE:-$repo/target/debug/paxx-compose}
[ -x "$bin" ] || (cd "$repo" && cargo build --quiet --locked) || { echo "cannot build paxx-compose" >&2; exit 1; }

# --- tools: from PyPI into target/ (kept between runs), shells from Debian -----------------
section "tools"
tools="$repo/target/dist-tools"
if [ ! -x "$tools/bin/maturin" ] || [ ! -x "$tools/bin/check-jsonschema" ]; then
  uv venv -q --python python3 "$tools" && uv pip install -q --python "$tools/bin/python" \
    "maturin==1.16.0" "check-jsonschema==0.39.0" || { echo "cannot install maturin and check-jsonschema" >&2; exit 1; }
fi
need_apt=()
command -v fish >/dev/null || need_apt+=(fish)
command -v zsh >/dev/null || need_apt+=(zsh)
command -v groff >/dev/null || need_apt+=(groff-base)
if [ ${#need_apt[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing from Debian: ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
echo "$("$tools/bin/maturin" --version), check-jsonschema $("$tools/bin/check-jsonschema" --version | sed 's/.*version //'), crate version $version"

# --- 1. workflows ---------------------------------------------------------------------
section "1. workflows"
mapfile -t workflows < <(cd "$repo" && find .github/workflows templates/*/.github/workflows -name '*.yml' -o -name '*.yaml' 2>/dev/null | sort)
[ ${#workflows[@]} -gt 0 ] || bad "no workflow files found"
for wf in "${workflows[@]}"; do
  if out=$(cd "$repo" && "$tools/bin/check-jsonschema" --builtin-schema vendor.github-workflows "$wf" 2>&1); then
    ok "schema: $wf"
  else
    bad "schema: $wf: $out"
  fi
done
count "$(cd "$repo" && "$tools/bin/python" "$here/workflow_runs.py" "${workflows[@]}")"
grep -q 'bash .github/release/check.sh' "$repo/.github/workflows/release.yml" &&
  grep -q 'bash .github/release/binaries.sh' "$repo/.github/workflows/release.yml" &&
  ok "release.yml runs the two scripts tested below" || bad "release.yml no longer runs .github/release/check.sh and binaries.sh"

# --- 2. release gate --------------------------------------------------------------------
section "2. release gate"
copy="$work/release-copy"
mkdir -p "$copy"
(cd "$repo" && git -c safe.directory="$repo" ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && cp -P --parents "$f" "$copy/"
done)
commit() { git -C "$copy" add -A && git -C "$copy" -c user.name=paxx-tests -c user.email=paxx-tests@localhost commit -q -m "$1"; }
git -C "$copy" init -q && commit snapshot
gate() { (cd "$copy" && PAXX_COMPOSE="$bin" bash .github/release/check.sh "$1") >"$work/gate.log" 2>&1; }
stored=$( [ -f "$repo/catalog-history/$version.toml" ] && echo yes || echo no)
if [ "$stored" = no ]; then
  if gate "v$version"; then
    bad "release gate passed v$version though catalog-history/ lacks $version"
  elif grep -q "was not in catalog-history" "$work/gate.log"; then
    ok "release gate refuses v$version while its catalog snapshot is not committed"
  else
    bad "release gate failed for another reason: $(tail -2 "$work/gate.log")"
  fi
  commit "catalog $version"
else
  skip "refusal of an uncommitted snapshot: this checkout has $version's snapshot already (checked below by a version bump)"
fi
if gate "v$version"; then ok "release gate passes v$version with the snapshot committed"; else bad "release gate: $(tail -2 "$work/gate.log")"; fi
if ! gate "v$version.1" && grep -q "Cargo.toml says version $version" "$work/gate.log"; then
  ok "release gate refuses a tag that is not Cargo.toml's version"
else
  bad "release gate accepted v$version.1: $(tail -2 "$work/gate.log")"
fi
sed -i "s/^paxx-version = .*/paxx-version = \"0.0.1\"/" "$copy/templates/fastapi/paxx.toml" && commit "stale template"
if ! gate "v$version" && grep -q "paxx-version" "$work/gate.log"; then
  ok "release gate refuses a template whose paxx-version was not bumped"
else
  bad "release gate accepted a stale template paxx-version: $(tail -2 "$work/gate.log")"
fi

# --- 3. the crate -------------------------------------------------------------------------
section "3. crate"
(cd "$repo" && git -c safe.directory="$repo" ls-files --cached --others --exclude-standard -- src templates modules catalog-history |
  while IFS= read -r f; do [ -e "$f" ] && printf '%s\n' "$f"; done
  printf '%s\n' Cargo.toml Cargo.toml.orig Cargo.lock README.md LICENSE build.rs) | sort >"$work/want.txt"
if (cd "$repo" && cargo package --list --locked --allow-dirty 2>"$work/err") | grep -v '^\.cargo_vcs_info\.json$' | sort >"$work/got.txt"; then
  if diff "$work/want.txt" "$work/got.txt" >"$work/diff"; then
    ok "cargo package --list = src/, templates/, modules/, catalog-history/ as git has them + Cargo.toml, Cargo.lock, README.md, LICENSE, build.rs ($(wc -l <"$work/got.txt") files)"
  else
    bad "cargo package --list differs (< missing, > extra): $(head -10 "$work/diff")"
  fi
else
  bad "cargo package --list: $(tail -3 "$work/err")"
fi
meta=$(cd "$repo" && cargo metadata --no-deps --format-version 1 --locked | "$tools/bin/python" -c '
import json, sys
p = json.load(sys.stdin)["packages"][0]
missing = [k for k in ("description", "license", "repository", "homepage", "readme", "rust_version") if not p.get(k)]
missing += [k for k in ("keywords", "categories") if not p.get(k)]
print(" ".join(missing))')
[ -z "$meta" ] && ok "crate metadata: description, license, repository, homepage, readme, keywords, categories, rust-version" || bad "crate metadata lacks: $meta"

t=$(date +%s)
# A target folder of its own, so that the packaged crate's binary is known and
# target/debug stays this checkout's build (the binary the other tiers ran).
export CARGO_TARGET_DIR="$repo/target/package-check"
seed_target "$CARGO_TARGET_DIR"
if (cd "$repo" && cargo publish --dry-run --locked --allow-dirty) >"$work/publish.log" 2>&1; then
  ok "cargo publish --dry-run: packaged, built from the package alone, upload stopped ($(( $(date +%s) - t )) s)"
  verified=1
elif grep -q -i "network\|failed to \(download\|query\|fetch\)\|could not resolve\|index" "$work/publish.log" &&
  (cd "$repo" && cargo package --locked --allow-dirty --offline) >"$work/publish.log" 2>&1; then
  skip "cargo publish --dry-run: no registry here; cargo package --offline built the package instead"
  verified=1
else
  bad "cargo publish --dry-run: $(grep -v 'ignoring test' "$work/publish.log" | tail -4)"
  verified=0
fi
unset CARGO_TARGET_DIR
snap() { mkdir -p "$2" && (cd "$2" && "$1" snapshot-catalog --out history >/dev/null 2>&1) && ls "$2/history" >/dev/null; }
snap "$bin" "$work/snap-dev" || bad "snapshot-catalog with the dev binary"
if [ "$verified" = 1 ]; then
  if snap "$repo/target/package-check/debug/paxx-compose" "$work/snap-crate" && diff -r "$work/snap-dev" "$work/snap-crate" >/dev/null; then
    ok "the packaged crate's binary embeds the same catalog as this checkout's ($(ls "$work/snap-dev/history/blobs"/*/* | wc -l) distinct files)"
  else
    bad "the packaged crate's binary embeds another catalog than this checkout's"
  fi
fi

# --- 4. completions and man pages in the real tools -----------------------------------------
section "4. completions and man pages"
"$bin" completions fish >"$work/paxx-compose.fish"
if command -v fish >/dev/null; then
  got=$(fish --no-config -c "source $work/paxx-compose.fish; complete -C 'paxx-compose add feature re'" 2>&1 | cut -f1 | paste -sd' ' -)
  [ "$got" = redis ] && ok "fish completes 'paxx-compose add feature re' -> redis" || bad "fish: 'add feature re' gave '$got'"
  got=$(fish --no-config -c "source $work/paxx-compose.fish; complete -C 'paxx-compose show st'" 2>&1 | cut -f1 | paste -sd' ' -)
  [ "$got" = storage ] && ok "fish completes 'paxx-compose show st' -> storage" || bad "fish: 'show st' gave '$got'"
else
  skip "fish is not installed (Debian: fish): its completion not run"
fi
"$bin" completions zsh >"$work/_paxx-compose"
if command -v zsh >/dev/null; then
  if err=$(zsh -n "$work/_paxx-compose" 2>&1); then ok "zsh -n: the zsh script parses"; else bad "zsh -n: $err"; fi
else
  skip "zsh is not installed (Debian: zsh): its script not parsed"
fi
"$bin" man --dir "$work/man"
if command -v groff >/dev/null; then
  warned=""
  for page in "$work/man"/*.1; do
    # -k: UTF-8 input through preconv, as man-db renders pages.
    out=$(groff -k -man -Tutf8 -ww -z "$page" 2>&1)
    [ -z "$out" ] || warned+="$(basename "$page"): $out; "
  done
  [ -z "$warned" ] && ok "groff renders every man page without a warning ($(ls "$work/man" | wc -l) pages)" || bad "groff: $warned"
else
  skip "groff is not installed (Debian: groff-base): man pages not rendered"
fi

# --- 5. the wheel ---------------------------------------------------------------------------
section "5. wheel"
t=$(date +%s)
rm -rf "$work/wheels"
# Its own target folder too: `--strip` would replace target/debug's binary.
seed_target "$repo/target/wheel-check"
if (cd "$repo" && CARGO_TARGET_DIR="$repo/target/wheel-check" "$tools/bin/maturin" build --profile dev --strip --locked --out "$work/wheels") >"$work/maturin.log" 2>&1; then
  wheel=$(ls "$work/wheels"/*.whl)
  ok "maturin build --profile dev --strip: $(basename "$wheel") ($(( $(date +%s) - t )) s, $(( $(stat -c %s "$wheel") / 1024 )) KiB)"
else
  bad "maturin build: $(tail -5 "$work/maturin.log")"
  wheel=""
fi
if [ -n "$wheel" ]; then
  count "$(python3 "$here/wheel_check.py" "$wheel" "$repo" "$version")"

  venv="$work/venv"
  if uv venv -q --python python3 "$venv" && uv pip install -q --no-index --python "$venv/bin/python" "$wheel" 2>"$work/err"; then
    ok "uv installs the wheel into a fresh virtual environment, with no index"
    pc="$venv/bin/paxx-compose"
    if [ "$("$pc" --version)" = "paxx-compose $version" ] &&
      "$pc" new "$work/shop" --feature redis >/dev/null 2>"$work/err" &&
      "$pc" -C "$work/shop" add feature tasks >/dev/null 2>>"$work/err" &&
      [ "$("$pc" -C "$work/shop" status --json | python3 -c 'import json,sys; print(",".join(json.load(sys.stdin)["features"]))')" = "redis,tasks" ] &&
      "$pc" -C "$work/shop" status >"$work/status.txt" 2>>"$work/err"; then
      ok "from the wheel: new shop --feature redis, add feature tasks, status (features redis, tasks)"
    else
      bad "from the wheel: new/add/status: $(tail -3 "$work/err")"
    fi
    snap "$pc" "$work/snap-wheel" && diff -r "$work/snap-dev" "$work/snap-wheel" >/dev/null &&
      ok "the wheel's binary embeds the same catalog as this checkout's" || bad "the wheel's binary embeds another catalog"
  else
    bad "uv pip install the wheel: $(tail -3 "$work/err")"
  fi
  # The sdist (for platforms without a wheel; builds with Rust): the crate's files plus
  # pyproject.toml and the generated PKG-INFO.
  if (cd "$repo" && "$tools/bin/maturin" sdist --out "$work/sdist") >"$work/sdist.log" 2>&1; then
    { grep -v '^Cargo\.toml\.orig$' "$work/want.txt"; printf '%s\n' pyproject.toml PKG-INFO; } | sort >"$work/sdist-want.txt"
    tar -tzf "$work/sdist"/*.tar.gz | grep -v '/$' | sed 's|^[^/]*/||' | sort >"$work/sdist-got.txt"
    if diff "$work/sdist-want.txt" "$work/sdist-got.txt" >"$work/diff"; then
      ok "maturin sdist = the crate's files + pyproject.toml + PKG-INFO"
    else
      bad "maturin sdist differs (< missing, > extra): $(head -10 "$work/diff")"
    fi
  else
    bad "maturin sdist: $(tail -3 "$work/sdist.log")"
  fi
  # What a user runs once it is published: `uvx paxx-compose new shop --feature redis`.
  if (cd "$work" && UV_TOOL_DIR="$work/uv-tools" uvx --offline --from "$wheel" paxx-compose new shop-uvx --feature redis) >/dev/null 2>"$work/err" &&
    grep -q '"redis"' "$work/shop-uvx/paxx.toml"; then
    ok "uvx --from <wheel> paxx-compose new shop-uvx --feature redis"
  else
    bad "uvx --from <wheel>: $(tail -3 "$work/err")"
  fi

  if bash "$repo/.github/release/binaries.sh" "$version" "$work/wheels" "$work/release" >"$work/bin.log" 2>&1 &&
    (cd "$work/release" && sha256sum -c --quiet SHA256SUMS) &&
    tar -xzf "$work/release"/paxx-compose-"$version"-*.tar.gz -C "$work/release" &&
    [ "$("$work/release"/paxx-compose-"$version"-*/paxx-compose --version)" = "paxx-compose $version" ]; then
    ok "release binaries: $(cd "$work/release" && ls *.tar.gz), SHA256SUMS verifies, the binary runs"
  else
    bad "release binaries: $(tail -3 "$work/bin.log")"
  fi
fi

echo
echo "dist: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
