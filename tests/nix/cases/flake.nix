# The root flake's outputs function and paxx.lib.mkProject, called with stub inputs
# (nixpkgs = the stub pkgs for every system), so their shape is checked without nixpkgs.
let
  inherit (builtins) attrNames listToAttrs;
  repo = ../../..;
  m = import ../../../devshells/lib/manifests.nix;
  stub = import ../stub-pkgs.nix { };
  systems = [ "aarch64-darwin" "aarch64-linux" "x86_64-darwin" "x86_64-linux" ];
  nixpkgs = {
    legacyPackages = listToAttrs (map (s: { name = s; value = stub; }) systems);
  };
  notForced = name: throw "input ${name} was forced";
  inputs = {
    inherit nixpkgs;
    uv2nix = notForced "uv2nix";
    pyproject-nix = notForced "pyproject-nix";
    pyproject-build-systems = notForced "pyproject-build-systems";
  };
  flake = import (repo + "/flake.nix");
  self = flake.outputs (inputs // { self = self // { outPath = toString repo; }; });
  modules = attrNames (m.readModules (repo + "/modules"));

  project = self.lib.mkProject { src = ../fixtures/mkproject; };
in
{
  "flake: inputs are nixpkgs (a release branch) and the uv2nix trio" = {
    expr = {
      inputs = attrNames flake.inputs;
      nixpkgs = flake.inputs.nixpkgs.url;
    };
    expected = {
      inputs = [ "nixpkgs" "pyproject-build-systems" "pyproject-nix" "uv2nix" ];
      nixpkgs = "github:NixOS/nixpkgs/nixos-25.05";
    };
  };
  "flake: outputs" = {
    expr = attrNames self;
    expected = [ "apps" "checks" "devShells" "formatter" "lib" "packages" "templates" ];
  };
  "flake: the four systems" = {
    expr = map (o: attrNames self.${o}) [ "apps" "checks" "devShells" "formatter" "packages" ];
    expected = [ systems systems systems systems systems ];
  };
  "flake: templates fastapi and default, with description and welcome text" = {
    expr = {
      names = attrNames self.templates;
      same = self.templates.default == self.templates.fastapi;
      path = toString self.templates.fastapi.path == toString repo + "/templates/fastapi";
      hasDescription = self.templates.fastapi.description != "";
      saysNext = builtins.match ".*nix develop.*paxx-compose init.*paxx-compose add.*" (builtins.replaceStrings [ "\n" ] [ " " ] self.templates.fastapi.welcomeText) != null;
    };
    expected = {
      names = [ "default" "fastapi" ];
      same = true;
      path = true;
      hasDescription = true;
      saysNext = true;
    };
  };
  "flake: a dev shell per module, from the modules folder, plus paxx's own" = {
    expr = attrNames self.devShells.x86_64-linux;
    expected = builtins.sort builtins.lessThan ([ "default" ] ++ modules);
  };
  "flake: paxx's own dev shell" = {
    expr = map (p: p.name) self.devShells.x86_64-linux.default.args.packages;
    expected = [ "cargo" "rustc" "clippy" "rustfmt" "rust-analyzer" "nixfmt-rfc-style" "git" "python312" "uv" ];
  };
  "flake: packages and the default app run paxx-compose" = {
    expr = {
      packages = attrNames self.packages.x86_64-linux;
      app = self.apps.x86_64-linux.default;
    };
    expected = {
      packages = [ "default" "paxx-compose" ];
      app = {
        type = "app";
        program = "/nix/store/00000000000000000000000000000000-paxx-compose-${(m.readToml (repo + "/Cargo.toml")).package.version}/bin/paxx-compose";
      };
    };
  };
  "flake: paxx-compose is built from Cargo.lock, tests off; the check turns them on" = {
    expr =
      let
        args = self.packages.x86_64-linux.paxx-compose.args;
      in
      {
        inherit (args) pname doCheck;
        version = args.version == (m.readToml (repo + "/Cargo.toml")).package.version;
        lock = toString args.cargoLock.lockFile == toString repo + "/Cargo.lock";
        source = builtins.match "/nix/store/[a-z0-9]+-paxx-source" (toString args.src) != null;
        checked = (stub.callPackage (repo + "/nix/package.nix") {
          src = "/src";
          version = "1";
          doCheck = true;
        }).args.doCheck;
      };
    expected = {
      pname = "paxx-compose";
      doCheck = false;
      version = true;
      lock = true;
      source = true;
      checked = true;
    };
  };
  "flake: checks build paxx-compose with tests, known attrs, every feature shell" = {
    expr = attrNames self.checks.x86_64-linux;
    expected = builtins.sort builtins.lessThan ([ "known-attrs" "paxx-compose" ] ++ map (n: "devshell-${n}") modules);
  };
  "flake: known-attrs check passes against a pkgs that has every listed name" = {
    expr = self.checks.x86_64-linux.known-attrs.name;
    expected = "paxx-known-attrs";
  };
  "flake: the formatter is nixfmt" = {
    expr = self.formatter.x86_64-linux.name;
    expected = "nixfmt-rfc-style";
  };

  "lib.mkProject: per-system outputs, uv2nix not forced" = {
    expr = {
      outputs = attrNames project;
      systems = attrNames project.devShells;
      shells = attrNames project.devShells.x86_64-linux;
      apps = attrNames project.apps.aarch64-darwin;
      packages = attrNames project.packages.x86_64-linux;
      checks = attrNames project.checks.aarch64-linux;
      up = project.apps.x86_64-linux.up.type;
    };
    expected = {
      outputs = [ "apps" "checks" "devShells" "formatter" "packages" ];
      systems = systems;
      shells = [ "default" ];
      apps = [ "default" "down" "migrate" "up" ];
      packages = [ "default" "image" "venv" ];
      checks = [ "devShell" "package" "ruff" ];
      up = "app";
    };
  };
  "lib.mkProject: forcing the package reaches uv2nix (only then)" = {
    expr = project.packages.x86_64-linux.default.text;
    throws = true;
  };
  "lib.mkProject: systems and extra packages are parameters" = {
    expr =
      let
        p = self.lib.mkProject {
          src = ../fixtures/mkproject;
          systems = [ "x86_64-linux" ];
          extraPackages = pkgs: [ pkgs.git ];
        };
      in
      {
        systems = attrNames p.devShells;
        last =
          let
            ps = p.devShells.x86_64-linux.default.args.packages;
          in
          (builtins.elemAt ps (builtins.length ps - 1)).name;
      };
    expected = {
      systems = [ "x86_64-linux" ];
      last = "git";
    };
  };
  "lib.resolve is the builtins-only resolve" = {
    expr =
      let
        args = {
          paxxToml = ../fixtures/projects/all/paxx.toml;
          modulesDir = ../fixtures/modules;
          templatesDir = ../fixtures/templates;
          root = "/p";
        };
      in
      self.lib.resolve args == m.resolve args;
    expected = true;
  };
}
