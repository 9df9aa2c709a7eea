# Reads paxx's manifests with builtins only (no nixpkgs, no lib), so that `nix eval`
# can run it anywhere and its answers can be checked against paxx-compose's.
#
# The contract is docs/formats.md; the Rust twin is src/resolve.rs. Both must give the
# same features, packages, services and env for the same files: tests/nix checks it.
#
#   resolve { paxxToml; modulesDir; templatesDir; root; }
#     -> { template; features; packages; services; env; }
let
  inherit (builtins)
    all
    attrNames
    concatMap
    concatStringsSep
    elem
    filter
    foldl'
    genericClosure
    head
    isAttrs
    isList
    length
    listToAttrs
    mapAttrs
    match
    pathExists
    readDir
    readFile
    sort
    split
    toString
    ;

  readToml = path: builtins.fromTOML (readFile path);

  # Items in order, each kept only the first time it appears.
  unique =
    items:
    (foldl' (
      acc: item:
      if acc.seen ? ${item} then
        acc
      else
        {
          seen = acc.seen // {
            ${item} = true;
          };
          out = acc.out ++ [ item ];
        }
    ) { seen = { }; out = [ ]; } items).out;

  quoted = names: concatStringsSep ", " (map (n: "`${n}`") names);

  # A service exactly as the Rust side holds it (src/manifest.rs ServiceSpec), defaults filled.
  normService =
    origin: s:
    let
      need = key: s.${key} or (throw "paxx: ${origin}: a [[services]] entry lacks `${key}`");
    in
    {
      name = need "name";
      package = s.package or null;
      debian = s.debian or null;
      command = need "command";
      init = s.init or [ ];
      setup = s.setup or [ ];
      port = s.port or null;
      after = s.after or [ ];
      ready = if s ? ready then normReady s.ready else null;
      refuses_root = s."refuses-root" or false;
      env = s.env or { };
      stop_signal = s."stop-signal" or "TERM";
      ready_timeout = s."ready-timeout" or 120; # src/manifest.rs defaults::READY_TIMEOUT
      probe_timeout = s."probe-timeout" or 30; # src/manifest.rs defaults::PROBE_TIMEOUT
      stop_timeout = s."stop-timeout" or 10; # src/manifest.rs defaults::STOP_TIMEOUT
      fallbacks = map (normFallback origin) (s.fallbacks or [ ]);
      restart = s.restart or "on-failure"; # src/manifest.rs Restart
      restart_retries = s."restart-retries" or 5; # src/manifest.rs defaults::RESTART_RETRIES
      restart_delay = s."restart-delay" or 1; # src/manifest.rs defaults::RESTART_DELAY
    };

  # src/manifest.rs Readiness (and RedisKey).
  normReady = r: {
    tcp = r.tcp or false;
    command = r.command or null;
    redis_key = if r ? "redis-key" then { inherit (r."redis-key") url key; } else null;
  };

  # src/manifest.rs Fallback: each optional field replaces the service's own when it runs.
  normFallback = origin: f: {
    command = f.command or (throw "paxx: ${origin}: a [[services.fallbacks]] entry lacks `command`");
    why = f.why or (throw "paxx: ${origin}: a [[services.fallbacks]] entry lacks `why`");
    ready = if f ? ready then normReady f.ready else null;
    env = f.env or null;
    init = f.init or null;
    setup = f.setup or null;
  };

  # The parts of a module or template manifest that resolving needs.
  normParts = origin: m: {
    packages = (m.nix or { }).packages or [ ];
    services = map (normService origin) (m.services or [ ]);
    env = m.env or { };
  };

  readModule =
    dir: folder:
    let
      file = dir + "/${folder}/module.toml";
      m = readToml file;
      info = m.module or (throw "paxx: ${toString file} has no [module] table");
      origin = "module `${folder}` (${toString file})";
    in
    if (info.name or null) != folder then
      throw "paxx: ${origin}: [module].name is `${info.name or ""}`, it must equal the folder name"
    else
      normParts origin m
      // {
        name = folder;
        version = info.version or 1;
        summary = info.summary or "";
        templates = info.templates or [ ];
        requires = info.requires or [ ];
        conflicts = info.conflicts or [ ];
      };

  # Every `<dir>/<name>/module.toml`, found by listing the folder (never a central list).
  # `dirs` is one folder or a list of them; a later folder's module replaces an earlier
  # one of the same name (as PAXX_MODULES does for paxx-compose). A missing folder is empty.
  readModules =
    dirs:
    let
      one =
        dir:
        let
          entries = if pathExists dir then readDir dir else { };
          names = filter (
            n: entries.${n} == "directory" && pathExists (dir + "/${n}/module.toml")
          ) (attrNames entries);
        in
        listToAttrs (
          map (n: {
            name = n;
            value = readModule dir n;
          }) names
        );
    in
    foldl' (acc: dir: acc // one dir) { } (if isList dirs then dirs else [ dirs ]);

  # `templates/<name>.toml` (beside the template folder, see docs/formats.md).
  readTemplate =
    templatesDir: name:
    let
      file = templatesDir + "/${name}.toml";
      t =
        if pathExists file then
          readToml file
        else
          throw "paxx: unknown template `${name}`: ${toString file} does not exist";
    in
    normParts "template `${name}`" t // { inherit name; };

  readProject = paxxToml: if isAttrs paxxToml then paxxToml else readToml paxxToml;

  # The features `explicit` enables, closed over `requires`, sorted by name.
  enabledFeatures =
    {
      modules,
      template,
      explicit,
    }:
    let
      moduleOf =
        name:
        modules.${name} or (throw "paxx: unknown feature `${name}`; known features: ${quoted (attrNames modules)}");
      closure = genericClosure {
        startSet = map (n: { key = n; }) explicit;
        operator = item: map (r: { key = r; }) (moduleOf item.key).requires;
      };
      names = sort (a: b: a < b) (map (i: i.key) closure);
      fits =
        name:
        let
          m = moduleOf name;
        in
        if template == null || elem template m.templates then
          true
        else
          throw "paxx: feature `${name}` does not fit template `${template}` (it fits: ${concatStringsSep ", " m.templates})";
      clash =
        name:
        let
          bad = filter (other: elem other names) (moduleOf name).conflicts;
        in
        if bad == [ ] then
          true
        else
          throw "paxx: features `${name}` and `${head bad}` conflict: enable one or the other";
    in
    assert all fits names;
    assert all clash names;
    names;

  # `{port}`, `{port:<service>}`, `{state}`, `{project}`, as src/resolve.rs fill_placeholders:
  # a `{` with no `}` after it is text; any other `{…}` must be one of these four.
  fillPlaceholders =
    {
      portOf,
      root,
      own ? null,
    }:
    text:
    let
      port =
        key: service:
        if !(portOf ? ${service}) then
          throw "paxx: `{${key}}` in `${text}`: no enabled service is named `${service}`"
        else if portOf.${service} == null then
          throw "paxx: `{${key}}` in `${text}`: service `${service}` has no port"
        else
          toString portOf.${service};
      value =
        key:
        let
          other = match "port:(.*)" key;
        in
        if other != null then
          port key (head other)
        else if key == "port" then
          (if own == null then throw "paxx: `{port}` in `${text}` is outside a service; use `{port:<service>}`" else port key own)
        else if key == "state" then
          (if own == null then throw "paxx: `{state}` in `${text}` is outside a service" else stateDir root own)
        else if key == "project" then
          root
        else
          throw "paxx: unknown placeholder `{${key}}` in `${text}`";
    in
    concatStringsSep "" (map (part: if isList part then value (head part) else part) (split "[{]([^}]*)[}]" text));

  stateDir = root: service: "${root}/.paxx/state/${service}";

  # Stable topological order by `after`: repeatedly take the first service, in declaration
  # order, whose `after` services are all placed (src/resolve.rs start_order).
  startOrder =
    specs:
    let
      names = map (s: s.name) specs;
      known =
        s:
        all (
          d:
          elem d names || throw "paxx: service `${s.name}` starts after `${d}`, which no enabled feature provides"
        ) s.after;
      go =
        placed:
        let
          placedNames = map (s: s.name) placed;
          ready = filter (s: !(elem s.name placedNames) && all (d: elem d placedNames) s.after) specs;
        in
        if length placed == length specs then
          placed
        else if ready == [ ] then
          throw "paxx: services ${
            concatStringsSep ", " (filter (n: !(elem n placedNames)) names)
          } wait for each other (a cycle in `after`)"
        else
          go (placed ++ [ (head ready) ]);
    in
    assert all known specs;
    go [ ];

  # The heart: template + enabled modules -> packages, services, env.
  #   template: a readTemplate result, or null for no template
  #   modules:  readModules result;  features: names asked for (closed here)
  #   ports:    paxx.toml [ports];    root: the project folder, as a string
  compose =
    {
      template ? null,
      modules,
      features,
      ports ? { },
      root,
    }:
    let
      enabled = enabledFeatures {
        inherit modules;
        template = if template == null then null else template.name;
        explicit = features;
      };
      sources =
        (if template == null then [ ] else [ (template // { origin = "template `${template.name}`"; }) ])
        ++ map (f: modules.${f} // { origin = "feature `${f}`"; }) enabled;

      packages = unique (concatMap (s: s.packages) sources);

      specs = foldl' (
        acc: src:
        acc
        ++ map (
          s:
          if elem s.name (map (o: o.name) acc) then
            throw "paxx: ${src.origin} declares service `${s.name}`, which another enabled feature declares too"
          else
            s
        ) src.services
      ) [ ] sources;

      portOf = listToAttrs (
        map (s: {
          inherit (s) name;
          value = ports.${s.name} or s.port;
        }) specs
      );
      fillFor = own: fillPlaceholders { inherit portOf root own; };
      fillService =
        s:
        let
          f = fillFor s.name;
          all' = map f;
          fillReady =
            r:
            if r == null then
              null
            else
              r
              // {
                command = if r.command == null then null else all' r.command;
                redis_key =
                  if r.redis_key == null then
                    null
                  else
                    {
                      url = f r.redis_key.url;
                      key = f r.redis_key.key;
                    };
              };
        in
        s
        // {
          command = all' s.command;
          init = map all' s.init;
          setup = map all' s.setup;
          port = portOf.${s.name};
          ready = fillReady s.ready;
          env = mapAttrs (_: f) s.env;
          state = stateDir root s.name;
          fallbacks = map (fb: fb // {
            command = all' fb.command;
            ready = fillReady fb.ready;
            env = if fb.env == null then null else mapAttrs (_: f) fb.env;
            init = if fb.init == null then null else map all' fb.init;
            setup = if fb.setup == null then null else map all' fb.setup;
          }) s.fallbacks;
        };

      env = mapAttrs (_: fillFor null) (foldl' (acc: s: acc // s.env) { } sources);
    in
    {
      template = if template == null then null else template.name;
      features = enabled;
      inherit packages env;
      services = map fillService (startOrder specs);
    };

  # A project: its paxx.toml (path or parsed), paxx's catalog folders, its root folder.
  resolve =
    {
      paxxToml,
      modulesDir,
      templatesDir,
      root,
    }:
    let
      project = readProject paxxToml;
      info = project.project or (throw "paxx: paxx.toml has no [project] table");
    in
    compose {
      template = readTemplate templatesDir (info.template or (throw "paxx: paxx.toml [project] has no `template`"));
      modules = readModules modulesDir;
      features = info.features or [ ];
      ports = project.ports or { };
      inherit root;
    };

  # The keys `paxx-compose status --json` reports (docs/formats.md), for comparing the two.
  statusView = r: {
    inherit (r) features packages env;
    services = map (s: { inherit (s) name package debian command port after; }) r.services;
  };

  # Every nixpkgs attribute a manifest names: [nix].packages and services' `package`.
  namedAttrs =
    parts: unique (concatMap (p: p.packages ++ filter (x: x != null) (map (s: s.package) p.services)) parts);

  # Services whose `package` is missing from the same manifest's [nix].packages (the
  # dev shell puts exactly [nix].packages on PATH, so such a service would not start).
  unlistedServicePackages =
    parts:
    concatMap (
      p: map (s: "${p.name}: ${s.package}") (filter (s: s.package != null && !(elem s.package p.packages)) p.services)
    ) parts;
in
{
  inherit
    readToml
    readModules
    readTemplate
    readProject
    enabledFeatures
    fillPlaceholders
    startOrder
    compose
    resolve
    statusView
    namedAttrs
    unlistedServicePackages
    unique
    ;
}
