#!/usr/bin/env bash
# Generates the SQLite and PostgreSQL migrations from the shared templates.
set -euo pipefail
cd "$(dirname "$0")/../crates/storage/migrations"
for t in *.tmpl.sql; do
  n=${t%.tmpl.sql}.sql
  sed -e 's/{{INT}}/INTEGER/g; s/{{REAL}}/REAL/g' "$t" > "sqlite/$n"
  sed -e 's/{{INT}}/BIGINT/g; s/{{REAL}}/DOUBLE PRECISION/g' "$t" > "postgres/$n"
done
