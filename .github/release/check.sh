#!/usr/bin/env bash
# Release gate, run on a tag before anything is built or published:
#   - the tag is v<version> and <version> is Cargo.toml's, and every template's
#     paxx.toml says that paxx-version (they are bumped together: docs/upgrade.md);
#   - the catalog of <version> is in catalog-history/ and committed: this runs
#     `paxx-compose snapshot-catalog`, which stores the catalog the binary carries, and
#     refuses the release if that changed anything git tracks (then: commit the snapshot
#     and tag again). Every later paxx-compose upgrades projects from it.
# Usage: .github/release/check.sh TAG    (PAXX_COMPOSE=path: use that binary, else cargo run)
set -euo pipefail
cd "$(dirname "$0")/../.."

tag=${1:?usage: check.sh TAG (e.g. v0.2.0)}
fail() { echo "release check: $*" >&2; exit 1; }

version=${tag#v}
[ "$tag" = "v$version" ] || fail "tag \`$tag\` is not v<version>"
crate=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
[ "$version" = "$crate" ] || fail "tag $tag but Cargo.toml says version $crate: bump one of them"
for t in templates/*/paxx.toml; do
  v=$(sed -n 's/^paxx-version = "\(.*\)"$/\1/p' "$t")
  [ "$v" = "$version" ] || fail "$t says paxx-version \"$v\", the release is $version: bump it with Cargo.toml's"
done

if [ -n "${PAXX_COMPOSE:-}" ]; then
  paxx() { "$PAXX_COMPOSE" "$@"; }
else
  paxx() { cargo run --quiet --locked -- "$@"; }
fi
[ "$(paxx --version)" = "paxx-compose $version" ] || fail "the binary says \`$(paxx --version)\`, not $version"

[ -z "$(git status --porcelain -- catalog-history)" ] ||
  fail "catalog-history/ has uncommitted changes: commit or discard them first"
paxx snapshot-catalog
if [ -n "$(git status --porcelain -- catalog-history)" ]; then
  git status --short -- catalog-history >&2
  fail "the catalog of $version was not in catalog-history/: snapshot-catalog just wrote it. Commit it (\`cargo run -- snapshot-catalog && git add catalog-history && git commit\`), move the tag to that commit, and push again"
fi
echo "release check: $tag = Cargo.toml = templates' paxx-version; catalog $version is committed in catalog-history/"
