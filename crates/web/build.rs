//! The front-end libraries (htmx, Leaflet) are embedded in the binary from
//! `node_modules/`, installed by npm from the pinned package-lock.json. A
//! fresh clone has none: say what to run instead of failing on an
//! `include_bytes!` error.

use std::path::Path;

const NODE_FILES: &[&str] = &["htmx.org/dist/htmx.min.js", "leaflet/dist/leaflet.js", "leaflet/dist/leaflet.css"];

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../node_modules");
    let missing: Vec<&str> = NODE_FILES.iter().copied().filter(|f| !root.join(f).is_file()).collect();
    for f in NODE_FILES {
        println!("cargo:rerun-if-changed=../../node_modules/{f}");
    }
    if !missing.is_empty() {
        eprintln!(
            "\nveille-web embeds front-end libraries that are not installed: {}.\n\
             Run `npm ci` at the repository root (or `bash scripts/install-deps.sh --runtime-only`, \
             which `make run` and `make test` do for you), then build again.\n",
            missing.join(", ")
        );
        std::process::exit(1);
    }
}
