#!/usr/bin/env python3
"""Indicator-kernel peers for candlestore's 97-field kernel: TA-Lib and pandas-ta-classic.

    python benches/peers/kernel_peers.py --data bench-data/daily_ohlcv.parquet --out DIR \
        [--peers talib,talib_fields,pandas_ta] [--pta-symbols 50] [--reps 3]

Peers (each in its own subprocess, pinned to CPU 0, BLAS/OpenMP threads = 1):
  talib         TA-Lib's standard indicator set (TALIB_STANDARD: 25 calls of 20 functions)
  talib_fields  TA-Lib computing the 44 fields of shared/spec/fields.md F1 that have a `TA:`
                peer, with F1's expressions (composites included); the closest TA-Lib
                equivalent of our kernel's work, 44 of its 97 fields
  pandas_ta     pandas-ta-classic (its own code, talib=False, its default) computing the subset
                of our fields it has (PTA_CALLS), on the first --pta-symbols symbols
Each series is one symbol (the file is sorted by symbol, datetime); a call is made per symbol.
Timed: only the indicator calls. Not timed: reading Parquet, splitting per symbol, building the
per-symbol numpy arrays / pandas DataFrames. ns_per_bar = best wall time of --reps runs / bars.
Writes DIR/<peer>-1t.json: {"peer", "indicators", "bars", "ns_per_bar", "threads": 1, ...}.
"""
from __future__ import annotations

import os

# One core: set before numpy/pandas load their thread pools.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "POLARS_MAX_THREADS"):
    os.environ[_var] = "1"

import argparse
import json
import math
import platform
import resource
import subprocess
import sys
import time
import warnings

PEERS = ["talib", "talib_fields", "pandas_ta"]

# TA-Lib's standard set, with the spec's parameters (name, function, args after the inputs).
TALIB_STANDARD = [
    ("RSI(14)", "RSI", "c", (14,)),
    ("MACD(12,26,9)", "MACD", "c", (12, 26, 9)),
    ("ROC(10)", "ROC", "c", (10,)),
    ("MOM(10)", "MOM", "c", (10,)),
    ("STOCH(14,3,SMA,3,SMA)", "STOCH", "hlc", (14, 3, 0, 3, 0)),
    ("WILLR(14)", "WILLR", "hlc", (14,)),
    ("SMA(20)", "SMA", "c", (20,)),
    ("SMA(50)", "SMA", "c", (50,)),
    ("SMA(200)", "SMA", "c", (200,)),
    ("EMA(12)", "EMA", "c", (12,)),
    ("EMA(26)", "EMA", "c", (26,)),
    ("EMA(50)", "EMA", "c", (50,)),
    ("EMA(200)", "EMA", "c", (200,)),
    ("KAMA(10)", "KAMA", "c", (10,)),
    ("TEMA(30)", "TEMA", "c", (30,)),
    ("TRIX(30)", "TRIX", "c", (30,)),
    ("BBANDS(20,2,2,SMA)", "BBANDS", "c", (20, 2.0, 2.0, 0)),
    ("ADX(14)", "ADX", "hlc", (14,)),
    ("PLUS_DI(14)", "PLUS_DI", "hlc", (14,)),
    ("MINUS_DI(14)", "MINUS_DI", "hlc", (14,)),
    ("ATR(14)", "ATR", "hlc", (14,)),
    ("OBV", "OBV", "cv", ()),
    ("CCI(20)", "CCI", "hlc", (20,)),
    ("PPO(12,26,EMA)", "PPO", "c", (12, 26, 1)),
    ("MFI(14)", "MFI", "hlcv", (14,)),
]

