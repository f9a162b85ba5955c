#!/usr/bin/env python3
"""Peer comparison for candlestore: DuckDB, ArcticDB (LMDB) and Hive Parquet read by polars.

    python benches/peers/peers.py --data DIR --work DIR [--quick] [--json OUT]

DIR holds the files of benches/data/gen.py. Each peer runs in its own subprocess (so a crash,
a missing package or a memory blow-up of one peer cannot take the others down, and each peer's
peak RSS is its own); the parent collects {peer: {measure: value}} and prints a markdown table.
A measure that could not be taken is the string "n/a (reason)".
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
import traceback

PEERS = ["duckdb", "arcticdb", "polars"]
PEER_LABELS = {"duckdb": "DuckDB", "arcticdb": "ArcticDB (LMDB)", "polars": "Hive Parquet + polars"}
PACKAGES = ["duckdb", "arcticdb", "polars", "pyarrow", "pandas", "numpy"]

COLS10 = ["datetime", "symbol", "open", "high", "low", "close", "volume", "rsi", "sma_20", "macd"]
OHLCV = ["datetime", "symbol", "open", "high", "low", "close", "volume"]

# Fixed query targets, present in both the full and the --quick (10%) data sets.
DATASETS = {
    "daily": dict(symbol="S0042", year=2015, date=dt.date(2015, 6, 15), part="month"),
    "sp500": dict(symbol="AAPL", year=2016, date=dt.date(2016, 6, 15), part="month"),
    "minute": dict(symbol="M003", day=dt.date(2024, 2, 15), part="day"),
}

# (measure, dataset, query shape, projection). Q1/Q2/Q3 on the daily sets, Q4 on minutes.
QUERIES = [
    (f"{ds}.{name}", ds, shape, cols)
    for ds in ("sp500", "daily")
    for name, shape, cols in [
        ("q1_all", "q1", None), ("q1_ohlcv", "q1", OHLCV), ("q1_10", "q1", COLS10),
        ("q2_10", "q2", COLS10), ("q3_10", "q3", COLS10),
    ]
] + [("minute.q4_all", "minute", "q4", None)]

UTC = dt.timezone.utc


def ts(d: dt.date) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, tzinfo=UTC)


def query_range(ds: str, shape: str):
    """Half-open [start, end) UTC range of a query shape (None = whole history)."""
    spec = DATASETS[ds]
    if shape == "q1":
        return ts(dt.date(spec["year"], 1, 1)), ts(dt.date(spec["year"] + 1, 1, 1))
    if shape == "q2":
        return ts(spec["date"]), ts(spec["date"] + dt.timedelta(days=1))
    if shape == "q4":
        return ts(spec["day"]), ts(spec["day"] + dt.timedelta(days=1))
    return None


# --------------------------------------------------------------------------------------------
# Timing

class Timer:
    def __init__(self, quick: bool):
        # Per measure: warm-up runs, then up to `reps` timed runs or until the budget is spent
        # (ArcticDB's all-symbols query takes ~0.3 s a run), but never fewer than min_reps.
        self.warmup, self.reps, self.budget_s, self.min_reps = (
            (3, 30, 1.5, 5) if quick else (20, 200, 20.0, 20))

    def measure(self, fn) -> dict:
        t_end = time.perf_counter() + self.budget_s / 4
        for i in range(self.warmup):
            rows = fn()
            if i >= 1 and time.perf_counter() > t_end:
                break
        samples = []
        t_end = time.perf_counter() + self.budget_s
        while len(samples) < self.reps:
            t0 = time.perf_counter_ns()
            rows = fn()
            samples.append(time.perf_counter_ns() - t0)
            if len(samples) >= self.min_reps and time.perf_counter() > t_end:
                break
        return {"p50_us": percentile(samples, 50) / 1e3, "p99_us": percentile(samples, 99) / 1e3,
                "reps": len(samples), "rows": rows}


def percentile(samples, p):
    """Linear interpolation between closest ranks (numpy's default 'linear' method)."""
    s = sorted(samples)
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def disk_bytes(path: str) -> int:
    """Allocated bytes under path (st_blocks): LMDB map files may be sparse."""
    if os.path.isfile(path):
        return os.stat(path).st_blocks * 512
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.stat(os.path.join(root, f)).st_blocks * 512
    return total


def reset_dir(path: str):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)


