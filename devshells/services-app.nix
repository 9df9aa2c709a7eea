# `nix run .#up`: paxx-compose with exactly the services' pinned binaries on PATH (plus
# the dev packages when a service is a project process such as a worker, which runs the
# project's own Python, and a pinned sh, coreutils and grep for setup steps). Nothing from
# the caller's PATH leaks in.
{
  pkgs,
  resolved,
  paxx-compose,
  command ? "up",
}:
let
  inherit (builtins) any filter;
  inherit (import ./lib/attrs.nix) attrPath binPath;
  inherit (import ./lib/manifests.nix) unique;

  servicePackages = unique (filter (p: p != null) (map (s: s.package) resolved.services));
  projectProcesses = any (s: s.package == null) resolved.services;
  names =
    servicePackages
    ++ (if projectProcesses then filter (p: !(builtins.elem p servicePackages)) resolved.packages else [ ]);
  # Manifests' setup steps may use `sh -c` with grep (templates/fastapi.toml does).
  # (A service that refuses root is switched to another account by paxx-compose itself.)
  base = [
    pkgs.bash
    pkgs.coreutils
    pkgs.gnugrep
  ];
  path = [ paxx-compose ] ++ map (attrPath pkgs) names ++ base;
  script = pkgs.writeShellScriptBin "paxx-${command}" ''
    export PATH=${binPath path}
    exec paxx-compose ${command} "$@"
  '';
in
{
  inherit names path script;
  app = {
    type = "app";
    program = "${script}/bin/paxx-${command}";
  };
}
