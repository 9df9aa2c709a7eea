#!/usr/bin/env bash
# The binaries attached to a GitHub release, taken out of the wheels (one build serves
# both): for each wheel, paxx-compose-<version>-<target>.tar.gz holding the binary,
# LICENSE and README.md; then SHA256SUMS over all of them.
# Usage: .github/release/binaries.sh VERSION WHEEL_DIR OUT_DIR
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
version=${1:?usage: binaries.sh VERSION WHEEL_DIR OUT_DIR}
wheels=$(cd "${2:?wheel folder}" && pwd)
mkdir -p "${3:?output folder}"
out=$(cd "$3" && pwd)

# A wheel's platform tag → the target name users know (Rust's triples, shortened).
target_of() {
  local tag=$1 arch os
  case "$tag" in
    *x86_64*) arch=x86_64 ;;
    *aarch64* | *arm64*) arch=aarch64 ;;
    *) echo "unknown architecture in wheel tag $tag" >&2; return 1 ;;
  esac
  case "$tag" in
    musllinux*) os=linux-musl ;;
    manylinux* | linux*) os=linux-gnu ;;
    macosx*) os=apple-darwin ;;
    *) echo "unknown platform in wheel tag $tag" >&2; return 1 ;;
  esac
  echo "$arch-$os"
}

n=0
for whl in "$wheels"/paxx_compose-"$version"-*.whl; do
  [ -e "$whl" ] || { echo "no paxx_compose-$version-*.whl in $wheels" >&2; exit 1; }
  tag=$(basename "$whl" .whl)
  tag=${tag##*-}
  target=$(target_of "$tag")
  name="paxx-compose-$version-$target"
  stage=$(mktemp -d)
  mkdir "$stage/$name"
  python3 - "$whl" "$stage/$name/paxx-compose" "$version" <<'PY'
import sys, zipfile
whl, dest, version = sys.argv[1:]
with zipfile.ZipFile(whl) as z:
    data = z.read(f"paxx_compose-{version}.data/scripts/paxx-compose")
with open(dest, "wb") as f:
    f.write(data)
PY
  chmod 755 "$stage/$name/paxx-compose"
  cp "$repo/LICENSE" "$repo/README.md" "$stage/$name/"
  # Same bytes for the same inputs: sorted names, fixed owner and time.
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$stage" -cf - "$name" |
    gzip -n >"$out/$name.tar.gz"
  rm -rf "$stage"
  n=$((n + 1))
done
(cd "$out" && sha256sum paxx-compose-"$version"-*.tar.gz >SHA256SUMS)
echo "$n archive(s) and SHA256SUMS in $out"
