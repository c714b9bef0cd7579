#!/usr/bin/env bash
# Generates the SQLite and PostgreSQL migrations from the shared templates
# (crates/storage/migrations/*.tmpl.sql → sqlite/ and postgres/).
#   scripts/gen-migrations.sh            writes them in place
#   scripts/gen-migrations.sh OUT_DIR    writes OUT_DIR/sqlite and OUT_DIR/postgres
#                                        (the storage test compares them with the committed files)
set -euo pipefail
src="$(cd "$(dirname "$0")/../crates/storage/migrations" && pwd)"
out="${1:-$src}"
mkdir -p "$out/sqlite" "$out/postgres"
cd "$src"
for t in *.tmpl.sql; do
  n=${t%.tmpl.sql}.sql
  sed -e 's/{{INT}}/INTEGER/g; s/{{REAL}}/REAL/g' "$t" > "$out/sqlite/$n"
  sed -e 's/{{INT}}/BIGINT/g; s/{{REAL}}/DOUBLE PRECISION/g' "$t" > "$out/postgres/$n"
done
