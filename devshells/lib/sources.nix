# The parts of a project's folder that its builds read, each copied to the store alone
# (builtins only, so tests evaluate it anywhere). A derivation that takes one of these
# depends on those files and nothing else: editing a test does not rebuild the image, and
# local state (.venv, .paxx/state, .env) never reaches the store through a build.
#
# (Nix itself still copies the whole flake folder when it is not a git repository: a
# flake in git sees only tracked files, which is why `paxx-compose doctor` asks for
# `git add uv.lock`.)
{ src, name }:
let
  inherit (builtins)
    any
    elem
    filter
    fromTOML
    match
    pathExists
    readFile
    stringLength
    substring
    ;

  # Never copied: caches, local state, secrets, build results.
  junk = [
    ".git"
    ".direnv"
    ".venv"
    ".paxx"
    ".env"
    "__pycache__"
    ".mypy_cache"
    ".ruff_cache"
    ".pytest_cache"
    "node_modules"
    "dist"
    "build"
  ];
  isJunk = base: elem base junk || match "result(-.*)?" base != null || match ".*\\.py[co]" base != null;

  root = toString src;
  relative = path: substring (stringLength root + 1) (-1) path;

  # `src` filtered to `paths` (relative, files or folders; a folder brings what is under it).
  only =
    suffix: paths:
    builtins.path {
      path = src;
      name = "${name}-${suffix}";
      filter =
        path: type:
        let
          rel = relative path;
          base = baseNameOf path;
        in
        !(isJunk base)
        && any (
          p:
          rel == p
          || substring 0 (stringLength p + 1) rel == "${p}/"
          # a folder on the way to one (`src` for `src/app`)
          || (type == "directory" && substring 0 (stringLength rel + 1) p == "${rel}/")
        ) paths;
    };

  has = rel: pathExists (src + "/${rel}");
  pyproject = if has "pyproject.toml" then fromTOML (readFile (src + "/pyproject.toml")) else { };
  readme = pyproject.project.readme or null;
  # The wheel's packages, as pyproject.toml tells hatchling (the template's backend).
  wheelPackages = pyproject.tool.hatch.build.targets.wheel.packages or null;
in
{
  # Everything but junk: what ruff checks.
  all = builtins.path {
    path = src;
    name = "${name}-src";
    filter = path: type: !(isJunk (baseNameOf path));
  };

  # What building the project into a wheel reads: pyproject.toml, the readme and the
  # packages pyproject.toml names (not uv.lock: a dev dependency's bump does not rebuild
  # the app); with another backend (no hatch packages list), everything but junk.
  build =
    if wheelPackages == null then
      builtins.path {
        path = src;
        name = "${name}-build-src";
        filter = path: type: !(isJunk (baseNameOf path));
      }
    else
      only "build-src" (
        [ "pyproject.toml" ]
        ++ (if builtins.isString readme then [ readme ] else [ ])
        ++ (if builtins.isAttrs readme && readme ? file then [ readme.file ] else [ ])
        ++ wheelPackages
      );

  # What the running app reads besides its installed package: Alembic's configuration
  # and scripts (the image's working folder, so `alembic upgrade heads` runs in it).
  runtime = only "runtime" (filter has [
    "alembic.ini"
    "migrations"
  ]);
}
