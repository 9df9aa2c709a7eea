# The repo's real manifests (templates/*.toml, modules/*/module.toml) against
# nix/known-attrs.toml, and flake.lock against what it must pin.
let
  inherit (builtins) attrNames attrValues filter match readDir pathExists;
  repo = ../../..;
  m = import ../../../devshells/lib/manifests.nix;
  known = m.readToml (repo + "/nix/known-attrs.toml");
  lock = builtins.fromJSON (builtins.readFile (repo + "/flake.lock"));
  templateNames = map (f: builtins.head (match "(.*)\\.toml" f)) (
    filter (f: match ".*\\.toml" f != null) (attrNames (if pathExists (repo + "/templates") then readDir (repo + "/templates") else { }))
  );
  templates = map (m.readTemplate (repo + "/templates")) templateNames;
  modules = m.readModules (repo + "/modules");
  parts = templates ++ attrValues modules;
in
{
  "every attribute a manifest names is in nix/known-attrs.toml" = {
    expr = filter (a: !(known.attrs ? ${a})) (m.namedAttrs parts);
    expected = [ ];
  };
  "every service's package is also in its manifest's [nix].packages" = {
    expr = m.unlistedServicePackages (map (t: t // { name = "template ${t.name}"; }) templates ++ attrValues modules);
    expected = [ ];
  };
  "every module names templates and modules that exist" = {
    expr = builtins.concatMap (
      mod:
      map (t: "${mod.name}: template ${t}") (filter (t: !(builtins.elem t templateNames)) mod.templates)
      ++ map (r: "${mod.name}: module ${r}") (filter (r: !(modules ? ${r})) (mod.requires ++ mod.conflicts))
    ) (attrValues modules);
    expected = [ ];
  };
  "every template folder has its manifest beside it" = {
    expr = filter (d: !(builtins.elem d templateNames)) (
      filter (n: (readDir (repo + "/templates")).${n} == "directory") (attrNames (readDir (repo + "/templates")))
    );
    expected = [ ];
  };
  "known attrs: each says where it is defined and where it was seen" = {
    expr = filter (a: (known.attrs.${a}.defined-in or "") == "" || (known.attrs.${a}.seen or "") == "") (attrNames known.attrs);
    expected = [ ];
  };
  "known attrs: written for the revision flake.lock pins" = {
    expr = known.pin;
    expected = {
      ref = lock.nodes.nixpkgs.original.ref;
      rev = lock.nodes.nixpkgs.locked.rev;
    };
  };
  "flake.lock: every input locked to a full rev with a narHash" = {
    expr = filter (
      n:
      let
        l = lock.nodes.${n}.locked;
      in
      match "[0-9a-f]{40}" (l.rev or "") == null || match "sha256-[A-Za-z0-9+/]{43}=" (l.narHash or "") == null
    ) (filter (n: n != "root") (attrNames lock.nodes));
    expected = [ ];
  };
  "flake.lock: pins exactly the flake's inputs, the uv2nix trio following nixpkgs" = {
    expr = {
      root = lock.nodes.root.inputs;
      uv2nix = lock.nodes.uv2nix.inputs;
      build = lock.nodes.pyproject-build-systems.inputs;
      pyproject = lock.nodes.pyproject-nix.inputs;
      nixpkgs = lock.nodes.nixpkgs.original;
    };
    expected = {
      root = {
        nixpkgs = "nixpkgs";
        pyproject-build-systems = "pyproject-build-systems";
        pyproject-nix = "pyproject-nix";
        uv2nix = "uv2nix";
      };
      uv2nix = {
        nixpkgs = [ "nixpkgs" ];
        pyproject-nix = [ "pyproject-nix" ];
      };
      build = {
        nixpkgs = [ "nixpkgs" ];
        pyproject-nix = [ "pyproject-nix" ];
        uv2nix = [ "uv2nix" ];
      };
      pyproject.nixpkgs = [ "nixpkgs" ];
      nixpkgs = {
        owner = "NixOS";
        ref = "nixos-25.05";
        repo = "nixpkgs";
        type = "github";
      };
    };
  };
  "nix/build-systems.toml: written for the build-system-pkgs flake.lock pins" = {
    expr = (m.readToml (repo + "/nix/build-systems.toml")).pin.rev;
    expected = lock.nodes.pyproject-build-systems.locked.rev;
  };
}
