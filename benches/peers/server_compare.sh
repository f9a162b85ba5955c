#!/usr/bin/env bash
# HTTP serving, side by side in one script (issue 5): candlestore's server against the design it
# replaces, FastAPI + uvicorn serving the same range scan from PostgreSQL, on the same real rows
# (the S&P 500 five-year file, all 97 fields), with the same load generator (wrk, one thread,
# 50 connections) on the same 2 cores. Then the 20-year, 500-symbol Parquet export: streamed
# bytes per second and the server's peak RSS.
#
# usage: benches/peers/server_compare.sh [--quick]
#   SP500=path/to/all_stocks_5yr_shared.csv.gz (default: ../shared/data/daily/...)
#   BENCH_WORK=/tmp/... (stores, PostgreSQL cluster), DURATION=10 (seconds per wrk run)
# Installs wrk and PostgreSQL from Debian and the Python peer into .venv if missing.
# Output: a Markdown table on stdout and bench-data/server.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
quick=${1:-}
work=${BENCH_WORK:-/tmp/candlestore-serverbench}
sp500=${SP500:-$root/../shared/data/daily/all_stocks_5yr_shared.csv.gz}
duration=${DURATION:-10}
[ "$quick" = "--quick" ] && duration=3
mkdir -p "$work" bench-data
out=bench-data/server.md

need=()
command -v wrk >/dev/null || need+=(wrk)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  apt-get install -y --no-install-recommends "${need[@]}" >/dev/null
fi
pgbin=$(dirname "$(ls /usr/lib/postgresql/*/bin/postgres | sort -V | tail -n1)")
venv=.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r benches/peers/requirements-server.txt
cargo build --release -p candlestore-tools
cs=target/release/candlestore

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -d "$work/pg" ]; then runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -m fast stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

