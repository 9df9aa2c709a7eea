# The project's OCI image: the locked Python environment with the project's own wheel in
# it, Alembic's files, nothing else (no shell, no package manager). Reproducible: a fixed
# creation time and only store paths, so two builds of the same commit give the same image.
# Linux only (mk-project.nix offers it on Linux systems).
{
  pkgs,
  name,
  venv, # the locked virtualenv (uv2nix): the app, uvicorn, alembic
  workdir, # alembic.ini and migrations/ (devshells/lib/sources.nix `runtime`)
  appModule ? "app.main:app",
  port ? 8000,
  uid ? 1000,
  created ? "1970-01-01T00:00:01Z",
  tag ? "latest",
}:
let
  p = toString port;
  id = toString uid;
  seconds = s: s * 1000000000; # Docker's health-check durations are nanoseconds
  # Healthy = ready to serve: the database and every feature's dependency answer.
  probe = "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:${p}/health/ready', timeout=3).status == 200 else 1)";
in
pkgs.dockerTools.buildLayeredImage {
  inherit name tag created;
  # Store paths named in `config` are part of the image's closure; these few files are
  # all it gets besides.
  extraCommands = ''
    mkdir -p etc tmp
    chmod 1777 tmp
    echo 'root:x:0:0:root:/root:/sbin/nologin' > etc/passwd
    echo 'app:x:${id}:${id}:app:/tmp:/sbin/nologin' >> etc/passwd
    echo 'root:x:0:' > etc/group
    echo 'app:x:${id}:' >> etc/group
  '';
  config = {
    User = "${id}:${id}";
    # `docker run --entrypoint alembic <image> upgrade heads` migrates from here.
    WorkingDir = "${workdir}";
    Entrypoint = [
      "${venv}/bin/uvicorn"
      appModule
      "--host"
      "0.0.0.0"
      "--port"
      p
      "--proxy-headers"
    ];
    ExposedPorts = {
      "${p}/tcp" = { };
    };
    Env = [
      "PATH=${venv}/bin"
      "PORT=${p}"
      "HOME=/tmp"
      "PYTHONUNBUFFERED=1"
      "PYTHONDONTWRITEBYTECODE=1"
      "SSL_CERT_FILE=${pkgs.cacert}/etc/ssl/certs/ca-bundle.crt"
    ];
    Healthcheck = {
      Test = [
        "CMD"
        "${venv}/bin/python"
        "-c"
        probe
      ];
      Interval = seconds 10;
      Timeout = seconds 5;
      StartPeriod = seconds 10;
      Retries = 3;
    };
    Labels = {
      "org.opencontainers.image.title" = name;
    };
  };
}
