# Runs one file of cases and prints one line per case. A case file evaluates to
#   { "<name>" = { expr = …; expected = …; };      # expr must equal expected
#     "<name>" = { expr = …; throws = true; }; }    # evaluating expr must fail (throw/assert)
# (nix-unit's shape). Output: "PASS <file>: <name>" or "FAIL <file>: <name>" plus the two values.
{ caseFile, label ? baseNameOf (toString caseFile) }:
let
  inherit (builtins) attrNames concatStringsSep deepSeq toJSON tryEval;
  cases = import caseFile;
  show = v: let r = tryEval (deepSeq v (toJSON v)); in if r.success then r.value else "<cannot print>";
  run =
    name:
    let
      c = cases.${name};
      evaluated = tryEval (deepSeq c.expr c.expr);
      ok =
        if c.throws or false then
          !evaluated.success
        else
          evaluated.success && evaluated.value == c.expected;
    in
    if ok then
      "PASS ${label}: ${name}"
    else if c.throws or false then
      "FAIL ${label}: ${name}\n    expected an error, got: ${show c.expr}"
    else if !evaluated.success then
      "FAIL ${label}: ${name}\n    expected: ${show c.expected}\n    got an error (evaluate the case alone to see it)"
    else
      "FAIL ${label}: ${name}\n    expected: ${show c.expected}\n    actual:   ${show evaluated.value}";
in
concatStringsSep "\n" (map run (attrNames cases)) + "\n"