wait_http() { # url
  for _ in $(seq 1 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "server at $1 did not come up" >&2; return 1
}

# --- the store: real S&P 500 bars, all 97 fields computed by candlestore ---------------------
store=$work/sp500
if [ ! -d "$store/stocks_daily" ]; then
  rm -rf "$store"
  "$cs" import --store "$store" --table stocks_daily "$sp500" > "$work/import.log"
fi
cat > "$work/server.toml" <<TOML
[server]
public_read = true
max_page_rows = 5000000
[server.rate_limit]
per_second = 1000000000.0
burst = 1000000000
TOML

# --- PostgreSQL with the same rows, keyed by (symbol, datetime) ---------------------------------
if [ ! -f "$work/pg/PG_VERSION" ]; then
  rm -rf "$work/pg"; mkdir -p "$work/pg" "$work/pgsock"; chown postgres "$work/pg" "$work/pgsock"
  runuser -u postgres -- "$pgbin/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
fi
mkdir -p "$work/pgsock"; chown postgres "$work/pgsock"
runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pgsock/pg.log" -w \
  -o "-p 55432 -k $work/pgsock -c listen_addresses=127.0.0.1 -c shared_buffers=1GB -c max_connections=100 -c synchronous_commit=off" start >/dev/null
dsn="postgresql://postgres@127.0.0.1:55432/postgres"
rows=$(runuser -u postgres -- psql -h "$work/pgsock" -p 55432 -tAc "select count(*) from bars" 2>/dev/null || echo 0)
if [ "${rows:-0}" -lt 1 ]; then
  "$venv/bin/python" benches/peers/pg_load.py "$store" stocks_daily "$dsn"
fi

# --- the servers -------------------------------------------------------------------------------
"$cs" serve --store "$store" --addr 127.0.0.1:18080 --config "$work/server.toml" > "$work/serve.log" 2>&1 &
cs_pid=$!; pids+=("$cs_pid")
PG_DSN=$dsn "$venv/bin/uvicorn" --app-dir benches/peers fastapi_bars:app --host 127.0.0.1 --port 18081 \
  --workers 2 --no-access-log --log-level warning > "$work/uvicorn.log" 2>&1 &
pids+=("$!")

sym=AAPL; range="start=2017-01-01&end=2018-01-01"
ohlcv="fields=open,high,low,close,volume"
wait_http "http://127.0.0.1:18080/health"
wait_http "http://127.0.0.1:18081/api/v1/bars/stocks_daily/$sym?$range"
n_cs=$(curl -fsS "http://127.0.0.1:18080/api/v1/bars/stocks_daily/$sym?$range&format=csv" | tail -n +2 | wc -l)
n_pg=$("$venv/bin/python" -c "import json,sys,urllib.request as u; print(len(json.load(u.urlopen('http://127.0.0.1:18081/api/v1/bars/stocks_daily/$sym?$range'))['rows']))")
echo "rows per response: candlestore $n_cs, FastAPI $n_pg (must be equal)"
[ "$n_cs" = "$n_pg" ] || { echo "the two servers disagree on the rows" >&2; exit 1; }

results=$work/results.tsv; : > "$results"
run() { # label url
  local log=$work/wrk.$RANDOM.log
  curl -fsS -o /dev/null "$2"            # the response is valid before it is measured
  wrk -t1 -c50 -d"${duration}s" --latency "$2" > "$log"
  awk -v label="$1" '
    /Requests\/sec/ {rps=$2}
    /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
    /Non-2xx/ {bad=$NF}
    END {printf "%s\t%s\t%s\t%s\t%s\n", label, rps, p50, p99, (bad==""?0:bad)}' "$log" >> "$results"
  tail -n 1 "$results"
}
base=http://127.0.0.1:18080/api/v1/bars/stocks_daily/$sym
peer=http://127.0.0.1:18081/api/v1/bars/stocks_daily/$sym
run "candlestore, 97 fields, Arrow IPC" "$base?$range&format=arrow"
run "candlestore, 97 fields, JSON" "$base?$range&format=json"
run "FastAPI + PostgreSQL, 97 fields, JSON" "$peer?$range"
run "candlestore, OHLCV, Arrow IPC" "$base?$range&$ohlcv&format=arrow"
run "candlestore, OHLCV, JSON" "$base?$range&$ohlcv&format=json"
run "FastAPI + PostgreSQL, OHLCV, JSON" "$peer?$range&$ohlcv"
kill "${pids[1]}" 2>/dev/null || true

# --- the 20-year, 500-symbol export as Parquet --------------------------------------------------
export_line="(skipped: --quick)"
if [ "$quick" != "--quick" ]; then
  if [ ! -f bench-data/daily_ohlcv.parquet ]; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check numpy pyarrow
    "$venv/bin/python" benches/data/gen.py --out bench-data
  fi
  big=$work/daily20y
  if [ ! -d "$big/stocks_daily" ]; then
    rm -rf "$big"; "$cs" import --store "$big" --table stocks_daily bench-data/daily_ohlcv.parquet > "$work/import20y.log"
  fi
  kill "$cs_pid" 2>/dev/null || true; wait "$cs_pid" 2>/dev/null || true
  "$cs" serve --store "$big" --addr 127.0.0.1:18080 --config "$work/server.toml" > "$work/serve20y.log" 2>&1 &
  cs_pid=$!; pids+=("$cs_pid")
  wait_http "http://127.0.0.1:18080/health"
  syms=$("$venv/bin/python" -c "print(','.join(f'\"S{i:04d}\"' for i in range(500)))")
  body="{\"table\":\"stocks_daily\",\"symbols\":[$syms],\"format\":\"parquet\"}"
  cpu0=$(awk '{print $14 + $15}' "/proc/$cs_pid/stat")
  stats=$(curl -fsS -o "$work/export.parquet" -w "%{size_download} %{time_total}" \
    -H 'content-type: application/json' -d "$body" http://127.0.0.1:18080/api/v1/query)
  cpu1=$(awk '{print $14 + $15}' "/proc/$cs_pid/stat")
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$cs_pid/status")
  rss_detail=$(awk '/RssAnon|RssFile/ {printf "%s %.0f MiB ", $1, $2/1024}' "/proc/$cs_pid/status")
  nrows=$("$venv/bin/python" -c "import pyarrow.parquet as pq; print(pq.ParquetFile('$work/export.parquet').metadata.num_rows)")
  export_line=$(awk -v s="$stats" -v h="$hwm" -v n="$nrows" 'BEGIN {split(s, a, " ");
    printf "%d rows, %.0f MB in %.2f s = **%.0f MB/s**; server peak RSS %.0f MiB", n, a[1]/1e6, a[2], a[1]/1e6/a[2], h/1024}')
  export_line="$export_line; server CPU $(( (cpu1 - cpu0) / 100 )) s; at the end $rss_detail"
fi

{
  echo "| server, response | requests/s | p50 | p99 | non-2xx |"
  echo "|---|--:|--:|--:|--:|"
  awk -F'\t' '{printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5}' "$results"
  echo
  echo "One symbol ($sym) x one year (2017, $n_cs bars) of the real S&P 500 file; wrk 1 thread, 50 connections, ${duration} s per row, on the same 2 cores as the server."
  echo
  echo "Parquet export, 500 symbols x 20 years daily (POST /api/v1/query): $export_line"
} | tee "$out"
