//! Standalone command line: `veille-linkage dedupe|link …`.

use clap::Parser;

#[derive(Parser)]
#[command(name = "veille-linkage", about = "Record linkage for veille (find the same person recorded several times)")]
struct Cli {
    #[command(subcommand)]
    cmd: veille_linkage::cli::LinkageCommand,
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = veille_linkage::cli::run(cli.cmd) {
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}
