# The project's locked Python environment: uv.lock through uv2nix, wheels preferred.
# Only full Nix evaluates this (it needs nixpkgs and the uv2nix inputs); mk-project.nix
# takes it as a function so that tests can stand in for it.
{
  pkgs,
  src,
  python,
  name,
  uv2nix,
  pyproject-nix,
  pyproject-build-systems,
}:
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
