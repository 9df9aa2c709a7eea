# paxx-compose, built from Cargo.lock. Templates and modules are embedded at build time
# (include_dir!), so the source must hold them.
{
  stdenv,
  rustPlatform,
  src,
  cargoLock ? src + "/Cargo.lock",
  version,
  doCheck ? false,
  python3,
  postgresql_16,
  git,
  procps,
  lsof,
}:
rustPlatform.buildRustPackage {
  pname = "paxx-compose";
  inherit version src doCheck;
  cargoLock.lockFile = cargoLock;

  # `cargo test` starts real services inside the build sandbox: the fixture services are
  # python3 one-liners, the template's is PostgreSQL (initdb, postgres, pg_isready, psql);
  # upgrade's tests make git repositories. tests/services/support.rs reads processes from
  # /proc, or from ps and lsof where there is none (macOS's own are used there; on Linux
  # they are checked against /proc).
  nativeCheckInputs = [
    python3
    postgresql_16
    git
  ]
  ++ (if stdenv.hostPlatform.isLinux then [ procps lsof ] else [ ]);
  # The test uses /proc as a folder no one may write to; macOS has none.
  checkFlags = if stdenv.hostPlatform.isDarwin then [ "--skip=an_unwritable_folder_fails_before_any_write" ] else [ ];

  meta = {
    description = "Compose feature modules into Nix-flake web service projects";
    mainProgram = "paxx-compose";
    homepage = "https://github.com/paxx-dev/paxx";
  };
}
