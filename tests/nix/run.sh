#!/usr/bin/env bash
# Tier 2: the Nix layer, checked offline with Debian's Nix (no nixpkgs needed; uv reaches
# the package index for part 6's uv.lock).
#
#   1. every .nix file in the repo, and in generated projects, parses
#   2. expr/expected cases (tests/nix/cases/*.nix): the builtins-only logic on fixtures, and
#      the shell/services/image/flake builders evaluated with a stub pkgs
#   3. the dev shell's hook, run by sh: it finds the project folder and keeps set values
#   4. the flake itself: templates, feature shells, `nix flake init -t`, a generated
#      project's flake evaluated against this checkout
#   5. with paxx-compose ($PAXX_COMPOSE, or target/debug/paxx-compose): Rust and Nix read
#      the same manifests and agree; `nix flake init` + `init` + `add` equals `new`
#   6. tests/nix/real.py: the paxx flake and a generated project (every feature, a uv.lock
#      made by uv) evaluated through the real uv2nix, pyproject.nix, build-system-pkgs and
#      nixpkgs lib of ../shared/nix-sources ($PAXX_NIX_SOURCES), nixpkgs' packages being
#      stand-ins (tests/nix/standin); `nix flake check --no-build` and what would be built
#   7. tests/nix/workflows.py: the workflows build the image on two runners, rebuild every
#      derivation of their own, compare digests, then serve it (checked by shape)
#
# Prints PASS/FAIL per case and "N passed, N failed" last; exits 1 on any failure.
# Usage: bash tests/nix/run.sh            (PAXX_COMPOSE=path/to/paxx-compose optional)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
passed=0
failed=0
skipped=0
ok() { printf 'PASS %s\n' "$*"; passed=$((passed + 1)); }
bad() { printf 'FAIL %s\n' "$*"; failed=$((failed + 1)); }
skip() { printf 'SKIP %s\n' "$*"; skipped=$((skipped + 1)); }
section() { printf '\n-- %s\n' "$*"; }

# --- Nix ---------------------------------------------------------------------------
if ! command -v nix-instantiate >/dev/null || ! command -v nix >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Nix from Debian (nix-bin)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nix-bin >/dev/null
  else
    echo "Nix is missing: install it (Debian: sudo apt-get install nix-bin)" >&2
    exit 1
  fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/paxx-nix.XXXXXX")
