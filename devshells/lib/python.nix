# Which Python a project uses: the first `python3NN` among its packages (the template
# lists one), else nixpkgs' default python3.
{ pkgs, packages }:
let
  found = builtins.filter (p: builtins.match "python3[0-9]+" p != null) packages;
  attr = if found == [ ] then null else builtins.head found;
in
{
  inherit attr;
  package = if attr == null then pkgs.python3 else pkgs.${attr};
}
