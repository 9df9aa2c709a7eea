# nix/package.nix: what the build is asked to install besides the binary. The postInstall
# script itself is run against the real binary by tests/nix/run.sh (section 5).
let
  stub = import ../stub-pkgs.nix { };
  cross = import ../stub-pkgs.nix { canExecute = false; };
  build =
    pkgs:
    (pkgs.callPackage ../../../nix/package.nix {
      src = "/src";
      version = "1";
    }).args;
  native = build stub;
in
{
  "package: installShellFiles is a build input" = {
    expr = map (p: p.name) native.nativeBuildInputs;
    expected = [ "installShellFiles" ];
  };
  "package: man pages and bash, zsh, fish completions are installed, made by the binary" = {
    expr = map (s: builtins.match ".*(${s}).*" (builtins.replaceStrings [ "\n" ] [ " " ] native.postInstall) != null) [
      "\\$out/bin/paxx-compose man --dir man"
      "installManPage man/\\*\\.1"
      "installShellCompletion --cmd paxx-compose"
      "--bash <\\(\\$out/bin/paxx-compose completions bash\\)"
      "--zsh <\\(\\$out/bin/paxx-compose completions zsh\\)"
      "--fish <\\(\\$out/bin/paxx-compose completions fish\\)"
    ];
    expected = [ true true true true true true ];
  };
  "package: a cross build, which cannot run the binary, skips them" = {
    expr = (build cross).postInstall;
    expected = "";
  };
  "package: the program is paxx-compose" = {
    expr = native.meta.mainProgram;
    expected = "paxx-compose";
  };
}