def short(e: BaseException) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"n/a ({type(e).__name__}: {msg[:160]})"


# --------------------------------------------------------------------------------------------
# Peers. Each has load(table, src) -> (rows, seconds), size(table) -> bytes, and
# query(ds, shape, cols) -> callable returning the number of rows of a fully materialised
# result (Arrow table / pandas DataFrame / polars DataFrame, as a user would get it).

class DuckDBPeer:
    def __init__(self, work):
        import duckdb
        self.duckdb, self.dir, self.cons = duckdb, os.path.join(work, "duckdb"), {}
        reset_dir(self.dir)

    def connect(self, path):
        con = self.duckdb.connect(path)
        con.execute("SET TimeZone = 'UTC'")  # TIMESTAMPTZ -> Arrow timestamp[us, tz=UTC]
        con.execute("SET memory_limit = '6GB'")
        return con

    def load(self, table, src, method="read_parquet+order"):
        path = os.path.join(self.dir, f"{table}.duckdb")
        if table in self.cons:
            self.drop(table)
        if os.path.exists(path):
            os.remove(path)
        con = self.connect(path)
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{src}') LIMIT 0")
        if method.startswith("arrow"):  # Arrow table already in memory (replacement scan)
            import pyarrow.parquet as pq
            arrow_src = pq.read_table(src)  # noqa: F841 (referenced by name in SQL)
            body = "SELECT * FROM arrow_src"
        else:
            body = f"SELECT * FROM read_parquet('{src}')"
        # DuckDB has no clustered index: rows sorted at insert are what make its zone maps
        # (min/max per row group) prune on symbol and datetime. The source files are already
        # sorted and DuckDB keeps insertion order, so "+order" only shows what the sort costs.
        if method.endswith("+order"):
            body += " ORDER BY symbol, datetime"
        t0 = time.perf_counter()
        con.execute(f"INSERT INTO t {body}")
        con.execute("CHECKPOINT")
        secs = time.perf_counter() - t0
        rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
        self.cons[table] = con
        return rows, secs

    def size(self, table):
        self.cons[table].execute("CHECKPOINT")
        return disk_bytes(os.path.join(self.dir, f"{table}.duckdb"))

    def query(self, table, ds, shape, cols):
        con = self.cons[table]
        sel = "*" if cols is None else ", ".join(f'"{c}"' for c in cols)
        where = []
        if shape in ("q1", "q3", "q4"):
            where.append(f"symbol = '{DATASETS[ds]['symbol']}'")
        rng = query_range(ds, shape)
        if rng:
            where.append(f"datetime >= TIMESTAMPTZ '{rng[0].isoformat()}' "
                         f"AND datetime < TIMESTAMPTZ '{rng[1].isoformat()}'")
        # ORDER BY: SQL promises no order otherwise; the other peers return sorted rows.
        sql = f"SELECT {sel} FROM t WHERE {' AND '.join(where)} ORDER BY symbol, datetime"
        return lambda: con.sql(sql).to_arrow_table().num_rows

    def drop(self, table):
        self.cons.pop(table).close()


