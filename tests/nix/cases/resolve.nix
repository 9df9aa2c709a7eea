# resolve on fixture projects: features closed over `requires`, packages deduplicated in
# order, services in start order with placeholders filled, env merged (later wins).
# Expected values are written out by hand from the fixture manifests.
let
  m = import ../../../devshells/lib/manifests.nix;
  fixtures = ../fixtures;
  resolve =
    project:
    m.resolve {
      paxxToml = fixtures + "/projects/${project}/paxx.toml";
      modulesDir = fixtures + "/modules";
      templatesDir = fixtures + "/templates";
      root = "/p";
    };

  # What every service gets when its manifest does not say (src/manifest.rs `defaults`).
  defaults = {
    ready_timeout = 120;
    probe_timeout = 30;
    stop_timeout = 10;
    restart = "on-failure";
    restart_retries = 5;
    restart_delay = 1;
  };

  postgres = port: defaults // {
    name = "postgres";
    package = "postgresql_16";
    debian = "postgresql";
    command = [ "postgres" "-D" "/p/.paxx/state/postgres" "-p" (toString port) "-k" "/p/.paxx/state/postgres" ];
    init = [ [ "initdb" "-D" "/p/.paxx/state/postgres" "-U" "app" ] ];
    setup = [ [ "createdb" "-h" "127.0.0.1" "-p" (toString port) "-U" "app" "app" ] ];
    inherit port;
    after = [ ];
    ready = {
      tcp = false;
      command = [ "pg_isready" "-h" "127.0.0.1" "-p" (toString port) ];
      redis_key = null;
    };
    refuses_root = true;
    env = { };
    state = "/p/.paxx/state/postgres";
    stop_signal = "INT";
    ready_timeout = 90;
    probe_timeout = 12;
    restart = "never";
    fallbacks = [ ];
  };
  cache = port: defaults // {
    name = "cache";
    package = "redis";
    debian = "redis-server";
    command = [ "redis-server" "--port" (toString port) "--dir" "/p/.paxx/state/cache" "--save" "" ];
    init = [ ];
    setup = [ ];
    inherit port;
    after = [ ];
    ready = {
      tcp = true;
      command = null;
      redis_key = null;
    };
    refuses_root = false;
    env.REDIS_LOG = "/p/.paxx/state/cache/redis.log";
    restart_retries = 2;
    restart_delay = 3;
    state = "/p/.paxx/state/cache";
    stop_signal = "TERM";
    fallbacks = [ ];
  };
  # Ready by a key in the cache: its port and the project's folder filled in.
  worker = cachePort: defaults // {
    name = "worker";
    package = null;
    debian = null;
    command = [ "uv" "run" "--project" "/p" "arq" "app.worker.Settings" ];
    init = [ ];
    setup = [ ];
    port = null;
    after = [ "cache" "postgres" ];
    ready = {
      tcp = false;
      command = null;
      redis_key = {
        url = "redis://127.0.0.1:${toString cachePort}/1";
        key = "/p:health-check";
      };
    };
    refuses_root = false;
    env = { };
    state = "/p/.paxx/state/worker";
    stop_signal = "TERM";
    fallbacks = [ ];
  };
  mail = defaults // {
    name = "mail";
    package = "mailpit";
    debian = null;
    command = [ "mailpit" "--smtp" "127.0.0.1:1025" "--listen" "127.0.0.1:8025" "--database" "/p/.paxx/state/mail/mail.db" ];
    init = [ ];
    setup = [ ];
    port = 1025;
    after = [ ];
    ready = {
      tcp = true;
      command = null;
      redis_key = null;
    };
    refuses_root = false;
    env = { };
    state = "/p/.paxx/state/mail";
    stop_signal = "TERM";
    fallbacks = [ ];
  };
  beat = defaults // {
    name = "beat";
    package = null;
    debian = null;
    command = [ "uv" "run" "arq" "--check" "app.worker.Settings" ];
    init = [ ];
    setup = [ ];
    port = null;
    after = [ "worker" ];
    ready = null;
    refuses_root = false;
    env = { };
    state = "/p/.paxx/state/beat";
    stop_signal = "TERM";
    fallbacks = [ ];
  };
  base = [ "python312" "uv" "ruff" "postgresql_16" ];
