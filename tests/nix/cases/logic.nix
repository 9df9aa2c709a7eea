# The pieces of resolve: placeholders, start order, module discovery, manifest lints.
# Mirrors the unit tests of src/resolve.rs where they overlap.
let
  m = import ../../../devshells/lib/manifests.nix;
  fixtures = ../fixtures;
  ports = {
    redis = 6380;
    pg = 5433;
    nop = null;
  };
  fill = own: m.fillPlaceholders {
    portOf = ports;
    root = "/p";
    inherit own;
  };
  svc = name: after: {
    inherit name after;
    package = null;
    services = [ ];
  };
  order = specs: map (s: s.name) (m.startOrder specs);
  module = name: extra: {
    inherit name;
    templates = [ "t" ];
    requires = [ ];
    conflicts = [ ];
    packages = [ ];
    services = [ ];
    env = { };
  } // extra;
  service = name: extra: {
    inherit name;
    package = null;
    debian = null;
    command = [ "run" ];
    init = [ ];
    setup = [ ];
    port = null;
    after = [ ];
    ready = null;
    refuses_root = false;
    env = { };
    stop_signal = "TERM";
    ready_timeout = 120;
    probe_timeout = 30;
    stop_timeout = 10;
    fallbacks = [ ];
    restart = "on-failure";
    restart_retries = 5;
    restart_delay = 1;
  } // extra;
in
{
  "placeholders: all four kinds" = {
    expr = fill "redis" "{state} {port} {port:pg} {project}";
    expected = "/p/.paxx/state/redis 6380 5433 /p";
  };
  "placeholders: repeated and adjacent" = {
    expr = fill "redis" "{port}{port}-{port:pg}";
    expected = "63806380-5433";
  };
  "placeholders: a lone brace is text" = {
    expr = fill null "a { b";
    expected = "a { b";
  };
  "placeholders: no braces at all" = {
    expr = fill null "";
    expected = "";
  };
  "placeholders: unknown service" = {
    expr = fill null "{port:nope}";
    throws = true;
  };
  "placeholders: service without a port" = {
    expr = fill null "{port:nop}";
    throws = true;
  };
  "placeholders: {port} outside a service" = {
    expr = fill null "{port}";
    throws = true;
  };
  "placeholders: {state} outside a service" = {
    expr = fill null "{state}";
    throws = true;
  };
  "placeholders: unknown placeholder" = {
    expr = fill null "{what}";
    throws = true;
  };

  "start order: stable, dependencies first" = {
    expr = order [ (svc "worker" [ "redis" ]) (svc "pg" [ ]) (svc "redis" [ ]) ];
    expected = [ "pg" "redis" "worker" ];
  };
  "start order: declaration order kept when free" = {
    expr = order [ (svc "c" [ ]) (svc "a" [ ]) (svc "b" [ ]) ];
    expected = [ "c" "a" "b" ];
  };
  "start order: first ready service is taken, not depth first" = {
    expr = order [ (svc "a" [ "c" ]) (svc "b" [ ]) (svc "c" [ ]) ];
    expected = [ "b" "c" "a" ];
  };
  "start order: a cycle is an error" = {
    expr = order [ (svc "x" [ "y" ]) (svc "y" [ "x" ]) ];
    throws = true;
  };
  "start order: after an absent service is an error" = {
    expr = order [ (svc "x" [ "ghost" ]) ];
    throws = true;
  };

  "compose: two features declaring one service is an error" = {
    expr = m.compose {
      modules = {
        a = module "a" { services = [ (service "db" { }) ]; };
        b = module "b" { services = [ (service "db" { }) ]; };
      };
      features = [ "a" "b" ];
      root = "/p";
    };
    throws = true;
  };
  "compose: without a template, requires cycle still closes" = {
    expr =
      (m.compose {
        modules = {
          a = module "a" { requires = [ "b" ]; packages = [ "x" "y" ]; };
          b = module "b" { requires = [ "a" ]; packages = [ "y" "z" ]; };
        };
        features = [ "b" ];
        root = "/p";
      });
    expected = {
      template = null;
      features = [ "a" "b" ];
      packages = [ "x" "y" "z" ];
      services = [ ];
      env = { };
    };
  };
  "compose: [ports] given for a service sets it" = {
    expr =
      (builtins.head
        (m.compose {
          modules.a = module "a" { services = [ (service "db" { port = 1; command = [ "db" "{port}" ]; }) ]; };
          features = [ "a" ];
          ports.db = 2;
          root = "/p";
        }).services
      ).command;
    expected = [ "db" "2" ];
  };

  "modules: found by listing the folder; folders without module.toml are skipped" = {
    expr = builtins.attrNames (m.readModules (fixtures + "/modules"));
    expected = [ "beat" "cache" "clashy" "mail" "memo" "tool" "worker" ];
  };
  "modules: a missing folder has none" = {
    expr = m.readModules (fixtures + "/no-such-folder");
    expected = { };
  };
  "modules: a later folder's module replaces an earlier one" = {
    expr =
      let
        all = m.readModules [ (fixtures + "/modules") (fixtures + "/agree/modules") ];
      in
      {
        names = builtins.attrNames all;
        cacheTemplates = all.cache.templates;
        memoTemplates = all.memo.templates;
      };
    expected = {
      names = [ "beat" "cache" "clashy" "mail" "memo" "tool" "worker" ];
      cacheTemplates = [ "fastapi" ];
      memoTemplates = [ "web" ];
    };
  };
  "modules: defaults filled in" = {
    expr = let w = (m.readModules (fixtures + "/modules")).worker; in {
      inherit (w) version requires conflicts packages;
      service = builtins.head w.services;
    };
    expected = {
      version = 1;
      requires = [ "cache" ];
      conflicts = [ ];
      packages = [ ];
      service = service "worker" {
        command = [ "uv" "run" "--project" "{project}" "arq" "app.worker.Settings" ];
        after = [ "cache" "postgres" ];
        # Placeholders stay until resolve; the readiness fields not given are filled in.
        ready = {
          tcp = false;
          command = null;
          redis_key = {
            url = "redis://127.0.0.1:{port:cache}/1";
            key = "{project}:health-check";
          };
        };
      };
    };
  };

  "lint: every attribute the manifests name" = {
    expr = m.namedAttrs (
      builtins.attrValues (m.readModules (fixtures + "/modules"))
      ++ [ (m.readTemplate (fixtures + "/templates") "web") ]
    );
    expected = [ "redis" "uv" "mailpit" "valkey" "git" "python312" "ruff" "postgresql_16" ];
  };
  "lint: a service package missing from [nix].packages is reported" = {
    expr = m.unlistedServicePackages [
      (module "ok" { packages = [ "redis" ]; services = [ (service "r" { package = "redis"; }) ]; })
      (module "bad" { services = [ (service "m" { package = "minio"; }) (service "w" { }) ]; })
    ];
    expected = [ "bad: minio" ];
  };
  "unique keeps the first of each" = {
    expr = m.unique [ "b" "a" "b" "c" "a" ];
    expected = [ "b" "a" "c" ];
  };
  "a manifest with [[migrations]] (read by paxx-compose upgrade only) still reads" = {
    expr =
      let
        ms = m.readModules ../../fixtures/upgrade/0.10.0/modules;
      in
      {
        names = builtins.attrNames ms;
        alpha = { inherit (ms.alpha) version env; };
      };
    expected = {
      names = [ "alpha" "beta" ];
      alpha = {
        version = 2;
        env = {
          ALPHA_DSN = "alpha://127.0.0.1/0";
          ALPHA_TIMEOUT = "5";
        };
      };
    };
  };
}
