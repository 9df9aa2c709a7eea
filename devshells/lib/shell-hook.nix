# The dev shell's hook, as text, from resolved features (builtins only, so tests read it).
#
# Values that mention the project folder ({project}, {state}) were resolved with
# `rootToken` standing in for it; the hook finds the folder holding paxx.toml when the
# shell starts and puts it there. A variable already set in the caller's environment wins.
let
  inherit (builtins)
    attrNames
    concatStringsSep
    replaceStrings
    ;
  inherit (import ./attrs.nix) shellQuote;
in
{
  rootToken ? "@PAXX_ROOT@",
  features,
  env,
  fixed ? { }, # more variables, set unconditionally (UV_PYTHON …)
}:
let
  value = v: replaceStrings [ rootToken ] [ "'\"$PAXX_ROOT\"'" ] (shellQuote v);
  defaultTo = k: v: "if [ -z \"\${${k}+x}\" ]; then export ${k}=${value v}; fi";
  set = k: v: "export ${k}=${value v}";
in
concatStringsSep "\n" (
  [
    "# paxx: the project folder is the nearest one up that holds paxx.toml"
    "PAXX_ROOT=\"$PWD\""
    "while [ \"$PAXX_ROOT\" != / ] && [ ! -e \"$PAXX_ROOT/paxx.toml\" ]; do PAXX_ROOT=\"$(dirname \"$PAXX_ROOT\")\"; done"
    "[ -e \"$PAXX_ROOT/paxx.toml\" ] || PAXX_ROOT=\"$PWD\""
    "export PAXX_ROOT"
    (set "PAXX_FEATURES" (concatStringsSep " " features))
  ]
  ++ map (k: set k fixed.${k}) (attrNames fixed)
  ++ map (k: defaultTo k env.${k}) (attrNames env)
)
+ "\n"
