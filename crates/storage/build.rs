//! Embeds the migrations of both engines (`migrations/sqlite`, `migrations/postgres`)
//! as a list of (file name, SQL) for `db.rs`: the same files `sqlx::migrate!`
//! would embed, without building sqlx's macros (which compile a second sqlx,
//! its SQLite and PostgreSQL drivers and SQLite's C code for the host).

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read at run time, not `env!`: a build script compiled in another checkout (a copied target
    // directory) would otherwise keep embedding that checkout's migrations.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join("migrations");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut out = String::new();
    for engine in ["sqlite", "postgres"] {
        let d = dir.join(engine);
        println!("cargo:rerun-if-changed={}", d.display());
        let mut files: Vec<String> = std::fs::read_dir(&d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let _ = writeln!(out, "pub(crate) const {}: &[(&str, &str)] = &[", engine.to_uppercase());
        for f in files {
            let path = d.join(&f);
            let _ = writeln!(out, "    ({f:?}, include_str!({:?})),", path.display().to_string());
        }
        out.push_str("];\n");
    }
    let target = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("migrations.rs");
    std::fs::write(&target, out).unwrap_or_else(|e| panic!("{}: {e}", target.display()));
}
