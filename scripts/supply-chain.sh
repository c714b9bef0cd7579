#!/usr/bin/env bash
# Offline supply-chain checks of every crate veille builds (part of `make test`):
#   cargo deny --offline check   advisories, licences on an allow-list (deny.toml),
#                                crates.io the only source, no git dependencies
#   cargo audit --no-fetch       RustSec advisories
# Both read the RustSec snapshot shipped in ../shared/supply-chain (installed
# here as the git repositories the tools expect); nothing is fetched but the
# crates of Cargo.lock themselves. The tools come from scripts/install-deps.sh.
# An ignored advisory is listed in deny.toml and .cargo/audit.toml with a reason and a date.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
shared=../shared/supply-chain
if ! [ -x "$shared/install-advisory-db" ]; then
    echo "supply-chain: $shared/install-advisory-db not found (../shared must be beside the repository)" >&2
    exit 1
fi
bash "$shared/install-advisory-db" >/dev/null
cargo fetch --locked --quiet
cargo deny --offline --log-level error check
cargo audit --no-fetch --deny warnings --quiet
echo "supply-chain: cargo-deny and cargo-audit clean"
