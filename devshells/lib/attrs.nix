# Small helpers over attribute sets and strings, with builtins only.
let
  inherit (builtins)
    concatStringsSep
    filter
    foldl'
    isString
    replaceStrings
    split
    ;
in
rec {
  # "postgresql_16" or "python312Packages.alembic" -> its parts.
  splitAttrPath = path: filter isString (split "\\." path);

  # The package a manifest names, looked up in `pkgs` (nixpkgs for one system, or a stub).
  attrPath =
    pkgs: path:
    foldl' (
      acc: part: acc.${part} or (throw "paxx: nixpkgs has no attribute `${path}` (looked up `${part}`)")
    ) pkgs (splitAttrPath path);

  # Does `pkgs` have `path`? (For the known-attrs check on full Nix.)
  hasAttrPath =
    pkgs: path:
    (foldl' (
      acc: part:
      if acc.ok && builtins.isAttrs acc.value && acc.value ? ${part} then
        {
          ok = true;
          value = acc.value.${part};
        }
      else
        {
          ok = false;
          value = null;
        }
    ) { ok = true; value = pkgs; } (splitAttrPath path)).ok;

  # One word for a POSIX shell, single-quoted.
  shellQuote = s: "'" + replaceStrings [ "'" ] [ "'\\''" ] s + "'";

  # `dirs/bin` joined for PATH.
  binPath = pkgs': concatStringsSep ":" (map (p: "${p}/bin") pkgs');
}
