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
# The grid cell of a report's point (migration 0024; the same text as
# `veille_storage::reports::cell_sql`): floor(lat × 200 + 18000) × 100000 +
# floor(lon × 200 + 36000), both terms positive, so SQLite's CAST (which
# truncates, and SQLite has no floor() as built here) is a floor.
sqlite_cell='CAST(lat * 200 + 18000 AS INTEGER) * 100000 + CAST(lon * 200 + 36000 AS INTEGER)'
postgres_cell='CAST(floor(lat * 200 + 18000) AS BIGINT) * 100000 + CAST(floor(lon * 200 + 36000) AS BIGINT)'
# The figures' epochs (migration 0028, decision 103): now and an hour ago, in
# microseconds, and the day (since 1970-01-01, kept within 0–84,000) of an
# instant, `{{DAY:expr}}` (expr without braces). The hour (since 1970, UTC) of
# an instant, floored on both engines, `{{HOUR:expr}}` (migration 0030; expr
# a column, written three times).
sqlite_now="(CAST(strftime('%s', 'now') AS INTEGER) * 1000000)"
sqlite_recent="((CAST(strftime('%s', 'now') AS INTEGER) - 3600) * 1000000)"
postgres_now='(CAST(extract(epoch FROM clock_timestamp()) AS BIGINT) * 1000000)'
postgres_recent='((CAST(extract(epoch FROM clock_timestamp()) AS BIGINT) - 3600) * 1000000)'
# Where the two engines need different statements (triggers: SQLite's are
# row by row, PostgreSQL's call a function), a template holds both, each
# between a line `{{SQLITE}}` or `{{POSTGRES}}` and a line `{{END}}`: each
# engine keeps its own block and drops the other's.
for t in *.tmpl.sql; do
  n=${t%.tmpl.sql}.sql
  sed -e '/^{{POSTGRES}}$/,/^{{END}}$/d' -e '/^{{SQLITE}}$/d; /^{{END}}$/d' \
      -e 's/{{INT}}/INTEGER/g; s/{{REAL}}/REAL/g' -e "s/{{CELL}}/$sqlite_cell/g" -e "s#{{NOW}}#$sqlite_now#g; s#{{RECENT}}#$sqlite_recent#g" \
      -e 's#{{HOUR:\([^}]*\)}}#(\1 - ((\1 % 3600000000) + 3600000000) % 3600000000) / 3600000000#g' \
      -e 's#{{DAY:\([^}]*\)}}#MIN(MAX((\1) / 86400000000, 0), 84000)#g' "$t" > "$out/sqlite/$n"
  sed -e '/^{{SQLITE}}$/,/^{{END}}$/d' -e '/^{{POSTGRES}}$/d; /^{{END}}$/d' \
      -e 's/{{INT}}/BIGINT/g; s/{{REAL}}/DOUBLE PRECISION/g' -e "s/{{CELL}}/$postgres_cell/g" -e "s#{{NOW}}#$postgres_now#g; s#{{RECENT}}#$postgres_recent#g" \
      -e 's#{{HOUR:\([^}]*\)}}#(\1 - ((\1 % 3600000000) + 3600000000) % 3600000000) / 3600000000#g' \
      -e 's#{{DAY:\([^}]*\)}}#LEAST(GREATEST((\1) / 86400000000, 0), 84000)#g' "$t" > "$out/postgres/$n"
done
