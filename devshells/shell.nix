# A dev shell for a resolved feature set: exactly the manifests' [nix].packages (the
# services' binaries among them), the project's environment, and uv told to use the
# pinned Python. `pkgs` is nixpkgs for one system; tests pass a stub that records calls.
{
  pkgs,
  resolved, # devshells/lib/manifests.nix compose/resolve result, root = rootToken
  name ? "paxx",
  extraPackages ? [ ],
  rootToken ? "@PAXX_ROOT@",
}:
let
  inherit (import ./lib/attrs.nix) attrPath;
  python = import ./lib/python.nix { inherit pkgs; inherit (resolved) packages; };
in
pkgs.mkShell {
  inherit name;
  packages = map (attrPath pkgs) resolved.packages ++ extraPackages;
  shellHook = import ./lib/shell-hook.nix {
    inherit rootToken;
    inherit (resolved) features env;
    fixed =
      {
        UV_PYTHON_DOWNLOADS = "never";
      }
      // (
        if python.attr == null then
          { }
        else
          {
            UV_PYTHON = "${python.package}/bin/python3";
            UV_PYTHON_PREFERENCE = "only-system";
          }
      );
  };
}
