# The project's locked Python environment: uv.lock through uv2nix, wheels preferred.
# It needs nixpkgs and the uv2nix inputs: tier 2 evaluates it with the real uv2nix,
# pyproject.nix and build-system-pkgs and a stand-in nixpkgs (tests/nix/real.py);
# mk-project.nix takes it as a function so that the stub-pkgs cases can stand in for it.
{
  pkgs,
  src, # devshells/lib/sources.nix `build`: pyproject.toml, uv.lock, the wheel's files
  python,
  name,
  uv2nix,
  pyproject-nix,
  pyproject-build-systems,
}:
# uv2nix's own error for a missing lock does not say what to do.
assert
  builtins.pathExists (src + "/uv.lock")
  || throw "paxx: ${name} has no uv.lock in the flake's source: run `uv lock`, then `git add uv.lock` (a flake in git sees only tracked files; `paxx-compose doctor` checks both)";
let
  workspace = uv2nix.lib.workspace.loadWorkspace { workspaceRoot = src; };
  overlay = workspace.mkPyprojectOverlay { sourcePreference = "wheel"; };
  buildSystems = pyproject-build-systems.overlays.wheel or pyproject-build-systems.overlays.default;
  pythonSet = (pkgs.callPackage pyproject-nix.build.packages { inherit python; }).overrideScope (
    pkgs.lib.composeManyExtensions [
      buildSystems
      overlay
    ]
  );
in
pythonSet.mkVirtualEnv "${name}-env" workspace.deps.default
