# mk-project.nix, shell.nix, services-app.nix and image.nix evaluated with a stub pkgs:
# what the dev shells, the services app, the package and the image would be built from.
let
  inherit (builtins) attrNames elem filter head match split;
  fixtures = ../fixtures;
  stub = import ../stub-pkgs.nix { };
  store = name: "/nix/store/00000000000000000000000000000000-${name}";
  paxx-compose = {
    type = "derivation";
    name = "paxx-compose";
    outPath = store "paxx-compose";
  };
  venv = {
    type = "derivation";
    name = "venv";
    outPath = store "venv";
  };
  project =
    {
      name,
      pkgs ? stub,
      python ? true,
      system ? "x86_64-linux",
    }:
    import ../../../devshells/mk-project.nix {
      inherit pkgs paxx-compose system;
      src = fixtures + "/projects/${name}";
      modulesDir = fixtures + "/modules";
      templatesDir = fixtures + "/templates";
      mkPythonEnv = if python then ({ python, name, ... }: venv // { passthru = { inherit python name; }; }) else null;
    };
  worker = project { name = "worker"; };
  cache = project { name = "cache"; };
  names = map (p: p.name);
  hook = shell: shell.args.shellHook;
  has = needle: text: match ".*(${needle}).*" (builtins.replaceStrings [ "\n" ] [ " " ] text) != null;
  lines = text: filter (l: builtins.isString l && l != "") (split "\n" text);
  image = worker.packages.image.args;
in
{
  "dev shells: default plus one per enabled feature" = {
    expr = attrNames worker.devShells;
    expected = [ "cache" "default" "worker" ];
  };
  "dev shell: exactly the resolved packages, then paxx-compose" = {
    expr = names worker.devShells.default.args.packages;
    expected = [ "python312" "uv" "ruff" "postgresql_16" "redis" "paxx-compose" ];
  };
  "dev shell: a feature's own shell has only what it needs" = {
    expr = {
      cache = names worker.devShells.cache.args.packages;
      cacheHasWorkerEnv = has "WORKER_QUEUE" (hook worker.devShells.cache);
      workerHasWorkerEnv = has "WORKER_QUEUE" (hook worker.devShells.worker);
    };
    expected = {
      cache = [ "python312" "uv" "ruff" "postgresql_16" "redis" "paxx-compose" ];
      cacheHasWorkerEnv = false;
      workerHasWorkerEnv = true;
    };
  };
  "dev shell: env exported unless already set; uv uses the pinned python" = {
    expr = filter (l: has "DATABASE_URL|WORKER_QUEUE|PAXX_FEATURES|UV_P" l) (lines (hook worker.devShells.default));
    expected = [
      "export PAXX_FEATURES='cache worker'"
      "export UV_PYTHON='${store "python312"}/bin/python3'"
      "export UV_PYTHON_DOWNLOADS='never'"
      "export UV_PYTHON_PREFERENCE='only-system'"
      "if [ -z \"\${DATABASE_URL+x}\" ]; then export DATABASE_URL='postgresql+asyncpg://app:app@127.0.0.1:5432/app'; fi"
      "if [ -z \"\${WORKER_QUEUE+x}\" ]; then export WORKER_QUEUE='redis://127.0.0.1:6379/1'; fi"
    ];
  };
  "dev shell: {project} and {state} values use the folder found at start" = {
    expr = filter (l: has "MAIL_SPOOL" l) (lines (hook (project { name = "all"; }).devShells.default));
    expected = [ "if [ -z \"\${MAIL_SPOOL+x}\" ]; then export MAIL_SPOOL=''\"$PAXX_ROOT\"'/.paxx/mail'; fi" ];
  };
  "dev shell: the hook is valid shell that sets the values" = {
    # Checked for real by run.sh with sh -n and by sourcing it; here: it ends with a newline.
    expr = builtins.substring (builtins.stringLength (hook worker.devShells.default) - 1) 1 (hook worker.devShells.default);
    expected = "\n";
  };

  "services app: service binaries first, dev tools for the worker, then sh tools" = {
    expr = names worker.servicesPath;
    expected = [ "paxx-compose" "postgresql_16" "redis" "python312" "uv" "ruff" "bash" "coreutils" "gnugrep" ];
  };
  "services app: only service binaries (and sh tools) when every service is a package" = {
    expr = names cache.servicesPath;
    expected = [ "paxx-compose" "postgresql_16" "redis" "bash" "coreutils" "gnugrep" ];
  };
  "services app: PATH is set, not extended, and paxx-compose up runs" = {
    expr = {
      inherit (worker.apps.up) type program;
      script = cache.apps.up.program;
      text = lines (import ../../../devshells/services-app.nix {
        pkgs = stub;
        inherit paxx-compose;
        resolved = cache.resolved;
      }).script.text;
    };
    expected = {
      type = "app";
      program = "${store "paxx-up"}/bin/paxx-up";
      script = "${store "paxx-up"}/bin/paxx-up";
      text = [
        "export PATH=${store "paxx-compose"}/bin:${store "postgresql_16"}/bin:${store "redis"}/bin:${store "bash"}/bin:${store "coreutils"}/bin:${store "gnugrep"}/bin"
        "exec paxx-compose up \"$@\""
      ];
    };
  };
  "apps: up, down, migrate, default" = {
    expr = {
      names = attrNames worker.apps;
      down = worker.apps.down.program;
      migrate = worker.apps.migrate.program;
    };
    expected = {
      names = [ "default" "down" "migrate" "up" ];
      down = "${store "paxx-down"}/bin/paxx-down";
      migrate = "${store "shop-migrate"}/bin/shop-migrate";
    };
  };
  "without a Python env builder: no package, image or migrate" = {
    expr = let p = project { name = "worker"; python = false; }; in {
      apps = attrNames p.apps;
      packages = attrNames p.packages;
      checks = attrNames p.checks;
    };
    expected = {
      apps = [ "down" "up" ];
      packages = [ ];
      checks = [ "devShell" "ruff" ];
    };
  };
  "package: uvicorn from the locked env (the app is its wheel), in Alembic's folder" = {
    expr = {
      name = worker.packages.default.name;
      runsUvicorn = has "cd /nix/store/[a-z0-9]+-shop-runtime exec ${store "venv"}/bin/uvicorn app.main:app --host " worker.packages.default.text;
      pythonFromTemplate = venv.outPath == worker.packages.venv.outPath && worker.packages.venv.passthru.python.name == "python312";
    };
    expected = {
      name = "shop";
      runsUvicorn = true;
      pythonFromTemplate = true;
    };
  };
  "image: Linux systems only (a darwin one would be full of macOS binaries)" = {
    expr = map (system: attrNames (project { name = "worker"; inherit system; }).packages) [
      "x86_64-linux"
      "aarch64-linux"
      "x86_64-darwin"
      "aarch64-darwin"
    ];
    expected = [
      [ "default" "image" "venv" ]
      [ "default" "image" "venv" ]
      [ "default" "venv" ]
      [ "default" "venv" ]
    ];
  };
  "migrate: alembic upgrade heads (every feature's branch) from the locked env" = {
    expr = has "set -- upgrade heads; fi.*exec ${store "venv"}/bin/alembic" (import ../../../devshells/mk-project.nix {
      pkgs = stub;
      system = "x86_64-linux";
      inherit paxx-compose;
      src = fixtures + "/projects/worker";
      modulesDir = fixtures + "/modules";
      templatesDir = fixtures + "/templates";
      mkPythonEnv = _: venv;
    }).migrate.text;
    expected = true;
  };
  "checks: shell, ruff, package" = {
    expr = attrNames worker.checks;
    expected = [ "devShell" "package" "ruff" ];
  };

  "image: fixed creation time, name and tag" = {
    expr = { inherit (image) name tag created; };
    expected = {
      name = "shop";
      tag = "latest";
      created = "1970-01-01T00:00:01Z";
    };
  };
  "image: non-root user with a passwd entry" = {
    expr = {
      user = image.config.User;
      passwd = has "echo 'app:x:1000:1000:app:/tmp:/sbin/nologin' >> etc/passwd" image.extraCommands;
      tmp = has "chmod 1777 tmp" image.extraCommands;
    };
    expected = {
      user = "1000:1000";
      passwd = true;
      tmp = true;
    };
  };
  "image: entrypoint serves the app on all interfaces, port exposed" = {
    expr = {
      entrypoint = builtins.head image.config.Entrypoint;
      args = builtins.tail image.config.Entrypoint;
      ports = image.config.ExposedPorts;
      env = filter (e: has "PATH=|PORT=|HOME=" e) image.config.Env;
    };
    expected = {
      entrypoint = "${store "venv"}/bin/uvicorn";
      args = [ "app.main:app" "--host" "0.0.0.0" "--port" "8000" "--proxy-headers" ];
      ports = { "8000/tcp" = { }; };
      env = [ "PATH=${store "venv"}/bin" "PORT=8000" "HOME=/tmp" ];
    };
  };
  "image: health check probes /health/ready with the env's own python" = {
    expr = {
      test = builtins.genList (i: builtins.elemAt image.config.Healthcheck.Test i) 3;
      probes = has "http://127.0.0.1:8000/health/ready" (builtins.elemAt image.config.Healthcheck.Test 3);
      inherit (image.config.Healthcheck) Interval Timeout Retries StartPeriod;
    };
    expected = {
      test = [ "CMD" "${store "venv"}/bin/python" "-c" ];
      probes = true;
      Interval = 10000000000;
      Timeout = 5000000000;
      Retries = 3;
      StartPeriod = 10000000000;
    };
  };
  "image: nothing but store paths and a few files (no base image, no contents)" = {
    expr = {
      hasContents = image ? contents || image ? copyToRoot || image ? fromImage;
      workdirInStore = match "/nix/store/[a-z0-9]+-shop-runtime" image.config.WorkingDir != null;
    };
    expected = {
      hasContents = false;
      workdirInStore = true;
    };
  };
  "image: port and user are parameters" = {
    expr =
      let
        i = (import ../../../devshells/image.nix {
          pkgs = stub;
          name = "x";
          inherit venv;
          workdir = store "runtime";
          port = 9000;
          uid = 4242;
        }).args;
      in
      {
        inherit (i.config) User ExposedPorts;
        probe = has "127.0.0.1:9000/health/ready" (builtins.elemAt i.config.Healthcheck.Test 3);
      };
    expected = {
      User = "4242:4242";
      ExposedPorts = { "9000/tcp" = { }; };
      probe = true;
    };
  };
  "sources: what each build reads, never local state, caches or secrets" = {
    expr =
      let
        # run.sh makes this folder (git would not keep .venv, .paxx or __pycache__).
        work = builtins.getEnv "PAXX_NIX_TEST_WORK";
        sources = import ../../../devshells/lib/sources.nix {
          src = if work == "" then throw "run through tests/nix/run.sh" else /. + "${work}/app-source";
          name = "t";
        };
        tree =
          dir:
          builtins.concatMap (
            n:
            let
              t = (builtins.readDir dir).${n};
            in
            if t == "directory" then map (c: "${n}/${c}") (tree (dir + "/${n}")) else [ n ]
          ) (attrNames (builtins.readDir dir));
      in
      {
        all = tree sources.all;
        build = tree sources.build;
        runtime = tree sources.runtime;
        names = map (p: builtins.elemAt (builtins.match "/nix/store/[a-z0-9]+-(.*)" p) 0) [
          sources.all
          sources.build
          sources.runtime
        ];
      };
    expected = {
      all = [ "README.md" "alembic.ini" "app/main.py" "migrations/env.py" "paxx.toml" "pyproject.toml" "tests/test_main.py" "uv.lock" ];
      # pyproject.toml's readme and the wheel's packages (tool.hatch)
      build = [ "README.md" "app/main.py" "migrations/env.py" "pyproject.toml" ];
      runtime = [ "alembic.ini" "migrations/env.py" ];
      names = [ "t-src" "t-build-src" "t-runtime" ];
    };
  };
}
