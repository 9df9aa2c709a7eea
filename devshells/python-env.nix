# The project's locked Python environment: uv.lock through uv2nix, wheels preferred.
# It needs nixpkgs and the uv2nix inputs: tier 2 evaluates it with the real uv2nix,
# pyproject.nix and build-system-pkgs and a stand-in nixpkgs (tests/nix/real.py);
# mk-project.nix takes it as a function so that the stub-pkgs cases can stand in for it.
{
  pkgs,
  workspaceRoot, # the project folder (the flake's source): pyproject.toml and uv.lock
  src, # what building the project's wheel reads (devshells/lib/sources.nix `build`)
  python,
  name,
  uv2nix,
  pyproject-nix,
  pyproject-build-systems,
}:
# uv2nix's own error for a missing lock does not say what to do.
assert
  builtins.pathExists (workspaceRoot + "/uv.lock")
  || throw "paxx: ${name} has no uv.lock in the flake's source: run `uv lock`, then `git add uv.lock` (a flake in git sees only tracked files; `paxx-compose doctor` checks both)";
let
  # Read from the flake's source, which Nix has in the store already: a filtered copy is
  # only computed, not added, under `nix flake check --no-build` (read-only evaluation),
  # and reading a file in it would fail there.
  workspace = uv2nix.lib.workspace.loadWorkspace { inherit workspaceRoot; };
  overlay = workspace.mkPyprojectOverlay { sourcePreference = "wheel"; };
  # uv2nix builds the project from the whole folder; its wheel reads only `src`, so tests
  # or docs changing do not rebuild it (nor anything it holds).
  project = pkgs.lib.toLower (
    builtins.replaceStrings [ "_" "." ] [ "-" "-" ]
      (builtins.fromTOML (builtins.readFile (workspaceRoot + "/pyproject.toml"))).project.name
  );
  ownSource = final: prev: {
    ${project} = prev.${project}.overrideAttrs (_: {
      inherit src;
    });
  };
  buildSystems = pyproject-build-systems.overlays.wheel or pyproject-build-systems.overlays.default;
  pythonSet = (pkgs.callPackage pyproject-nix.build.packages { inherit python; }).overrideScope (
    pkgs.lib.composeManyExtensions [
      buildSystems
      overlay
      ownSource
    ]
  );
in
pythonSet.mkVirtualEnv "${name}-env" workspace.deps.default
