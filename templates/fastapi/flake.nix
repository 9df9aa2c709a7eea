{
  description = "A FastAPI service made with paxx";

  inputs = {
    paxx.url = "github:paxx-dev/paxx";
    # One nixpkgs for everything: the revision paxx pins (`nix flake update paxx` moves both).
    nixpkgs.follows = "paxx/nixpkgs";
  };

  # Everything comes from paxx.toml and the enabled features' manifests:
  #   nix develop           pinned python, uv, ruff, paxx-compose, each feature's tools, env
  #   nix develop .#redis   the template's tools plus one feature's
  #   nix run .#up          the services, with exactly their pinned binaries
  #   nix run .#migrate     alembic upgrade head
  #   nix build             the app with its locked Python dependencies (uv.lock)
  #   nix build .#image     a reproducible OCI image (docker load < result)
  #   nix flake check       lint, build, dev shell
  outputs =
    { paxx, nixpkgs, ... }:
    let
      project = paxx.lib.mkProject {
        src = ./.;
        inherit nixpkgs;
        # extraPackages = pkgs: [ pkgs.httpie ];   # more tools in every dev shell
      };
    in
    project
    // {
      # Your own outputs go here; merge per-system sets with `//`, for example:
      # packages.x86_64-linux = project.packages.x86_64-linux // { docs = …; };
    };
}