# pandas-ta-classic calls -> the fields of ours they give (F1 `pta:` peers and the obvious rest).
PTA_CALLS = [
    ("rsi(14)", ["rsi", "rsi_delta"]),
    ("macd(12,26,9)", ["macd", "macd_signal", "macd_hist", "macd_delta"]),
    ("roc(10)", ["roc"]),
    ("mom(10)", ["momentum"]),
    ("stoch(14,3,3)", ["stoch_k", "stoch_d"]),
    ("willr(14)", ["williams_r"]),
    ("sma(20), sma(50), sma(200)", ["sma_20", "sma_50", "sma_200", "price_to_sma*"]),
    ("ema(12), ema(26), ema(50), ema(200)", ["ema_12", "ema_26", "ema_50", "ema_200"]),
    ("kama(10,2,30)", ["kama"]),
    ("tema(30)", ["tema"]),
    ("trix(30)", ["trix"]),
    ("bbands(20,2,ddof=0)", ["bb_upper", "bb_middle", "bb_lower", "bb_bandwidth", "bb_percent"]),
    ("adx(14)", ["adx", "plus_di", "minus_di"]),
    ("atr(14)", ["atr"]),
    ("supertrend(10,3)", ["supertrend", "supertrend_direction"]),
    ("obv()", ["obv"]),
    ("pvo(12,26,9)", ["pvo", "pvo_signal"]),
    ("cci(20)", ["cci"]),
    ("ppo(12,26,9)", ["ppo"]),
    ("mfi(14)", ["mfi"]),
    ("cmf(20)", ["cmf"]),
    ("ichimoku(9,26,52)", ["ichimoku_tenkan", "ichimoku_kijun", "ichimoku_senkou_a",
                           "ichimoku_senkou_b", "ichimoku_chikou"]),
    ("vwap(anchor='D')", ["vwap_daily"]),
    ("percent_return(1), (5), (20)", ["return_1d", "return_5d", "return_20d"]),
    ("stdev(percent_return(1),20,ddof=1)", ["volatility_20d"]),
    ("mom(5)", ["price_momentum_5d"]),
    ("linreg(obv,5,slope=True)", ["obv_slope_5d"]),
    ("natr(14)", ["atr_percent"]),
    ("sma(volume,20)", ["volume_ratio_20d"]),
    ("zscore(volume,20)", ["volume_spike"]),
]


def pin_one_core(cpu: int) -> list[int]:
    try:
        os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError):
        pass
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:
        return []


def load_series(path: str, max_symbols: int | None):
    """[(symbol, datetime ndarray, o, h, l, c, v)] per symbol, in file order (untimed)."""
    import numpy as np
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t = pq.read_table(path, columns=["symbol", "datetime", "open", "high", "low", "close",
                                     "volume"])
    sym = t["symbol"].combine_chunks()
    # File sorted by symbol: run boundaries are where the symbol changes.
    codes = pc.dictionary_encode(sym).indices.to_numpy()
    starts = np.flatnonzero(np.diff(codes) != 0) + 1
    bounds = np.concatenate([[0], starts, [len(codes)]])
    cols = {k: np.ascontiguousarray(t[k].to_numpy(), dtype=np.float64)
            for k in ("open", "high", "low", "close", "volume")}
    dts = t["datetime"].to_numpy()
    out = []
    for i in range(len(bounds) - 1):
        if max_symbols is not None and i >= max_symbols:
            break
        a, b = int(bounds[i]), int(bounds[i + 1])
        out.append((sym[a].as_py(), dts[a:b],
                    *(np.ascontiguousarray(cols[k][a:b])
                      for k in ("open", "high", "low", "close", "volume"))))
    return out


CPU_TIMES: list[float] = []  # process CPU seconds of each timed run (wall is what's reported)


def best_of(fn, reps: int) -> list[float]:
    times = []
    for _ in range(reps):
        c0 = time.process_time_ns()
        t0 = time.perf_counter_ns()
        fn()
        times.append((time.perf_counter_ns() - t0) / 1e9)
        CPU_TIMES.append((time.process_time_ns() - c0) / 1e9)
    return times


# --------------------------------------------------------------------------------------------
# Peers (run in a child process)

