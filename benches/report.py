"""Merges storebench's JSON files (bench-data/candlestore-<set>.json) and the peers' JSON
(bench-data/peers.json) into one markdown table, with the issue's targets alongside.

usage: report.py DATA_DIR
"""

import json
import os
import sys

QUERIES = [
    # (label, candlestore set, candlestore query name, peer key, target p50 µs)
    ("S&P: one symbol x 1 year, OHLCV", "sp500_full", "Q1 one symbol x 1 year, OHLCV", "sp500.q1_ohlcv", "p50 <= 100, p99 <= 300"),
    ("S&P: one symbol x 1 year, 10 columns", "sp500_full", "Q1 one symbol x 1 year, 10 columns", "sp500.q1_10", "p50 <= 150"),
    ("S&P: one symbol x 1 year, all 97 columns", "sp500_full", "Q1 one symbol x 1 year, all columns", "sp500.q1_all", "p50 <= 400"),
    ("S&P: all symbols on one date, 10 columns", "sp500_full", "Q2 all symbols on one date, 10 columns", "sp500.q2_10", "p50 <= 500"),
    ("S&P: one symbol full history (5 y), 10 columns", "sp500_full", "Q3 one symbol full history, 10 columns", "sp500.q3_10", "p50 <= 300"),
    ("synthetic 20 y: one symbol x 1 year, OHLCV", "daily_full", "Q1 one symbol x 1 year, OHLCV", "daily.q1_ohlcv", "p50 <= 100, p99 <= 300"),
    ("synthetic 20 y: one symbol x 1 year, 10 columns", "daily_full", "Q1 one symbol x 1 year, 10 columns", "daily.q1_10", "p50 <= 150"),
    ("synthetic 20 y: one symbol x 1 year, all 97 columns", "daily_full", "Q1 one symbol x 1 year, all columns", "daily.q1_all", "p50 <= 400"),
    ("synthetic 20 y: all symbols on one date, 10 columns", "daily_full", "Q2 all symbols on one date, 10 columns", "daily.q2_10", "p50 <= 500"),
    ("synthetic 20 y: one symbol full history, 10 columns", "daily_full", "Q3 one symbol full history, 10 columns", "daily.q3_10", "p50 <= 1000"),
    ("1-minute: one symbol x one day, all 97 columns", "minute_full", "Q4 one symbol x one day, all columns", "minute.q4_all", "p50 <= 150"),
]
PEERS = ["duckdb", "arcticdb", "polars"]


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def fmt_us(p50, p99):
    if p50 is None:
        return "n/a"
    return f"{p50:,.0f} / {p99:,.0f}" if p50 >= 100 else f"{p50:,.1f} / {p99:,.1f}"


def main():
    data = sys.argv[1]
    ours = {s: load(os.path.join(data, f"candlestore-{s}.json")) for s in
            ["sp500_ohlcv", "sp500_full", "daily_ohlcv", "daily_full", "minute_ohlcv", "minute_full"]}
    peers = load(os.path.join(data, "peers.json")) or {}
    print("| query (warm, in-process; p50 / p99 µs) | target | candlestore | DuckDB | ArcticDB | polars |")
    print("|---|---|---:|---:|---:|---:|")
    for label, cs_set, cs_q, peer_key, target in QUERIES:
        q = ((ours.get(cs_set) or {}).get("queries") or {}).get(cs_q) or {}
        row = [label, target, fmt_us(q.get("p50_us"), q.get("p99_us"))]
        for p in PEERS:
            d = peers.get(p) or {}
            row.append(fmt_us(d.get(f"{peer_key}.p50_us"), d.get(f"{peer_key}.p99_us")))
        print("| " + " | ".join(row) + " |")
    print()
    print("| data set | measure | candlestore | DuckDB | ArcticDB | polars |")
    print("|---|---|---:|---:|---:|---:|")
    for s in ["sp500_ohlcv", "daily_ohlcv", "minute_ohlcv", "sp500_full", "daily_full", "minute_full"]:
        o = ours.get(s) or {}
        for measure, ours_key, peer_key, f in [
            ("bytes per row", "bytes_per_row", "bytes_per_row", "{:,.1f}"),
            ("load rows/s (candlestore: durable WAL + flush to Parquet)", "ingest_rows_per_s", "load_rows_per_s", "{:,.0f}"),
        ]:
            v = o.get(ours_key)
            row = [s, measure, f.format(v) if v is not None else "n/a"]
            for p in PEERS:
                pv = (peers.get(p) or {}).get(f"{s}.{peer_key}")
                row.append(f.format(pv) if pv is not None else "n/a")
            print("| " + " | ".join(row) + " |")
    print()
    print("| data set | rows | open store (µs, median of 5) | peak RSS after ingest (MiB) | compaction after ingest (s) |")
    print("|---|---:|---:|---:|---:|")
    for s, o in ours.items():
        if not o:
            continue
        rss = o.get("ingest_peak_rss_bytes") or o.get("peak_rss_bytes") or 0
        print(f"| {s} | {o['rows']:,} | {o['open_us_median']:,.0f} | {rss / 2**20:,.0f} | {o['compaction_s']:.2f} |")


if __name__ == "__main__":
    main()