cleanup() { chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export PAXX_NIX_TEST_WORK="$work"
export XDG_CACHE_HOME="$work/cache" # Nix's fetcher cache: fresh, so nothing passes by luck
# No global flake registry (it would be fetched); every input here is pinned or a path.
printf '{"flakes":[],"version":2}\n' >"$work/registry.json"
export NIX_CONFIG="experimental-features = nix-command flakes
flake-registry = $work/registry.json
warn-dirty = false"
# Without a daemon, a non-root user gets a store of their own under $work.
if [ "$(id -u)" != 0 ] && [ ! -S /nix/var/nix/daemon-socket/socket ] && [ ! -w /nix/store ]; then
  export NIX_REMOTE="local?root=$work/nix-root"
fi
nixc() { nix --offline "$@"; }
echo "$(nix --version), $( [ -n "${NIX_REMOTE:-}" ] && echo "store $NIX_REMOTE" || echo "store /nix/store")"

# --- 1. every .nix file parses -------------------------------------------------------
section "1. parse"
parse_all() { # parse_all <dir> <label>
  local n=0 f
  while IFS= read -r -d '' f; do
    n=$((n + 1))
    if err=$(nix-instantiate --parse "$f" 2>&1 >/dev/null); then
      ok "parse $2${f#"$1"}"
    else
      bad "parse $2${f#"$1"}: $err"
    fi
  done < <(find "$1" \( -name .git -o -name target -o -name node_modules -o -name .venv \) -prune -o -name '*.nix' -type f -print0 | sort -z)
  [ "$n" -gt 0 ] || bad "parse $2: no .nix file found under $1"
}
parse_all "$repo" ""

# --- 2. expr/expected cases ----------------------------------------------------------
section "2. eval cases"
# A project tree with what git never keeps (.venv, .paxx, __pycache__, result links), for
# devshells/lib/sources.nix (cases/project.nix). No uv.lock is committed: it is made here.
src="$work/app-source"
mkdir -p "$src/app/__pycache__" "$src/migrations" "$src/tests" "$src/.venv/bin" "$src/.paxx/state" \
  "$src/__pycache__" "$src/.git" "$src/dist"
printf '[project]\nname = "t"\nreadme = "README.md"\n[tool.hatch.build.targets.wheel]\npackages = ["app", "migrations"]\n' >"$src/pyproject.toml"
echo 'x = 1' | tee "$src/app/main.py" "$src/migrations/env.py" "$src/tests/test_main.py" >/dev/null
echo '[project]' >"$src/paxx.toml"
echo '# t' >"$src/README.md"
echo 'version = 1' >"$src/uv.lock"
echo '[alembic]' >"$src/alembic.ini"
echo 'SECRET_KEY=do-not-ship' >"$src/.env"
touch "$src/__pycache__/main.cpython-312.pyc" "$src/app/__pycache__/main.cpython-312.pyc" "$src/app/main.pyc" \
  "$src/.paxx/state/x" "$src/.venv/bin/python" "$src/dist/t-0.1.0.tar.gz"
ln -s /nix/store "$src/result"
for case_file in "$here"/cases/*.nix; do
  label=$(basename "$case_file")
  if out=$(nixc eval --impure --raw --expr "import $here/harness.nix { caseFile = $case_file; }" 2>"$work/err"); then
    printf '%s\n' "$out"
    p=$(printf '%s\n' "$out" | grep -c '^PASS ' || true)
    f=$(printf '%s\n' "$out" | grep -c '^FAIL ' || true)
    passed=$((passed + p))
    failed=$((failed + f))
    echo "   $label: $p passed, $f failed"
  else
    bad "$label: evaluation error: $(tail -5 "$work/err")"
  fi
done

# --- 3. the dev shell's hook, run by sh ---------------------------------------------
section "3. dev shell hook"
hook_expr="let
  stub = import $here/stub-pkgs.nix { };
  m = import $repo/devshells/lib/manifests.nix;
in (import $repo/devshells/shell.nix {
  pkgs = stub;
  resolved = m.resolve {
    paxxToml = $here/fixtures/projects/all/paxx.toml;
    modulesDir = $here/fixtures/modules;
    templatesDir = $here/fixtures/templates;
    root = \"@PAXX_ROOT@\";
  };
}).args.shellHook"
if nixc eval --impure --raw --expr "$hook_expr" >"$work/hook.sh" 2>"$work/err"; then
  if sh -n "$work/hook.sh" 2>"$work/err"; then ok "hook: valid sh"; else bad "hook: sh -n: $(cat "$work/err")"; fi
  mkdir -p "$work/proj/app/deep" && touch "$work/proj/paxx.toml"
  got=$(cd "$work/proj/app/deep" && env -u MAIL_SPOOL LOG_LEVEL=warning sh -c ". '$work/hook.sh'; printf '%s|%s|%s|%s' \"\$PAXX_ROOT\" \"\$MAIL_SPOOL\" \"\$LOG_LEVEL\" \"\$SMTP_PORT\"")
  want="$work/proj|$work/proj/.paxx/mail|warning|1025"
  if [ "$got" = "$want" ]; then ok "hook: finds the folder holding paxx.toml, fills {project}, keeps values already set"; else bad "hook: got '$got', want '$want'"; fi
  got=$(cd "$work" && env -u PAXX_ROOT sh -c ". '$work/hook.sh'; printf '%s' \"\$PAXX_ROOT\"")
  if [ "$got" = "$work" ]; then ok "hook: outside a project the folder is the current one"; else bad "hook: outside a project got '$got'"; fi
else
  bad "hook: evaluation error: $(tail -5 "$work/err")"
fi

# --- 4. the flake --------------------------------------------------------------------
section "4. flake"
# Flakes see what git tracks: copy the checkout's files (tracked and new, not ignored).
copy="$work/paxx"
mkdir -p "$copy"
(cd "$repo" && git -c safe.directory="$repo" ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && cp -P --parents "$f" "$copy/"
done)
gitinit() { # gitinit <dir>: a repository with everything added and committed
  git -C "$1" init -q && git -C "$1" add -A &&
    git -C "$1" -c user.name=paxx-tests -c user.email=paxx-tests@localhost commit -q -m snapshot
}
gitinit "$copy" || bad "flake: git init of the checkout copy"

expect_eval() { # expect_eval <label> <expected> <nix eval args…>
  local label=$1 want=$2 got
  shift 2
  if got=$(nixc eval "$@" 2>"$work/err"); then
    if [ "$got" = "$want" ]; then ok "$label"; else bad "$label: got $got, want $want"; fi
  else
    bad "$label: $(grep -v '^warning' "$work/err" | tail -3)"
  fi
}
expect_eval "flake: templates (offline, nothing fetched)" '["default","fastapi"]' \
  --json "$copy#templates" --apply builtins.attrNames
modules_json=$(cd "$repo/modules" 2>/dev/null && for d in */; do [ -f "$d/module.toml" ] && printf '%s\n' "${d%/}"; done | { cat; echo default; } | sort | sed 's/.*/"&"/' | paste -sd, -)
expect_eval "flake: devShells = default + one per module in modules/" "[$modules_json]" \
  --json "$copy#devShells.x86_64-linux" --apply builtins.attrNames
