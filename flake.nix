{
  description = "paxx: compose feature modules into FastAPI projects, with pinned services and a reproducible image";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";
    # Used only for a project's packages.default and image (uv.lock -> Python env);
    # nothing else forces them.
    pyproject-nix = {
      url = "github:pyproject-nix/pyproject.nix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    uv2nix = {
      url = "github:pyproject-nix/uv2nix";
      inputs.pyproject-nix.follows = "pyproject-nix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    pyproject-build-systems = {
      url = "github:pyproject-nix/build-system-pkgs";
      inputs.pyproject-nix.follows = "pyproject-nix";
      inputs.uv2nix.follows = "uv2nix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs =
    inputs@{ self, nixpkgs, ... }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      forSystems =
        f:
        builtins.listToAttrs (
          map (system: {
            name = system;
            value = f system;
          }) systems
        );

      manifests = import ./devshells/lib/manifests.nix;
      modulesDir = ./modules;
      templatesDir = ./templates;
      modules = manifests.readModules modulesDir;
      knownAttrs = (manifests.readToml ./nix/known-attrs.toml).attrs;

      # The crate's source: everything but VCS data and build results.
      source = builtins.path {
        path = ./.;
        name = "paxx-source";
        filter =
          path: type:
          let
            base = baseNameOf path;
          in
          !(builtins.elem base [
            ".git"
            "target"
          ])
          && builtins.match "result(-.*)?" base == null;
      };
      version = (manifests.readToml ./Cargo.toml).package.version;

      # A module's tools alone: its template's packages plus the feature (and what it
      # requires), with the environment it exports.
      featureShell =
        pkgs: name:
        let
          module = modules.${name};
        in
        import ./devshells/shell.nix {
          inherit pkgs;
          name = "paxx-${name}";
          resolved = manifests.compose {
            template =
              if module.templates == [ ] then null else manifests.readTemplate templatesDir (builtins.head module.templates);
            inherit modules;
            features = [ name ];
            root = "@PAXX_ROOT@";
          };
        };
    in
    {
      templates = {
        fastapi = {
          path = ./templates/fastapi;
          description = "FastAPI service: PostgreSQL, Alembic, JSON logs, health checks; add features with paxx-compose";
          welcomeText = ''
            # A new FastAPI service, made with paxx

            Next:

            ```sh
            nix develop                                  # pinned Python, uv, ruff, PostgreSQL, paxx-compose
            paxx-compose init --name myservice           # name the project
            paxx-compose add feature redis tasks         # add features (`paxx-compose list` shows them)
            paxx-compose up                              # start the services, then in another shell:
            uv run pytest
            git init && git add -A                       # a flake sees only what git tracks
            uv lock && git add uv.lock                   # nix build reads the lock
            nix build .#image                            # reproducible OCI image (Linux)
            ```
          '';
        };
        default = self.templates.fastapi;
      };

      lib = {
        inherit (manifests) resolve compose statusView;
        mkProject = import ./devshells/flake-project.nix {
          inherit inputs modulesDir templatesDir;
          paxxPackages = self.packages;
          defaultSystems = systems;
        };
      };

      packages = forSystems (
        system:
        let
          pkgs = nixpkgs.legacyPackages.${system};
        in
        rec {
          paxx-compose = pkgs.callPackage ./nix/package.nix {
            src = source;
            # Read from the flake's own copy: `source` is only computed, not added, when
            # `nix flake check --no-build` evaluates read-only.
            cargoLock = ./Cargo.lock;
            inherit version;
          };
          default = paxx-compose;
        }
      );

      apps = forSystems (system: {
        default = {
          type = "app";
          program = "${self.packages.${system}.paxx-compose}/bin/paxx-compose";
        };
      });

      devShells = forSystems (
        system:
        let
          pkgs = nixpkgs.legacyPackages.${system};
        in
        builtins.listToAttrs (
          map (name: {
            inherit name;
            value = featureShell pkgs name;
          }) (builtins.filter (n: n != "default") (builtins.attrNames modules))
        )
        // {
          # For working on paxx itself.
          default = pkgs.mkShell {
            name = "paxx-dev";
            packages = with pkgs; [
              cargo
              rustc
              clippy
              rustfmt
              rust-analyzer
              nixfmt-rfc-style
              git
              python312
              uv
            ];
          };
        }
      );

      formatter = forSystems (system: nixpkgs.legacyPackages.${system}.nixfmt-rfc-style);

      checks = forSystems (
        system:
        let
          pkgs = nixpkgs.legacyPackages.${system};
          attrs = import ./devshells/lib/attrs.nix;
          missing = builtins.filter (a: !(attrs.hasAttrPath pkgs a)) (builtins.attrNames knownAttrs);
          named = manifests.namedAttrs (
            builtins.attrValues modules
            ++ map (f: manifests.readTemplate templatesDir (builtins.replaceStrings [ ".toml" ] [ "" ] f)) (
              builtins.filter (f: builtins.match ".*\\.toml" f != null) (
                builtins.attrNames (if builtins.pathExists templatesDir then builtins.readDir templatesDir else { })
              )
            )
          );
          unknown = builtins.filter (a: !(knownAttrs ? ${a})) named;
        in
        {
          # Builds paxx-compose and runs its tests (cargo test).
          paxx-compose = self.packages.${system}.paxx-compose.override { doCheck = true; };
          # nix/known-attrs.toml is right about the pinned nixpkgs, and every attribute a
          # manifest names is in it.
          known-attrs =
            if missing != [ ] then
              throw "nix/known-attrs.toml lists attributes the pinned nixpkgs lacks: ${toString missing}"
            else if unknown != [ ] then
              throw "manifests name attributes missing from nix/known-attrs.toml: ${toString unknown}"
            else
              pkgs.runCommand "paxx-known-attrs" { } "touch $out";
        }
        # Every feature's shell evaluates and builds with the pinned nixpkgs.
        // builtins.listToAttrs (
          map (name: {
            name = "devshell-${name}";
            value = featureShell pkgs name;
          }) (builtins.attrNames modules)
        )
      );
    };
}