in
{
  bare = {
    expr = resolve "bare";
    expected = {
      template = "web";
      features = [ ];
      packages = base;
      services = [ (postgres 5432) ];
      env = {
        DATABASE_URL = "postgresql+asyncpg://app:app@127.0.0.1:5432/app";
        LOG_LEVEL = "info";
      };
    };
  };

  "one feature: its package once (uv is the template's already)" = {
    expr = resolve "cache";
    expected = {
      template = "web";
      features = [ "cache" ];
      packages = base ++ [ "redis" ];
      services = [ (postgres 5432) (cache 6379) ];
      env = {
        DATABASE_URL = "postgresql+asyncpg://app:app@127.0.0.1:5432/app";
        LOG_LEVEL = "info";
        REDIS_URL = "redis://127.0.0.1:6379/0";
      };
    };
  };

  "requires is followed; a later env value wins" = {
    expr = resolve "worker";
    expected = {
      template = "web";
      features = [ "cache" "worker" ];
      packages = base ++ [ "redis" ];
      services = [ (postgres 5432) (cache 6379) (worker 6379) ];
      env = {
        DATABASE_URL = "postgresql+asyncpg://app:app@127.0.0.1:5432/app";
        LOG_LEVEL = "debug";
        REDIS_URL = "redis://127.0.0.1:6379/0";
        WORKER_QUEUE = "redis://127.0.0.1:6379/1";
      };
    };
  };

  "transitive requires, sorted features, start order moves beat after worker" = {
    expr = resolve "all";
    expected = {
      template = "web";
      features = [ "beat" "cache" "mail" "worker" ];
      packages = base ++ [ "redis" "mailpit" ];
      services = [ (postgres 5432) (cache 6379) mail (worker 6379) beat ];
      env = {
        DATABASE_URL = "postgresql+asyncpg://app:app@127.0.0.1:5432/app";
        LOG_LEVEL = "debug";
        MAIL_SPOOL = "/p/.paxx/mail";
        REDIS_URL = "redis://127.0.0.1:6379/0";
        SMTP_HOST = "127.0.0.1";
        SMTP_PORT = "1025";
        WORKER_QUEUE = "redis://127.0.0.1:6379/1";
      };
    };
  };

  "paxx.toml [ports] override manifests' ports everywhere" = {
    expr = resolve "ports";
    expected = {
      template = "web";
      features = [ "cache" "mail" "worker" ];
      packages = base ++ [ "redis" "mailpit" ];
      services = [ (postgres 55432) (cache 6390) mail (worker 6390) ];
      env = {
        DATABASE_URL = "postgresql+asyncpg://app:app@127.0.0.1:55432/app";
        LOG_LEVEL = "debug";
        MAIL_SPOOL = "/p/.paxx/mail";
        REDIS_URL = "redis://127.0.0.1:6390/0";
        SMTP_HOST = "127.0.0.1";
        SMTP_PORT = "1025";
        WORKER_QUEUE = "redis://127.0.0.1:6390/1";
      };
    };
  };

  "statusView keeps the keys status --json reports" = {
    expr = builtins.attrNames (m.statusView (resolve "cache"));
    expected = [ "env" "features" "packages" "services" ];
  };

  "paxxToml may be given parsed" = {
    expr =
      (m.resolve {
        paxxToml = {
          project = {
            template = "web";
            features = [ "mail" ];
          };
        };
        modulesDir = fixtures + "/modules";
        templatesDir = fixtures + "/templates";
        root = "/p";
      }).features;
    expected = [ "mail" ];
  };

  "unknown feature is an error" = {
    expr = resolve "unknown";
    throws = true;
  };
  "feature for another template is an error" = {
    expr = resolve "misfit";
    throws = true;
  };
  "conflict pulled in through requires is an error" = {
    expr = resolve "clash";
    throws = true;
  };
  "unknown template is an error" = {
    expr = m.resolve {
      paxxToml = {
        project = {
          template = "nope";
          features = [ ];
        };
      };
      modulesDir = fixtures + "/modules";
      templatesDir = fixtures + "/templates";
      root = "/p";
    };
    throws = true;
  };
}