expect_eval "flake: apps.default is an app" '"app"' --json "$copy#apps.aarch64-darwin.default.type"

# A module dropped into modules/ gets its shell and check, with no list to edit.
cp -r "$here/fixtures/agree/modules/." "$copy/modules/"
git -C "$copy" add -A && git -C "$copy" -c user.name=paxx-tests -c user.email=paxx-tests@localhost commit -q -m modules
expect_eval "flake: new modules are discovered (shells)" "$(printf '%s\n' beat cache default mail worker $(cd "$repo/modules" && for d in */; do [ -f "$d/module.toml" ] && echo "${d%/}"; done) | sort -u | sed 's/.*/"&"/' | paste -sd, - | sed 's/^/[/;s/$/]/')" \
  --json "$copy#devShells.x86_64-linux" --apply builtins.attrNames
expect_eval "flake: new modules are discovered (checks)" "true" \
  --json "$copy#checks.x86_64-linux" --apply 'c: builtins.all (n: c ? "devshell-${n}") [ "beat" "cache" "mail" "worker" ] && c ? known-attrs && c ? paxx-compose'

# nix flake init -t, offline, in an empty folder: exactly the template's files.
init="$work/init"
mkdir -p "$init"
if [ -n "${NIX_REMOTE:-}" ]; then
  # Nix 2.8 copies a template from the store's real path, which a store under another
  # root does not have: run as root, or with a Nix daemon, to cover this.
  skip "flake init -t: needs root or a Nix daemon (store is $NIX_REMOTE)"
elif (cd "$init" && nixc flake init -t "$copy#fastapi" >"$work/init.log" 2>&1); then
  ok "flake init -t #fastapi in an empty folder"
  if diff -r "$copy/templates/fastapi" "$init" >"$work/diff" 2>&1; then
    ok "flake init: the folder equals templates/fastapi"
  else
    bad "flake init: differs from templates/fastapi: $(head -5 "$work/diff")"
  fi
  parse_all "$init" "(flake init) "
else
  bad "flake init -t #fastapi: $(tail -3 "$work/init.log")"
fi

