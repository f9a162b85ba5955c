#!/usr/bin/env bash
# Side-by-side benchmark: candlestore (storebench) and the peers (DuckDB, ArcticDB, Parquet +
# polars) on the same generated data sets, merged into one table (bench-data/report.md).
# usage: benches/run.sh [--quick]   (--quick: 10% data, fewer repetitions; for smoke runs)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=${1:-}
data=bench-data
work=${BENCH_WORK:-/tmp/candlestore-bench}
venv=.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r benches/peers/requirements.txt
"$venv/bin/python" benches/data/gen.py --out "$data" $quick
cargo build --release -p candlestore-benches
reps=200
[ "$quick" = "--quick" ] && reps=30
for set in sp500_ohlcv sp500_full daily_ohlcv daily_full minute_ohlcv minute_full; do
  target/release/storebench --data "$data" --work "$work" --set "$set" --reps "$reps" --json "$data/candlestore-$set.json"
  rm -rf "${work:?}/$set"
done
"$venv/bin/python" benches/peers/peers.py --data "$data" --work "$work/peers" $quick --json "$data/peers.json" > "$data/peers.md"
# Backfill against a rate-limited local vendor (500 symbols x 5 years daily, 2 ms, 50 req/s).
target/release/backfillbench --work "$work/backfill" --json "$data/backfill.json"
"$venv/bin/python" benches/report.py "$data" > "$data/report.md"
cat "$data/report.md"
