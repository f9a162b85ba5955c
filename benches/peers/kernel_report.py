#!/usr/bin/env python3
"""Side-by-side table of the indicator-kernel benchmark JSON files.

    python benches/peers/kernel_report.py DIR

Reads DIR/candlestore-kernel-{1,2}t.json (target/release/kernelbench) and the peers of
kernel_peers.py (DIR/{talib,talib_fields,pandas_ta}-1t.json); a missing file is a missing row.
Speed columns: the other's ns/bar divided by this row's (> 1 = this row is faster).
"""
from __future__ import annotations

import json
import os
import sys

ROWS = [
    ("candlestore-kernel-1t", "candlestore kernel"),
    ("candlestore-kernel-2t", "candlestore kernel"),
    ("talib-1t", "TA-Lib, standard set"),
    ("talib_fields-1t", "TA-Lib, F1 `TA:` fields"),
    ("pandas_ta-1t", "pandas-ta-classic, our subset"),
]

# The pandas-ta calls that mirror kernel_peers.TALIB_STANDARD (adx() also gives +DI/-DI).
PTA_STANDARD = ["rsi", "macd", "roc", "mom10", "stoch", "willr", "sma20", "sma50", "sma200",
                "ema12", "ema26", "ema50", "ema200", "kama", "tema", "trix", "bbands", "adx",
                "atr", "obv", "cci", "ppo", "mfi"]


def load(d: str, name: str) -> dict | None:
    path = os.path.join(d, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def what(doc: dict) -> str:
    if "fields" in doc and doc.get("peer") == "candlestore":
        return f"{doc['fields']} fields"
    if doc.get("peer") == "talib":
        return f"{doc['calls_per_series']} calls ({doc['functions']} functions)"
    if doc.get("peer") == "talib_fields":
        return f"{doc['fields']} fields"
    if doc.get("peer") == "pandas_ta":
        return f"{doc['calls_per_series']} calls, {len(doc['fields_covered'])} fields"
    return "?"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    d = argv[0]
    docs = {name: load(d, name) for name, _ in ROWS}
    rows = [(name, label, docs[name]) for name, label in ROWS if docs[name] is not None]
    if not rows:
        print(f"no benchmark JSON in {d}")
        return 1
    ta = docs["talib-1t"]["ns_per_bar"] if docs["talib-1t"] else None
    pta = docs["pandas_ta-1t"]["ns_per_bar"] if docs["pandas_ta-1t"] else None
    cs1 = docs["candlestore-kernel-1t"]["ns_per_bar"] if docs["candlestore-kernel-1t"] else None

    table = []
    for name, label, doc in rows:
        ns = doc["ns_per_bar"]
        speedup = f"{cs1 / ns:.2f}x" if name == "candlestore-kernel-2t" and cs1 else ""
        table.append([label, what(doc), f"{doc['threads']}", f"{doc['bars']:,}", f"{ns:,.1f}",
                      f"{1e9 / ns:,.0f}", f"{ta / ns:.2f}" if ta else "",
                      f"{pta / ns:.1f}" if pta else "", speedup])
    if docs["pandas_ta-1t"] and "per_call_ns_per_bar" in docs["pandas_ta-1t"]:
        pc = docs["pandas_ta-1t"]["per_call_ns_per_bar"]
        ns = sum(pc[k] for k in PTA_STANDARD if k in pc)
        table.append(["pandas-ta-classic, TA-Lib's set*", f"{len(PTA_STANDARD)} calls", "1",
                      f"{docs['pandas_ta-1t']['bars']:,}", f"{ns:,.1f}", f"{1e9 / ns:,.0f}",
                      f"{ta / ns:.2f}" if ta else "", f"{pta / ns:.1f}" if pta else "", ""])

    head = ["peer", "computes", "threads", "bars", "ns/bar", "bars/s", "speed vs TA-Lib",
            "speed vs pandas-ta", "2-core speedup"]
    widths = [max(len(str(r[i])) for r in table + [head]) for i in range(len(head))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |")
    print("|" + "|".join("-" * (w + 1) + ("-" if i < 2 else ":") for i, w in enumerate(widths)) + "|")
    for r in table:
        print("| " + " | ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w)
                                for i, (c, w) in enumerate(zip(r, widths))) + " |")
    print()
    print("speed vs X = X's ns/bar / this row's ns/bar (> 1: this row is faster). "
          "ns/bar = best wall time / bars; peers pinned to one core.")
    if docs["pandas_ta-1t"] and "per_call_ns_per_bar" in docs["pandas_ta-1t"]:
        print("* sum of the per-call times of pandas-ta's calls that mirror TA-Lib's standard set "
              "(one untimed-as-a-whole pass, same symbols).")
    for name, label, doc in rows:
        extra = []
        if "ns_per_bar_cpu" in doc:
            extra.append(f"CPU-time {doc['ns_per_bar_cpu']:,.1f} ns/bar")
        if "peak_rss_mib" in doc:
            extra.append(f"peak RSS {doc['peak_rss_mib']:,.0f} MiB")
        if "symbols" in doc:
            extra.append(f"{doc['symbols']} symbols")
        if "loadavg" in doc:
            extra.append("load avg " + " ".join(f"{x:.2f}" for x in doc["loadavg"]))
        if "versions" in doc:
            extra.append(", ".join(f"{k} {v}" for k, v in doc["versions"].items()))
        print(f"{name}: " + "; ".join(extra))
    missing = [name for name, _ in ROWS if docs[name] is None]
    if missing:
        print("missing: " + ", ".join(missing))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