class ArcticPeer:
    def __init__(self, work):
        import arcticdb
        import pandas as pd
        arcticdb.config.set_log_level("WARN")  # INFO logs a line per all-null column segment
        self.adb, self.pd, self.dir, self.libs, self.symbols = arcticdb, pd, os.path.join(work, "arcticdb"), {}, {}
        reset_dir(self.dir)

    def frames(self, tbl):
        """Yields (symbol, DataFrame indexed by datetime) for a table sorted by symbol."""
        import numpy as np
        import pyarrow as pa
        # ArcticDB stores neither categoricals nor masked booleans: dictionaries become plain
        # strings, nullable booleans become float64 (1.0 / 0.0 / NaN), as a user would convert.
        fields = []
        for f in tbl.schema:
            if pa.types.is_dictionary(f.type):
                f = f.with_type(pa.string())
            elif pa.types.is_boolean(f.type) and f.nullable:
                f = f.with_type(pa.float64())
            fields.append(f)
        tbl = tbl.cast(pa.schema(fields))
        sym = tbl["symbol"].combine_chunks().dictionary_encode()
        idx = sym.indices.to_numpy()
        bounds = np.flatnonzero(np.diff(idx)) + 1
        for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(idx)]):
            df = tbl.slice(a, b - a).to_pandas()
            yield str(df["symbol"].iat[0]), df.set_index("datetime")

    def load(self, table, src):
        import pyarrow.parquet as pq
        lib_dir = os.path.join(self.dir, table)
        reset_dir(lib_dir)
        ac = self.adb.Arctic(f"lmdb://{lib_dir}")
        lib = ac.get_library(table, create_if_missing=True)
        tbl = pq.read_table(src)
        rows, secs, batch = tbl.num_rows, 0.0, []
        # Frames are prepared outside the timed section (ArcticDB ingests DataFrames only);
        # write_batch of 50 symbols at a time keeps peak memory down.
        for s, df in self.frames(tbl):
            batch.append(self.adb.WritePayload(s, df))
            if len(batch) == 50:
                secs += self._write(lib, batch)
                batch = []
        if batch:
            secs += self._write(lib, batch)
        del tbl
        self.libs[table] = (ac, lib)
        self.symbols[table] = sorted(lib.list_symbols())
        return rows, secs

    def _write(self, lib, batch):
        t0 = time.perf_counter()
        res = lib.write_batch(batch)
        secs = time.perf_counter() - t0
        errs = [r for r in res if isinstance(r, self.adb.DataError)]
        if errs:
            raise RuntimeError(f"write_batch: {errs[0]}")
        return secs

    def size(self, table):
        return disk_bytes(os.path.join(self.dir, table))

    def query(self, table, ds, shape, cols):
        pd, lib = self.pd, self.libs[table][1]
        columns = None if cols is None else [c for c in cols if c != "datetime"]  # index
        rng = query_range(ds, shape)
        # ArcticDB's date_range is inclusive on both ends.
        dr = None if rng is None else (pd.Timestamp(rng[0]), pd.Timestamp(rng[1]) - pd.Timedelta(1, "us"))
        if shape == "q2":
            reqs = [self.adb.ReadRequest(s, date_range=dr, columns=columns) for s in self.symbols[table]]

            def run():
                res = lib.read_batch(reqs)
                return len(pd.concat([r.data for r in res if len(r.data)]))
            return run
        sym = DATASETS[ds]["symbol"]
        return lambda: len(lib.read(sym, date_range=dr, columns=columns).data)

    def drop(self, table):
        self.libs.pop(table)


class PolarsPeer:
    def __init__(self, work):
        import polars as pl
        self.pl, self.dir, self.frames = pl, os.path.join(work, "hive"), {}
        reset_dir(self.dir)

    def load(self, table, src):
        import numpy as np
        import pyarrow.parquet as pq
        part = DATASETS[table.split("_")[0]]["part"]
        root = os.path.join(self.dir, table)
        reset_dir(root)
        pdf = self.pl.from_arrow(pq.read_table(src))  # in memory before the clock starts
        t0 = time.perf_counter()
        # Same layout as candlestore: <table>/month=YYYY-MM/ (daily) or day=YYYY-MM-DD/ (1-minute),
        # one zstd file per partition, rows clustered by symbol then datetime. A stable sort by
        # partition keeps the source's (symbol, datetime) order inside each partition. Written
        # by polars itself: pyarrow's default dictionary-encodes every float column, which makes
        # these ~10k-row files ~25% larger than a user of polars would see.
        t_us = pdf["datetime"].dt.epoch("us").to_numpy()
        key = t_us.astype("datetime64[us]").astype("datetime64[M]" if part == "month" else "datetime64[D]")
        order = np.argsort(key, kind="stable")
        keys, starts = np.unique(key[order], return_index=True)
        ends = np.r_[starts[1:], len(order)]
        for k, a, b in zip(keys, starts, ends):
            d = os.path.join(root, f"{part}={k}")
            os.makedirs(d, exist_ok=True)
            pdf[order[a:b]].write_parquet(os.path.join(d, "part-0.parquet"), compression="zstd")
        secs = time.perf_counter() - t0
        rows = pdf.height
        del pdf
        # One LazyFrame per table, built once: a warm user keeps it around.
        self.frames[table] = self.pl.scan_parquet(root, hive_partitioning=True)
        return rows, secs

    def size(self, table):
        return disk_bytes(os.path.join(self.dir, table))

    def query(self, table, ds, shape, cols):
        pl, lf = self.pl, self.frames[table]
        spec = DATASETS[ds]
        names = [c for c in lf.collect_schema().names() if c not in ("month", "day")]
        pred = []
        if shape in ("q1", "q3", "q4"):
            pred.append(pl.col("symbol") == spec["symbol"])
        rng = query_range(ds, shape)
        if rng:
            pred += [pl.col("datetime") >= rng[0], pl.col("datetime") < rng[1]]
            # Partition pruning needs a predicate on the Hive key itself.
            if spec["part"] == "month":
                last = rng[1] - dt.timedelta(days=1)
                pred.append(pl.col("month").is_between(pl.lit(f"{rng[0]:%Y-%m}"), pl.lit(f"{last:%Y-%m}")))
            else:
                pred.append(pl.col("day") == rng[0].date())
        q = lf.filter(pl.all_horizontal(pred)).select(names if cols is None else cols)
        return lambda: q.collect().height

    def drop(self, table):
        self.frames.pop(table)


