# A stand-in for nixpkgs (one system): plain attribute sets and functions that record
# their arguments, so tests can see what would be built without building (or fetching)
# anything. Its packages are exactly the names in nix/known-attrs.toml, so a manifest or a
# builder that names anything else fails here too.
{
  isLinux ? true,
  # false: a cross build, whose binaries the build machine cannot run.
  canExecute ? true,
}:
let
  inherit (builtins) foldl';
  attrs = import ../../devshells/lib/attrs.nix;
  known = builtins.attrNames (builtins.fromTOML (builtins.readFile ../../nix/known-attrs.toml)).attrs;

  drv =
    name: extra:
    {
      type = "derivation";
      inherit name;
      outPath = "/nix/store/00000000000000000000000000000000-${name}";
    }
    // extra;
  pkg = name: drv name { pname = name; };

  # Nest dotted names ("a.b") as attribute sets.
  insert =
    set: path:
    let
      go =
        s: parts:
        let
          h = builtins.head parts;
          rest = builtins.tail parts;
        in
        s // { ${h} = if rest == [ ] then pkg path else go (s.${h} or { }) rest; };
    in
    go set (attrs.splitAttrPath path);
  packages = foldl' insert { } known;

  # callPackage: fill a function's arguments from the stub; `.override` calls it again.
  callPackage =
    f: args:
    let
      fn = if builtins.isFunction f then f else import f;
    in
    fn (builtins.intersectAttrs (builtins.functionArgs fn) self // args)
    // {
      override = more: callPackage f (args // more);
    };

  self = packages // {
    inherit callPackage;
    stdenv.hostPlatform = {
      inherit isLinux;
      isDarwin = !isLinux;
    };
    stdenv.buildPlatform.canExecute = _host: canExecute;
    installShellFiles = pkg "installShellFiles";
    mkShell =
      args:
      drv (args.name or "shell") {
        stub = "mkShell";
        inherit args;
      };
    writeShellScriptBin =
      name: text:
      drv name {
        stub = "writeShellScriptBin";
        inherit text;
      };
    runCommand =
      name: env: script:
      drv name {
        stub = "runCommand";
        inherit env script;
      };
    dockerTools.buildLayeredImage =
      args:
      drv "${args.name}.tar.gz" {
        stub = "buildLayeredImage";
        inherit args;
      };
    rustPlatform.buildRustPackage =
      args:
      drv "${args.pname}-${args.version}" {
        stub = "buildRustPackage";
        inherit args;
      };
  };
in
self
