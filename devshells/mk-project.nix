# One system's outputs for a generated project, from its paxx.toml and paxx's manifests.
# Everything is built from `pkgs` (tests pass a stub that records what would be built).
{
  pkgs,
  system, # "x86_64-linux" …: known without evaluating nixpkgs
  src, # the project folder (its flake's ./.)
  paxx-compose,
  modulesDir, # paxx's modules/ (same source as paxx-compose)
  templatesDir, # paxx's templates/
  mkPythonEnv ? null, # { python, workspaceRoot, src, name } -> locked virtualenv; null: no package or image
  appModule ? "app.main:app",
  port ? 8000,
  extraPackages ? [ ], # more packages for every dev shell
}:
let
  m = import ./lib/manifests.nix;
  rootToken = "@PAXX_ROOT@";

  project = m.readProject (src + "/paxx.toml");
  name = project.project.name or "app";
  template = m.readTemplate templatesDir (project.project.template or "fastapi");
  modules = m.readModules modulesDir;
  compose =
    features:
    m.compose {
      inherit template modules features;
      ports = project.ports or { };
      root = rootToken;
    };
  resolved = compose (project.project.features or [ ]);

  # Every project shell has paxx-compose too (up, add, doctor …).
  shellWithCompose =
    shellName: r:
    import ./shell.nix {
      inherit pkgs rootToken;
      name = shellName;
      resolved = r;
      extraPackages = [ paxx-compose ] ++ extraPackages;
    };

  services = command: import ./services-app.nix { inherit pkgs resolved paxx-compose command; };

  python = import ./lib/python.nix {
    inherit pkgs;
    inherit (resolved) packages;
  };
  sources = import ./lib/sources.nix { inherit src name; };
  venv = mkPythonEnv {
    inherit name;
    workspaceRoot = src;
    src = sources.build;
    python = python.package;
  };
  hasPython = mkPythonEnv != null;
  # An OCI image is Linux binaries: a darwin system would fill it with macOS ones.
  isLinux = builtins.match ".*-linux" system != null;

  # The app is the project's own wheel, installed in the venv with its dependencies.
  app = pkgs.writeShellScriptBin name ''
    cd ${sources.runtime}
    exec ${venv}/bin/uvicorn ${appModule} --host "''${HOST:-0.0.0.0}" --port "''${PORT:-${toString port}}" "$@"
  '';
  migrate = pkgs.writeShellScriptBin "${name}-migrate" ''
    # Run in the project folder: alembic.ini and the app are read from the working tree.
    if [ "$#" -eq 0 ]; then set -- upgrade heads; fi
    export PYTHONPATH="$PWD''${PYTHONPATH:+:$PYTHONPATH}"
    exec ${venv}/bin/alembic "$@"
  '';
  image = import ./image.nix {
    inherit
      pkgs
      name
      venv
      appModule
      port
      ;
    workdir = sources.runtime;
  };
  ruff = pkgs.runCommand "${name}-ruff" { nativeBuildInputs = [ pkgs.ruff ]; } ''
    cd ${sources.all}
    ruff check --no-cache .
    ruff format --check --no-cache .
    touch $out
  '';

  devShells =
    {
      default = shellWithCompose name resolved;
    }
    // builtins.listToAttrs (
      map (f: {
        name = f;
        value = shellWithCompose "${name}-${f}" (compose [ f ]);
      }) resolved.features
    );
in
{
  inherit resolved devShells sources migrate;
  apps =
    {
      up = (services "up").app;
      down = (services "down").app;
    }
    // (
      if hasPython then
        {
          migrate = {
            type = "app";
            program = "${migrate}/bin/${name}-migrate";
          };
          default = {
            type = "app";
            program = "${app}/bin/${name}";
          };
        }
      else
        { }
    );
  packages =
    if hasPython then
      {
        default = app;
        inherit venv;
      }
      // (if isLinux then { inherit image; } else { })
    else
      { };
  checks = {
    devShell = devShells.default;
    inherit ruff;
  } // (if hasPython then { package = app; } else { });
  # For tests and the curious: what `up` puts on PATH.
  servicesPath = (services "up").path;
}