def run_talib(series, reps: int) -> dict:
    import talib

    calls = []
    for label, name, inputs, args in TALIB_STANDARD:
        calls.append((getattr(talib, name), inputs, args))

    def once():
        for _sym, _dt, o, h, l, c, v in series:
            arrs = {"c": (c,), "hlc": (h, l, c), "cv": (c, v), "hlcv": (h, l, c, v)}
            for fn, inputs, args in calls:
                fn(*arrs[inputs], *args)

    once()  # warm-up (page in the arrays and the library)
    times = best_of(once, reps)
    return dict(indicators=[label for label, *_ in TALIB_STANDARD],
                calls_per_series=len(TALIB_STANDARD),
                functions=len({name for _, name, *_ in TALIB_STANDARD}),
                times_s=times, versions={"ta-lib": talib.__version__,
                                         "ta-lib C": _ta_c_version(talib)})


def run_talib_fields(series, reps: int) -> dict:
    import numpy as np
    import talib

    sqrt_20_19 = math.sqrt(20 / 19)

    def fields(o, h, l, c, v):
        # F1 `TA:` peers, as in tools/interop/check_talib.py (without its skip masks).
        talib.RSI(c, 14)
        talib.MACD(c, 12, 26, 9)
        talib.ROC(c, 10)
        talib.MOM(c, 10)
        talib.STOCH(h, l, c, 14, 3, 0, 3, 0)
        talib.WILLR(h, l, c, 14)
        for p in (20, 50, 200):
            talib.SMA(c, p)
        for p in (12, 26, 50, 200):
            talib.EMA(c, p)
        talib.KAMA(c, 10)
        talib.TEMA(c, 30)
        talib.TRIX(c, 30)
        talib.BBANDS(c, 20, 2.0, 2.0, 0)
        talib.ADX(h, l, c, 14)
        talib.PLUS_DI(h, l, c, 14)
        talib.MINUS_DI(h, l, c, 14)
        talib.ATR(h, l, c, 14)
        obv = talib.OBV(c, v)
        pvo = talib.PPO(v, 12, 26, 1)
        talib.EMA(pvo, 9)
        talib.CCI(h, l, c, 20)
        talib.PPO(c, 12, 26, 1)
        talib.MFI(h, l, c, v, 14)
        ad = np.concatenate([[0.0], talib.AD(h, l, c, v)])
        (ad[20:] - ad[:-20]) / talib.SUM(v, 20)[19:]
        talib.MIDPRICE(h, l, 9)
        talib.MIDPRICE(h, l, 26)
        talib.MIDPRICE(h, l, 52)
        r1 = talib.ROCP(c, 1)
        talib.ROCP(c, 5)
        talib.ROCP(c, 20)
        talib.STDDEV(r1, 20, 1.0) * sqrt_20_19
        talib.MOM(c, 5)
        talib.LINEARREG_SLOPE(obv, 5)
        talib.NATR(h, l, c, 14)
        (v - talib.SMA(v, 20)) / talib.STDDEV(v, 20, 1.0)

    def once():
        with np.errstate(divide="ignore", invalid="ignore"):
            for _sym, _dt, o, h, l, c, v in series:
                fields(o, h, l, c, v)

    once()
    times = best_of(once, reps)
    return dict(indicators=[
        "rsi", "macd", "macd_signal", "macd_hist", "roc", "momentum", "stoch_k", "stoch_d",
        "williams_r", "sma_20", "sma_50", "sma_200", "ema_12", "ema_26", "ema_50", "ema_200",
        "kama", "tema", "trix", "bb_upper", "bb_middle", "bb_lower", "adx", "plus_di",
        "minus_di", "atr", "obv", "pvo", "pvo_signal", "cci", "ppo", "mfi", "cmf",
        "ichimoku_tenkan", "ichimoku_kijun", "ichimoku_senkou_b", "return_1d", "return_5d",
        "return_20d", "volatility_20d", "price_momentum_5d", "obv_slope_5d", "atr_percent",
        "volume_spike"], fields=44, times_s=times,
        versions={"ta-lib": talib.__version__, "ta-lib C": _ta_c_version(talib)})