# The generated project's flake, its paxx input pointed at this checkout.
if [ -f "$init/flake.nix" ] && [ -f "$init/paxx.toml" ]; then
  proj="$work/proj-flake"
  cp -r "$init" "$proj" && gitinit "$proj"
  if (cd "$proj" && nixc flake lock --override-input paxx "git+file://$copy" >"$work/lock.log" 2>&1); then
    ok "project flake: locks offline against this checkout (nixpkgs follows paxx's pin)"
    pin=$(nixc eval --impure --raw --expr "(builtins.fromJSON (builtins.readFile $repo/flake.lock)).nodes.nixpkgs.locked.rev")
    expect_eval "project flake: nixpkgs follows paxx's pin" "{\"follows\":[\"paxx\",\"nixpkgs\"],\"rev\":\"$pin\"}" \
      --impure --json --expr "let l = builtins.fromJSON (builtins.readFile $proj/flake.lock); in { follows = l.nodes.root.inputs.nixpkgs; rev = l.nodes.\${l.nodes.paxx.inputs.nixpkgs}.locked.rev; }"
    expect_eval "project flake: devShells" '["default"]' --json "$proj#devShells.x86_64-linux" --apply builtins.attrNames
    expect_eval "project flake: apps" '["default","down","migrate","up"]' --json "$proj#apps.x86_64-linux" --apply builtins.attrNames
    expect_eval "project flake: packages" '["default","image","venv"]' --json "$proj#packages.aarch64-linux" --apply builtins.attrNames
    expect_eval "project flake: apps.up is an app" '"app"' --json "$proj#apps.x86_64-darwin.up.type"
  else
    bad "project flake: nix flake lock: $(grep -v '^warning' "$work/lock.log" | tail -3)"
  fi
else
  skip "project flake: no flake.nix and paxx.toml from flake init (missing: $(for f in flake.nix paxx.toml; do [ -f "$init/$f" ] || printf '%s ' "$f"; done))"
fi

# --- 5. with paxx-compose --------------------------------------------------------------
section "5. paxx-compose and Nix agree"
bin=${PAXX_COMPOSE:-$repo/target/debug/paxx-compose}
if [ ! -x "$bin" ]; then
  skip "paxx-compose not built (set PAXX_COMPOSE or cargo build): Rust/Nix agreement and init+add=new not run"
