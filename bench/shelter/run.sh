#!/usr/bin/env bash
# Capacity board benchmark (issue 14): 200 facilities x 365 nights x 20,000 stays,
# on SQLite and PostgreSQL in one run, the board against the raw SELECT of its stays.
#   bash bench/shelter/run.sh            (BENCH_SKIP_BUILD=1 to reuse the release build)
# Writes the section "## Capacity board" of docs/benchmarks.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  cargo build --release -q -p veille --bin bench-shelter
fi
make -s postgres-up >&2
section="$("$CARGO_TARGET_DIR/release/bench-shelter" "$@")"
python3 - "$section" <<'PY'
import re, sys
path = "docs/benchmarks.md"
text = open(path).read()
body = "## Capacity board\n\n`bash bench/shelter/run.sh` (release build), the board as `/shelter` and `/api/v1/shelter/board` read it.\n\n" + sys.argv[1].strip() + "\n"
if "## Capacity board" in text:
    text = re.sub(r"## Capacity board\n.*?(?=\n## |\Z)", body, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + body
open(path, "w").write(text)
PY
echo "docs/benchmarks.md: capacity board section written" >&2