def run_pandas_ta(series, reps: int) -> dict:
    import pandas as pd
    import pandas_ta_classic as ta

    frames = [pd.DataFrame({"high": h, "low": l, "close": c, "volume": v},
                           index=pd.DatetimeIndex(dt, name="datetime"))
              for _sym, dt, o, h, l, c, v in series]

    # (label, fn(h, l, c, v)); obv and percent_return(1) are recomputed where reused, as a
    # user calling each indicator would.
    calls = [
        ("rsi", lambda h, l, c, v: ta.rsi(c, 14)),
        ("macd", lambda h, l, c, v: ta.macd(c, 12, 26, 9)),
        ("roc", lambda h, l, c, v: ta.roc(c, 10)),
        ("mom10", lambda h, l, c, v: ta.mom(c, 10)),
        ("stoch", lambda h, l, c, v: ta.stoch(h, l, c, 14, 3, 3)),
        ("willr", lambda h, l, c, v: ta.willr(h, l, c, 14)),
        ("sma20", lambda h, l, c, v: ta.sma(c, 20)),
        ("sma50", lambda h, l, c, v: ta.sma(c, 50)),
        ("sma200", lambda h, l, c, v: ta.sma(c, 200)),
        ("ema12", lambda h, l, c, v: ta.ema(c, 12)),
        ("ema26", lambda h, l, c, v: ta.ema(c, 26)),
        ("ema50", lambda h, l, c, v: ta.ema(c, 50)),
        ("ema200", lambda h, l, c, v: ta.ema(c, 200)),
        ("kama", lambda h, l, c, v: ta.kama(c, 10, 2, 30)),
        ("tema", lambda h, l, c, v: ta.tema(c, 30)),
        ("trix", lambda h, l, c, v: ta.trix(c, 30)),
        ("bbands", lambda h, l, c, v: ta.bbands(c, 20, 2.0, ddof=0)),
        ("adx", lambda h, l, c, v: ta.adx(h, l, c, 14)),
        ("atr", lambda h, l, c, v: ta.atr(h, l, c, 14)),
        ("supertrend", lambda h, l, c, v: ta.supertrend(h, l, c, 10, 3.0)),
        ("obv", lambda h, l, c, v: ta.obv(c, v)),
        ("pvo", lambda h, l, c, v: ta.pvo(v, 12, 26, 9)),
        ("cci", lambda h, l, c, v: ta.cci(h, l, c, 20)),
        ("ppo", lambda h, l, c, v: ta.ppo(c, 12, 26, 9)),
        ("mfi", lambda h, l, c, v: ta.mfi(h, l, c, v, 14)),
        ("cmf", lambda h, l, c, v: ta.cmf(h, l, c, v, length=20)),
        ("ichimoku", lambda h, l, c, v: ta.ichimoku(h, l, c, 9, 26, 52)),
        ("vwap", lambda h, l, c, v: ta.vwap(h, l, c, v, anchor="D")),
        ("ret1", lambda h, l, c, v: ta.percent_return(c, 1)),
        ("ret5", lambda h, l, c, v: ta.percent_return(c, 5)),
        ("ret20", lambda h, l, c, v: ta.percent_return(c, 20)),
        ("volatility", lambda h, l, c, v: ta.stdev(ta.percent_return(c, 1), 20, ddof=1)),
        ("mom5", lambda h, l, c, v: ta.mom(c, 5)),
        ("obv_slope", lambda h, l, c, v: ta.linreg(ta.obv(c, v), 5, slope=True)),
        ("natr", lambda h, l, c, v: ta.natr(h, l, c, 14)),
        ("sma_vol20", lambda h, l, c, v: ta.sma(v, 20)),
        ("zscore_vol20", lambda h, l, c, v: ta.zscore(v, 20)),
    ]
    inputs = [(df["high"], df["low"], df["close"], df["volume"]) for df in frames]
    bars = sum(len(df) for df in frames)

    def per_series(hlcv):
        for _label, fn in calls:
            fn(*hlcv)

    def once():
        for hlcv in inputs:
            per_series(hlcv)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        per_series(inputs[0])  # warm-up: lazy imports of pandas-ta's submodules
        times = best_of(once, reps)
        # One more pass, untimed as a whole, for the share of each call.
        per_call = {}
        for label, fn in calls:
            t0 = time.perf_counter_ns()
            for hlcv in inputs:
                fn(*hlcv)
            per_call[label] = round((time.perf_counter_ns() - t0) / bars, 1)
    return dict(indicators=[call for call, _ in PTA_CALLS], calls_per_series=len(calls),
                per_call_ns_per_bar=per_call,
                fields_covered=sorted({f for _, fs in PTA_CALLS for f in fs}),
                talib_mode=False, times_s=times,
                versions={"pandas-ta-classic": getattr(ta, "version", "?"),
                          "pandas": pd.__version__})


