# A stand-in for nixpkgs that tests/nix/run.sh puts in place of the pinned one (with
# `--override-input nixpkgs path:…`): `lib` is nixpkgs' real library (copied beside this
# file from ../shared/nix-sources/nixpkgs-lib by run.sh, with nix/known-attrs.toml), `legacyPackages` are derivations
# that evaluate and are never built (pkgs.nix).
{
  description = "nixpkgs' real lib; its packages as stand-ins that never build";

  outputs =
    _:
    let
      lib = import ./lib;
    in
    {
      inherit lib;
      legacyPackages = lib.genAttrs [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ] (system: import ./pkgs.nix { inherit lib system; });
    };
}
