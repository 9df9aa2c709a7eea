# nixpkgs' packages for one system, as stand-ins: every package is a real derivation
# (it has a drvPath and an outPath, `nix flake check --no-build` instantiates it) whose
# builder only fails, so nothing is ever built. The library code that matters (nixpkgs'
# `lib`, uv2nix, pyproject.nix, build-system-pkgs) is the real one; what stands in here is
# only what nixpkgs would build: compilers, interpreters, fetchers, trivial builders.
#
# The few values that steer real code (which wheels fit, which markers hold) are meant to
# be the pinned nixos-25.05's: CPython 3.12 (3.12.11; the patch level is from public
# release records, not read from the pinned tree), glibc 2.40, and the platform that the
# real `lib.systems.elaborate` gives.
{ lib, system }:
let
  inherit (builtins)
    isAttrs
    isFunction
    isList
    toJSON
    ;

  platform = lib.systems.elaborate system;
  never = "echo 'paxx tests: a stand-in for a nixpkgs package; it is evaluated, never built' >&2; exit 1";

  # What builtins.derivation accepts as an attribute value (nixpkgs would also refuse the rest).
  plain =
    v:
    if isFunction v then
      false
    else if isList v then
      lib.all plain v
    else if isAttrs v then
      v ? outPath
    else
      true;

  # stdenv.mkDerivation: the same argument shapes as nixpkgs (attrs, or finalAttrs: attrs),
  # overrideAttrs, passthru and env merged the same way; the builder always fails.
  mkDerivation =
    fnOrAttrs:
    let
      rattrs = if isFunction fnOrAttrs then fnOrAttrs else _: fnOrAttrs;
    in
    extensible rattrs;
  extensible =
    rattrs:
    let
      args = rattrs args;
      overrideAttrs =
        f0:
        let
          f =
            final: prev:
            let
              x = f0 prev;
            in
            if isFunction x then f0 final prev else x;
        in
        extensible (lib.extends f rattrs);
      name = args.name or "${args.pname}-${args.version}";
      passthru = args.passthru or { };
      drvAttrs = lib.filterAttrs (n: v: !(builtins.elem n [ "passthru" "meta" "env" ]) && plain v) args;
      drv = derivation (
        drvAttrs
        // (args.env or { })
        // {
          inherit name system;
          builder = "/bin/sh";
          args = [
            "-c"
            never
          ];
        }
      );
    in
    drv
    // passthru
    // {
      inherit overrideAttrs passthru;
      meta = args.meta or { };
    }
    # nixpkgs keeps every argument on the result (pname, version, src, nativeBuildInputs …)
    // lib.filterAttrs (n: _: !(drv ? ${n})) (removeAttrs args [ "passthru" ]);

  pkg =
    pname: extra:
    mkDerivation (
      {
        inherit pname;
        version = "0-standin";
      }
      // extra
    );

  glibc = pkg "glibc" { version = "2.40"; } // {
    linuxHeaders.version = "6.12";
  };
  stdenv = {
    inherit mkDerivation;
    hostPlatform = platform;
    buildPlatform = platform;
    targetPlatform = platform;
    inherit (platform) isLinux isDarwin;
    cc = pkg "cc-wrapper" { } // {
      libc = glibc;
    };
    shell = "/bin/sh";
  };

  python =
    version:
    let
      short = lib.versions.majorMinor version;
      parts = lib.splitVersion version;
      sourceVersion = {
        major = builtins.elemAt parts 0;
        minor = builtins.elemAt parts 1;
        patch = builtins.elemAt parts 2;
        suffix = "";
      };
      self =
        pkg "python3" {
          inherit version;
          passthru = {
            inherit sourceVersion;
            implementation = "cpython";
            pythonVersion = short;
            sitePackages = "lib/python${short}/site-packages";
            isPy3 = true;
          };
        }
        // {
          inherit stdenv sourceVersion;
          implementation = "cpython";
          pythonVersion = short;
          sitePackages = "lib/python${short}/site-packages";
          interpreter = "${self}/bin/python${short}";
          executable = "python${short}";
          pythonOnBuildForHost = self;
          pythonOlder = lib.versionOlder short;
          pythonAtLeast = lib.versionAtLeast short;
          isPy3k = true;
          pkgs = { };
        };
    in
    self;

  # `pkgs.runCommand name env script` and friends.
  runCommand =
    name: env: script:
    mkDerivation (
      env
      // {
        inherit name;
        buildCommand = script;
      }
    );
  writeText = name: text: runCommand name { inherit text; } "";

  self =
    # Every name in nix/known-attrs.toml (the manifests' packages), as a package.
    lib.foldl' (
      acc: path: lib.recursiveUpdate acc (lib.setAttrByPath (lib.splitString "." path) (pkg path { }))
    ) { } (builtins.attrNames (lib.importTOML ./known-attrs.toml).attrs)
    // {
      inherit lib stdenv;
      pkgs = self;
      buildPackages = self;
      callPackage = lib.callPackageWith self;
      newScope = extra: lib.callPackageWith (self // extra);

      python312 = python "3.12.11";
      python3 = self.python312;
      python3Packages = { };

      uv = pkg "uv" { };
      ruff = pkg "ruff" { };
      ugrep = pkg "ugrep" { meta.mainProgram = "ugrep"; };
      unzip = pkg "unzip" { };
      cacert = pkg "cacert" { };
      bash = pkg "bash" { };
      coreutils = pkg "coreutils" { };
      gnugrep = pkg "gnugrep" { };
      git = pkg "git" { };
      cargo = pkg "cargo" { };
      rustc = pkg "rustc" { };
      clippy = pkg "clippy" { };
      rustfmt = pkg "rustfmt" { };
      rust-analyzer = pkg "rust-analyzer" { };
      nixfmt-rfc-style = pkg "nixfmt-rfc-style" { };
      autoPatchelfHook = pkg "auto-patchelf-hook" { };
      installShellFiles = pkg "install-shell-files" { };
      pythonManylinuxPackages = {
        manylinux1 = [ glibc ];
        manylinux2010 = [ glibc ];
        manylinux2014 = [ glibc ];
      };

      inherit runCommand writeText;
      writeShellScriptBin = name: text: runCommand name { inherit text; } "";
      writeShellScript = name: text: runCommand name { inherit text; } "";
      replaceVars = path: vars: runCommand (baseNameOf (toString path)) (vars // { src = path; }) "";
      makeSetupHook =
        {
          name,
          substitutions ? { },
          propagatedBuildInputs ? [ ],
          ...
        }:
        script:
        runCommand name (
          lib.mapAttrs (_: v: if isList v then toString v else v) substitutions
          // {
            inherit propagatedBuildInputs script;
          }
        ) "";
      fetchurl =
        {
          url,
          hash ? null,
          sha256 ? null,
          name ? baseNameOf url,
          ...
        }:
        derivation {
          inherit name system url;
          builder = "/bin/sh";
          args = [
            "-c"
            never
          ];
          outputHashMode = "flat";
          outputHash = if hash != null then hash else sha256;
          outputHashAlgo = if hash != null then null else "sha256";
        };
      mkShell =
        args:
        mkDerivation (
          removeAttrs args [ "packages" ]
          // {
            name = args.name or "nix-shell";
            nativeBuildInputs = (args.nativeBuildInputs or [ ]) ++ (args.packages or [ ]);
            passthru = (args.passthru or { }) // {
              packages = args.packages or [ ];
            };
          }
        );
      # Reads Cargo.lock at evaluation, as nixpkgs' importCargoLock does.
      rustPlatform.buildRustPackage =
        args:
        mkDerivation (
          args
          // {
            cargoPackages = toString (
              map (p: "${p.name}-${p.version}") (lib.importTOML args.cargoLock.lockFile).package
            );
          }
        );

      # The real one streams layers into a tarball; this one keeps what it was given (the
      # image's config is in a file of its own, as in nixpkgs, so it can be read back).
      dockerTools.buildLayeredImage =
        args:
        let
          conf = writeText "${args.name}-config.json" (toJSON {
            inherit (args) created;
            config = args.config or { };
          });
        in
        mkDerivation {
          name = "${args.name}.tar.gz";
          inherit conf;
          extraCommands = args.extraCommands or "";
          passthru = {
            inherit args conf;
            imageName = args.name;
            imageTag = args.tag or null;
          };
        };
    };
in
self
