// The catalog (templates/ and modules/) and its history (catalog-history/) are embedded
// with include_dir!, which cannot tell cargo which files it read; without this a changed
// module would not rebuild the binary.
fn main() {
    println!("cargo:rerun-if-changed=templates");
    println!("cargo:rerun-if-changed=modules");
    println!("cargo:rerun-if-changed=catalog-history");
}