def _ta_c_version(talib) -> str:
    v = getattr(talib, "__ta_version__", b"?")
    return v.decode() if isinstance(v, bytes) else str(v)


def child(args) -> None:
    cpus = pin_one_core(args.cpu)
    max_symbols = args.pta_symbols if args.child == "pandas_ta" else args.symbols
    series = load_series(args.data, max_symbols)
    bars = sum(len(s[2]) for s in series)
    runner = {"talib": run_talib, "talib_fields": run_talib_fields,
              "pandas_ta": run_pandas_ta}[args.child]
    res = runner(series, args.reps)
    best = min(res["times_s"])
    import numpy as np
    doc = {
        "peer": args.child, **{k: v for k, v in res.items() if k != "times_s"},
        "bars": bars, "symbols": len(series), "ns_per_bar": best * 1e9 / bars,
        "threads": 1, "reps": len(res["times_s"]), "wall_s_runs": res["times_s"],
        "wall_s_best": best,
        # CPU time of the best run: close to wall on an idle machine; when they differ a lot,
        # another process shared the core.
        "cpu_s_runs": CPU_TIMES, "ns_per_bar_cpu": min(CPU_TIMES) * 1e9 / bars,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cpu_affinity": cpus,
        "machine": f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
                   f"{platform.processor() or _cpu_model()}, Python {platform.python_version()}, "
                   f"numpy {np.__version__}",
        "loadavg": os.getloadavg(),
    }
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"{args.child}-1t.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    print(f"{args.child}: {doc['ns_per_bar']:,.1f} ns/bar over {bars:,} bars "
          f"({len(series)} symbols, best of {doc['reps']}) -> {path}", flush=True)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="bench-data/daily_ohlcv.parquet")
    ap.add_argument("--out", required=True, help="directory for <peer>-1t.json")
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--reps", type=int, default=3, help="timed runs; the best is reported")
    ap.add_argument("--symbols", type=int, default=None,
                    help="TA-Lib peers: first N symbols only (default all)")
    ap.add_argument("--pta-symbols", type=int, default=50,
                    help="pandas-ta: first N symbols (default 50; it is ~50x slower)")
    ap.add_argument("--cpu", type=int, default=0, help="the one CPU to pin to (default 0)")
    ap.add_argument("--child", choices=PEERS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return 0
    failed = 0
    for peer in args.peers.split(","):
        cmd = [sys.executable, os.path.abspath(__file__), "--child", peer, "--data", args.data,
               "--out", args.out, "--reps", str(args.reps),
               "--pta-symbols", str(args.pta_symbols), "--cpu", str(args.cpu)]
        if args.symbols is not None:
            cmd += ["--symbols", str(args.symbols)]
        r = subprocess.run(cmd)
        if r.returncode != 0:
            print(f"{peer}: failed (exit {r.returncode})", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
