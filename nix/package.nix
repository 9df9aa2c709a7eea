# paxx-compose, built from Cargo.lock. Templates and modules are embedded at build time
# (include_dir!), so the source must hold them.
{
  rustPlatform,
  src,
  version,
  doCheck ? false,
}:
rustPlatform.buildRustPackage {
  pname = "paxx-compose";
  inherit version src doCheck;
  cargoLock.lockFile = src + "/Cargo.lock";
  meta = {
    description = "Compose feature modules into Nix-flake web service projects";
    mainProgram = "paxx-compose";
    homepage = "https://github.com/paxx-dev/paxx";
  };
}