else
  export PAXX_MODULES="$here/fixtures/agree/modules"
  # Fixture modules, then the real catalog: one module with requires, two with
  # fallbacks, and every real module at once.
  all_real=$(for m in "$repo"/modules/*/module.toml; do basename "$(dirname "$m")"; done | paste -sd, -)
  for features in "" "cache" "worker" "mail,beat" "tasks" "storage,email" "$all_real"; do
    dir="$work/agree-${features:-bare}"
    dir=${dir//,/-}
    mkdir -p "$dir" # `new` accepts an empty folder
    if ! "$bin" new "$dir" --name shop ${features:+--feature "$features"} >"$work/new.log" 2>&1; then
      bad "agree [${features}]: paxx-compose new: $(tail -3 "$work/new.log")"
      continue
    fi
    if ! (cd "$dir" && "$bin" status --json >"$work/status.json" 2>"$work/err"); then
      bad "agree [${features}]: paxx-compose status --json: $(tail -3 "$work/err")"
      continue
    fi
    root=$(cd "$dir" && pwd -P)
    cmp_expr="let
      m = import $repo/devshells/lib/manifests.nix;
      rust = builtins.fromJSON (builtins.readFile $work/status.json);
      nix = m.resolve {
        paxxToml = $root/paxx.toml;
        modulesDir = [ $repo/modules $PAXX_MODULES ];
        templatesDir = $repo/templates;
        root = \"$root\";
      };
      # status --json adds what runs now to each service; the rest must match field for field.
      runtime = [ \"pid\" \"running\" \"healthy\" \"detached\" \"restarts\" \"last_exit\" ];
      pick = r: {
        inherit (r) features packages env;
        services = map (s: builtins.removeAttrs s runtime) r.services;
      };
    in if pick rust == pick nix then \"same\" else builtins.toJSON { rust = pick rust; nix = pick nix; }"
    if got=$(nixc eval --impure --raw --expr "$cmp_expr" 2>"$work/err"); then
      if [ "$got" = same ]; then
        ok "agree [${features}]: features, packages, services, env from Rust = from Nix"
      else
        bad "agree [${features}]: Rust and Nix differ: $got"
      fi
    else
      bad "agree [${features}]: $(grep -v '^warning' "$work/err" | tail -3)"
    fi
    parse_all "$dir" "(new ${features:-bare}) "
  done

  # The package's postInstall run by bash against this binary, with installManPage and
  # installShellCompletion standing in for nixpkgs' installShellFiles hook (same layout).
  pkg_out="$work/pkg-out"
  mkdir -p "$pkg_out/bin" "$work/pkg-build" && cp "$bin" "$pkg_out/bin/paxx-compose"
  if post=$(nixc eval --impure --raw --expr "((import $here/stub-pkgs.nix { }).callPackage $repo/nix/package.nix { src = \"/src\"; version = \"1\"; }).args.postInstall" 2>"$work/err"); then
    cat >"$work/post-install.sh" <<POST
set -euo pipefail
installManPage() { mkdir -p "\$out/share/man/man1" && cp "\$@" "\$out/share/man/man1/"; }
installShellCompletion() {
  local cmd="" shell="" dest
  while [ \$# -gt 0 ]; do
    case "\$1" in
      --cmd) cmd=\$2; shift 2 ;;
      --bash | --zsh | --fish) shell=\${1#--}; shift ;;
      *)
        case "\$shell" in
          bash) dest=share/bash-completion/completions/\$cmd.bash ;;
          zsh) dest=share/zsh/site-functions/_\$cmd ;;
          fish) dest=share/fish/vendor_completions.d/\$cmd.fish ;;
        esac
        mkdir -p "\$out/\$(dirname "\$dest")" && cat "\$1" >"\$out/\$dest"; shift ;;
    esac
  done
}
$post
POST
    if (cd "$work/pkg-build" && out="$pkg_out" bash "$work/post-install.sh") >"$work/post.log" 2>&1; then
      pages=$(cd "$pkg_out/share/man/man1" 2>/dev/null && ls | paste -sd' ' -)
      if [[ " $pages " == *" paxx-compose.1 "* && " $pages " == *" paxx-compose-add.1 "* ]]; then
        ok "package postInstall: man pages ($pages)"
      else
        bad "package postInstall: man pages missing, got: $pages"
      fi
      got=$(bash -c 'source "$1"; COMP_WORDS=(paxx-compose add feature re); COMP_CWORD=3; _paxx__compose paxx-compose re feature; printf "%s " "${COMPREPLY[@]}"' bash "$pkg_out/share/bash-completion/completions/paxx-compose.bash")
      if [ "$got" = "redis " ]; then ok "package postInstall: the installed bash completion completes add feature re -> redis"; else bad "package postInstall: bash completion gave '$got'"; fi
      if grep -q '^#compdef paxx-compose' "$pkg_out/share/zsh/site-functions/_paxx-compose" && grep -q redis "$pkg_out/share/fish/vendor_completions.d/paxx-compose.fish"; then
        ok "package postInstall: zsh and fish completions installed"
      else
        bad "package postInstall: zsh or fish completion missing"
      fi
    else
      bad "package postInstall failed: $(tail -3 "$work/post.log")"
    fi
  else
    bad "package postInstall: $(grep -v '^warning' "$work/err" | tail -3)"
  fi

  # nix flake init + init + add == new
  a="$work/via-init" b="$work/via-new"
  mkdir -p "$a" "$b"
  if (cd "$a" && nixc flake init -t "$copy#fastapi" >/dev/null 2>&1 &&
    "$bin" init --name shop >/dev/null 2>"$work/err" &&
    "$bin" add feature worker mail >/dev/null 2>>"$work/err") &&
    "$bin" new "$b" --name shop --feature worker,mail >/dev/null 2>>"$work/err"; then
    # `.env` holds each project's own random SECRET_KEY: everything else must be equal.
    key() { sed -n 's/^SECRET_KEY=//p' "$1/.env"; }
    if diff -r -x .env "$a" "$b" >"$work/diff" 2>&1 && [ -n "$(key "$a")" ] && [ "$(key "$a")" != "$(key "$b")" ]; then
      ok "nix flake init + paxx-compose init + add = paxx-compose new (worker, mail), each with its own .env key"
    else
      bad "init+add differs from new: $(head -8 "$work/diff")"
    fi
  else
    bad "init+add vs new: $(tail -3 "$work/err")"
  fi

  # nix flake init + init == new, named everywhere the template shows a name
  a="$work/via-init-bare" b="$work/via-new-bare"
  mkdir -p "$a"
  if (cd "$a" && nixc flake init -t "$copy#fastapi" >/dev/null 2>&1 &&
    "$bin" init --name my-shop >/dev/null 2>"$work/err") &&
    "$bin" new "$b" --name my-shop >/dev/null 2>>"$work/err"; then
    # .env differs by design: each project gets its own random development SECRET_KEY.
    if ! diff -r -x .env "$a" "$b" >"$work/diff" 2>&1; then
      bad "init differs from new: $(head -8 "$work/diff")"
    elif ! grep -q '^SECRET_KEY=' "$a/.env" || ! grep -q '^SECRET_KEY=' "$b/.env" ||
      cmp -s "$a/.env" "$b/.env"; then
      bad "init + new: each should write its own .env with a SECRET_KEY"
    elif [ "$(head -1 "$a/README.md")" != "# my-shop" ] ||
      ! grep -qx '    PROJECT_NAME: str = "my-shop"' "$a/app/core/config.py"; then
      bad "init + new: the name is not in the README title and PROJECT_NAME"
    else
      ok "nix flake init + paxx-compose init = paxx-compose new (bare, my-shop in README and settings)"
    fi
  else
    bad "init vs new (bare): $(tail -3 "$work/err")"
  fi
fi

# --- 6. the real outputs through the real uv2nix (tests/nix/real.py) -------------------
section "6. the flake and a generated project through the real uv2nix, pyproject.nix, build-system-pkgs and lib"
t6=$(date +%s)
python3 "$here/real.py" --repo "$repo" --work "$work" --bin "${PAXX_COMPOSE:-$repo/target/debug/paxx-compose}" >"$work/real.log" 2>&1
real_status=$?
cat "$work/real.log"
p=$(grep -c '^PASS ' "$work/real.log" || true)
f=$(grep -c '^FAIL ' "$work/real.log" || true)
s=$(grep -c '^SKIP ' "$work/real.log" || true)
passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
[ "$real_status" -eq 0 ] || [ "$f" -gt 0 ] || bad "real.py exited with $real_status"
echo "   real.py: $p passed, $f failed, $s skipped in $(($(date +%s) - t6)) s"

# --- 7. the workflows' reproducibility proof, by shape (tests/nix/workflows.py) ---------
section "7. workflows: the image built on two machines and compared, then served"
python3 "$here/workflows.py" --repo "$repo" >"$work/workflows.log" 2>&1
wf_status=$?
cat "$work/workflows.log"
p=$(grep -c '^PASS ' "$work/workflows.log" || true)
f=$(grep -c '^FAIL ' "$work/workflows.log" || true)
s=$(grep -c '^SKIP ' "$work/workflows.log" || true)
passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
[ "$wf_status" -eq 0 ] || [ "$f" -gt 0 ] || bad "workflows.py exited with $wf_status"

# ----------------------------------------------------------------------------------
echo
echo "nix: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
