# The project's own files for the package and the image, without local state, caches,
# secrets or build results (builtins only).
{ src, name }:
let
  skip = [
    ".git"
    ".direnv"
    ".venv"
    ".paxx"
    ".env"
    "__pycache__"
    ".mypy_cache"
    ".ruff_cache"
    ".pytest_cache"
    "node_modules"
  ];
in
builtins.path {
  path = src;
  name = "${name}-src";
  filter =
    path: type:
    let
      base = baseNameOf path;
    in
    !(builtins.elem base skip) && builtins.match "result(-.*)?" base == null;
}
