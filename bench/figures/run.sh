#!/usr/bin/env bash
# The standard activity report at scale (issue 16; decision 87): veille against
# DuckDB on the same data, side by side in one run, on SQLite and PostgreSQL.
#
#   bash bench/figures/run.sh                 (SCALE=200000 for a smaller run)
#
# For each engine: a fresh database, `veille demo --scale $SCALE --export DIR`
# (the demo data set, then $SCALE encounters and the rest in proportion, over
# 24 months; the tables the figures count written as CSV), DuckDB's aggregates
# on that CSV (bench/figures/duckdb_figures.py: load time, then $REPEAT
# computations), then veille's activity report on the database (bench-figures:
# $REPEAT after a warm-up, each group alone, every exact figure compared with
# DuckDB's), the two taking turns $ROUNDS times; in the last round each
# dashboard and list page is also asked $PAGES times through HTTP. Each side's
# time is its fastest over all rounds. Writes the section
# "## Activity report" of docs/benchmarks.md (the notes written by hand under
# its tables are kept); raw results in bench/out/figures/.
# Env: SCALE (1000000), SEED (16), REPEAT (5 per round), ROUNDS (3), PAGES (20 requests per dashboard and
# list page, through HTTP; 0 to skip), ENGINES (sqlite,postgres),
# VEILLE_BENCH_PG_URL (postgres://root@127.0.0.1:5432/postgres),
# BENCH_SKIP_BUILD=1 to reuse the release build, BENCH_PROFILE=debug to time the debug
# build instead (slower; the section says so).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
SCALE="${SCALE:-1000000}"
SEED="${SEED:-16}"
REPEAT="${REPEAT:-5}"
ROUNDS="${ROUNDS:-3}"
PAGES="${PAGES:-20}"
ENGINES="${ENGINES:-sqlite,postgres}"
PG_ADMIN="${VEILLE_BENCH_PG_URL:-postgres://root@127.0.0.1:5432/postgres}"
PY="$ROOT/.venv/bin/python"
[[ -x "$PY" ]] || { echo "bench-figures: .venv missing: run scripts/install-deps.sh" >&2; exit 1; }
PROFILE="${BENCH_PROFILE:-release}"
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  if [[ "$PROFILE" == release ]]; then cargo build --release -q -p veille --bin veille --bin bench-figures
  else cargo build -q -p veille --bin veille --bin bench-figures; fi
fi
[[ ",$ENGINES," == *",postgres,"* ]] && make -s postgres-up >&2
OUT="$ROOT/bench/out/figures"
mkdir -p "$OUT"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/veille-bench-figures.XXXXXX")"
PGDB=""
cleanup() {
  [[ -n "$PGDB" ]] && psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
STARTED="$(date -u '+%Y-%m-%d %H:%M UTC')"
# The last month ended, in Paris (the dashboard's default period).
AT="$(TZ=Europe/Paris date -d "$(TZ=Europe/Paris date +%Y-%m-01) -1 day" +%Y-%m)"
export VEILLE_FIELD_KEYS_FILE="$WORK/fields.key" VEILLE_AUDIT_KEY_FILE="$WORK/audit.key" VEILLE_LOG=error
for engine in ${ENGINES//,/ }; do
  case "$engine" in
    sqlite) export DATABASE_URL="sqlite://$WORK/veille.db" ;;
    postgres)
      PGDB="veille_bench_figures_$$"
      psql -q "$PG_ADMIN" -c "CREATE DATABASE $PGDB" >/dev/null
      export DATABASE_URL="${PG_ADMIN%/*}/$PGDB" ;;
    *) echo "unknown engine $engine" >&2; exit 2 ;;
  esac
  echo "bench-figures: $engine: generating $SCALE encounters…" >&2
  t0=$(date +%s.%N)
  "$CARGO_TARGET_DIR/$PROFILE/veille" demo --scale "$SCALE" --seed "$SEED" --export "$WORK/csv-$engine" > "$OUT/generate-$engine.txt"
  t1=$(date +%s.%N)
  echo "$t0 $t1" > "$OUT/generate-$engine.time"
  ORG="$(grep -o 'for organisation [0-9a-f-]*' "$OUT/generate-$engine.txt" | awk '{print $3}')"
  du -sb "$WORK/csv-$engine" | cut -f1 > "$OUT/csv-bytes-$engine.txt"
  # DuckDB and veille take turns, $ROUNDS times, so that a change of the
  # machine's speed during the run falls on both sides alike; the pages are
  # asked in the last round only.
  rm -f "$OUT/duckdb-$engine"-*.json "$OUT/veille-$engine"-*.json
  for round in $(seq 1 "$ROUNDS"); do
    echo "bench-figures: $engine: round $round of $ROUNDS: DuckDB…" >&2
    "$PY" bench/figures/duckdb_figures.py --dir "$WORK/csv-$engine" --org "$ORG" --at "$AT" --repeat "$REPEAT" --out "$OUT/duckdb-$engine-$round.json"
    echo "bench-figures: $engine: round $round of $ROUNDS: veille…" >&2
    pages=0; [[ "$round" == "$ROUNDS" ]] && pages="$PAGES"
    "$CARGO_TARGET_DIR/$PROFILE/bench-figures" --org "$ORG" --at "$AT" --repeat "$REPEAT" --pages "$pages" --duckdb "$OUT/duckdb-$engine-$round.json" > "$OUT/veille-$engine-$round.json"
  done
  if [[ "$engine" == postgres ]]; then
    psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null; PGDB=""
  else
    du -sb "$WORK/veille.db" | cut -f1 > "$OUT/db-bytes-$engine.txt"
  fi
  rm -rf "$WORK/csv-$engine" "$WORK"/veille.db*
done
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" bench/figures/report.py "$OUT" "$ENGINES" "$SCALE" "$SEED" "$REPEAT" "$AT" "$STARTED" "$LOAD_START" "$LOAD_END" "$(nproc)" "$PROFILE" "$ROUNDS"
echo "docs/benchmarks.md: activity report section written" >&2