PEER_CLASSES = {"duckdb": DuckDBPeer, "arcticdb": ArcticPeer, "polars": PolarsPeer}
TABLES = ["daily_ohlcv", "sp500_ohlcv", "minute_ohlcv", "sp500_full", "daily_full", "minute_full"]


def run_peer(name, data, work, quick, out):
    """Child process: every measure of one peer, written to `out` after each step."""
    res = {}

    def save():
        res["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        with open(out + ".tmp", "w") as f:
            json.dump(res, f, indent=1)
        os.replace(out + ".tmp", out)

    timer = Timer(quick)
    peer = PEER_CLASSES[name](os.path.join(work, name))
    if name == "duckdb":
        # DuckDB's two bulk paths: parquet scan vs an Arrow table already in memory.
        src = os.path.join(data, "daily_ohlcv.parquet")
        for method in ("arrow", "read_parquet", "read_parquet+order"):
            try:
                rows, secs = peer.load("daily_ohlcv", src, method)
                res[f"load_rows_per_s.{method}"] = rows / secs
            except Exception as e:
                res[f"load_rows_per_s.{method}"] = short(e)
            save()
        peer.drop("daily_ohlcv")
    for table in TABLES:
        src = os.path.join(data, f"{table}.parquet")
        ds, kind = table.split("_")
        try:
            rows, secs = peer.load(table, src)
            res[f"{table}.load_rows_per_s"] = rows / secs
            res[f"{table}.rows"] = rows
            res[f"{table}.bytes_per_row"] = peer.size(table) / rows
        except Exception as e:
            traceback.print_exc()
            res[f"{table}.load_rows_per_s"] = res[f"{table}.bytes_per_row"] = short(e)
            continue
        finally:
            save()
        if kind == "full":
            for measure, qds, shape, cols in QUERIES:
                if qds != ds:
                    continue
                try:
                    for k, v in timer.measure(peer.query(table, qds, shape, cols)).items():
                        res[f"{measure}.{k}"] = v
                except Exception as e:
                    traceback.print_exc()
                    res[f"{measure}.p50_us"] = short(e)
                save()
            print(f"[{name}] {table} done", file=sys.stderr, flush=True)
        peer.drop(table)
        gc.collect()
    save()


# --------------------------------------------------------------------------------------------
# Parent: run each peer in a subprocess, merge, print.

def versions():
    from importlib import metadata
    out = {}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


def fmt_num(v, digits=0):
    return f"{v:,.{digits}f}" if isinstance(v, (int, float)) else str(v)


def markdown(results, meta):
    peers = [p for p in PEERS if p in results]
    head = "| measure | " + " | ".join(PEER_LABELS[p] for p in peers) + " |"
    lines = [head, "|---|" + "---:|" * len(peers)]

    def row(label, cell):
        lines.append(f"| {label} | " + " | ".join(cell(results[p]) for p in peers) + " |")

    def latency(r, m):
        p50 = r.get(f"{m}.p50_us", "n/a (not run)")
        if not isinstance(p50, (int, float)):
            return str(p50)
        return f"{p50:,.0f} / {r[f'{m}.p99_us']:,.0f} ({r[f'{m}.rows']:,} rows)"

    labels = {"q1_all": "Q1 one symbol x 1 year, 97 cols", "q1_ohlcv": "Q1 one symbol x 1 year, OHLCV",
              "q1_10": "Q1 one symbol x 1 year, 10 cols", "q2_10": "Q2 all symbols on one date, 10 cols",
              "q3_10": "Q3 one symbol, full history, 10 cols",
              "q4_all": "Q4 one symbol x one day of 1-min bars, 97 cols"}
    names = {"sp500": "S&P 500 (real, 5 y)", "daily": "synthetic daily (20 y)", "minute": "synthetic 1-min"}
    for measure, ds, *_ in QUERIES:
        row(f"{names[ds]}: {labels[measure.split('.')[1]]} — p50 / p99 µs",
            lambda r, m=measure: latency(r, m))
    for t in TABLES:
        row(f"storage {t}: bytes/row", lambda r, t=t: fmt_num(r.get(f"{t}.bytes_per_row", "n/a"), 1))
    for t in TABLES:
        row(f"load {t}: rows/s", lambda r, t=t: fmt_num(r.get(f"{t}.load_rows_per_s", "n/a")))
    if "duckdb" in results:
        lines.append("")
        for k, v in results["duckdb"].items():
            if k.startswith("load_rows_per_s."):
                lines.append(f"DuckDB bulk load of daily_ohlcv via {k.split('.')[1]}: {fmt_num(v)} rows/s")
    row_peak = [f"{PEER_LABELS[p]} {fmt_num(results[p].get('peak_rss_mib', 'n/a'))} MiB" for p in peers]
    lines += ["", "Peak RSS per peer process: " + ", ".join(row_peak),
              f"Machine: {meta['cores']} cores, {meta['mem_gib']} GiB, {meta['platform']}; "
              f"load average at start {meta['loadavg_start']}, at end {meta['loadavg_end']}",
              "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="directory written by benches/data/gen.py")
    ap.add_argument("--work", required=True, help="scratch directory for the peers' stores")
    ap.add_argument("--quick", action="store_true", help="few repetitions (CI smoke run)")
    ap.add_argument("--json", help="write {peer: {measure: value}} here")
    ap.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset")
    ap.add_argument("--run-peer", help=argparse.SUPPRESS)  # internal: child mode
    ap.add_argument("--child-out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    data, work = os.path.abspath(args.data), os.path.abspath(args.work)
    if args.run_peer:
        run_peer(args.run_peer, data, work, args.quick, args.child_out)
        return 0

    missing = [t for t in TABLES if not os.path.exists(os.path.join(data, f"{t}.parquet"))]
    if missing:
        sys.exit(f"missing in {data}: {', '.join(missing)} (run benches/data/gen.py first)")
    os.makedirs(work, exist_ok=True)
    meta = {"cores": os.cpu_count(),
            "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
            "platform": f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
            "loadavg_start": " ".join(f"{x:.1f}" for x in os.getloadavg()),
            "versions": versions(), "quick": args.quick}
    results = {}
    timeout = 240 if args.quick else 3600
    for name in args.peers.split(","):
        out = os.path.join(work, f"{name}.result.json")
        if os.path.exists(out):
            os.remove(out)
        t0 = time.perf_counter()
        cmd = [sys.executable, os.path.abspath(__file__), "--run-peer", name, "--data", data,
               "--work", work, "--child-out", out] + (["--quick"] if args.quick else [])
        try:
            proc = subprocess.run(cmd, timeout=timeout, stderr=subprocess.PIPE, text=True)
            err = None if proc.returncode == 0 else \
                (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1][:200]
            sys.stderr.write(proc.stderr)
        except subprocess.TimeoutExpired:
            err = f"timed out after {timeout} s"
        r = json.load(open(out)) if os.path.exists(out) else {}
        if err:  # keep what was measured before the failure, mark the rest
            r["error"] = f"n/a ({err})"
            for measure, *_ in QUERIES:
                r.setdefault(f"{measure}.p50_us", r["error"])
            for t in TABLES:
                r.setdefault(f"{t}.bytes_per_row", r["error"])
                r.setdefault(f"{t}.load_rows_per_s", r["error"])
        r["wall_s"] = round(time.perf_counter() - t0, 1)
        results[name] = r
        print(f"[{name}] finished in {r['wall_s']} s" + (f" ({err})" if err else ""),
              file=sys.stderr, flush=True)
    meta["loadavg_end"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(markdown(results, meta))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({**results, "_meta": meta}, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
