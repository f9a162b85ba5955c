#!/usr/bin/env bash
# Indicator kernel vs TA-Lib and pandas-ta-classic, side by side.
#
#   benches/peers/kernel_compare.sh [OUT_DIR]     (default bench-data/kernel)
#
# Needs: bench-data/daily_ohlcv.parquet (benches/data/gen.py), .venv with
# tools/interop/requirements-talib.txt, and target/release/kernelbench
# (cargo build --release -p candlestore-benches --bin kernelbench, or however it is built;
# skipped with a message when absent). Run on an idle machine: the load average is recorded.
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=${1:-bench-data/kernel}
DATA=${DATA:-bench-data/daily_ohlcv.parquet}
PY=${PY:-.venv/bin/python}
KB=${KERNELBENCH:-target/release/kernelbench}
mkdir -p "$OUT"

if [[ ! -f $DATA ]]; then
    echo "missing $DATA: run $PY benches/data/gen.py --out bench-data" >&2
    exit 1
fi

# (1) candlestore's kernel, 1 and 2 threads.
if [[ -x $KB ]]; then
    for t in 1 2; do
        echo "== candlestore kernel, $t thread(s)"
        "$KB" --data "$DATA" --threads "$t" --json "$OUT/candlestore-kernel-${t}t.json"
    done
else
    echo "== skipping candlestore kernel: $KB not found (build it with cargo build --release)"
    rm -f "$OUT/candlestore-kernel-1t.json" "$OUT/candlestore-kernel-2t.json"
fi

# (2) Python peers, one core each.
echo "== TA-Lib and pandas-ta-classic (one core)"
"$PY" benches/peers/kernel_peers.py --data "$DATA" --out "$OUT" ${PTA_SYMBOLS:+--pta-symbols "$PTA_SYMBOLS"}

# (3) Table.
echo
"$PY" benches/peers/kernel_report.py "$OUT" | tee "$OUT/kernel.md"
