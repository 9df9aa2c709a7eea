# `paxx.lib.mkProject`: a generated project's flake outputs for every system. The
# per-system work is mk-project.nix; this file only picks nixpkgs and the uv2nix inputs.
{
  inputs, # paxx's flake inputs (nixpkgs, uv2nix, pyproject-nix, pyproject-build-systems)
  paxxPackages, # paxx's packages.<system> (paxx-compose)
  modulesDir,
  templatesDir,
  defaultSystems,
}:
{
  src,
  nixpkgs ? inputs.nixpkgs,
  systems ? defaultSystems,
  appModule ? "app.main:app",
  port ? 8000,
  extraPackages ? pkgs: [ ], # pkgs -> more packages for the dev shells
}:
let
  forSystems =
    f:
    builtins.listToAttrs (
      map (system: {
        name = system;
        value = f system;
      }) systems
    );
  perSystem = forSystems (
    system:
    let
      pkgs = nixpkgs.legacyPackages.${system};
    in
    import ./mk-project.nix {
      inherit
        pkgs
        system
        src
        modulesDir
        templatesDir
        appModule
        port
        ;
      extraPackages = extraPackages pkgs;
      paxx-compose = paxxPackages.${system}.paxx-compose;
      mkPythonEnv =
        {
          python,
          workspaceRoot,
          src,
          name,
        }:
        import ./python-env.nix {
          inherit
            pkgs
            python
            workspaceRoot
            src
            name
            ;
          inherit (inputs) uv2nix pyproject-nix pyproject-build-systems;
        };
    }
  );
  pick = key: builtins.mapAttrs (_: outputs: outputs.${key}) perSystem;
in
{
  devShells = pick "devShells";
  apps = pick "apps";
  packages = pick "packages";
  checks = pick "checks";
  formatter = forSystems (system: nixpkgs.legacyPackages.${system}.nixfmt-rfc-style);
}
