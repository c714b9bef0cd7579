// rust-i18n reads the catalogues at compile time without telling cargo: a
// changed catalogue must rebuild the crate (cargo scans the directory).
fn main() {
    println!("cargo:rerun-if-changed=locales");
}
