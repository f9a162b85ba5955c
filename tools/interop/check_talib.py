"""Oracle check: every field with a `TA:` peer in shared/spec/fields.md F1, recomputed with
TA-Lib from the file's own OHLCV and compared under the F5.2 rule.

usage: check_talib.py FILE.fields.csv[.gz] [FILE2 ...]

Each file is an F4 CSV (97 columns, empty = null). A file may hold several symbols; each is a
series of its own (rows in file order). Per field and file it prints the compared bars, the
bars skipped by a documented spec deviation (below), the largest relative error
abs(a - b) / max(abs(a), abs(b), s_f) with s_f = median of abs(TA-Lib) over its non-null,
non-zero values (the oracle plays the reference), the first non-null index of the file and of
TA-Lib, and PASS/FAIL. A field fails on an error > 1e-6, on a different null pattern or on a
different first non-null index. Exit status 1 on any FAIL.

TA-Lib output is put into the spec's units (F2.5): NaN/Inf -> null. The peer expressions are
F1's verbatim; a composite (cmf, volatility_20d, volume_spike, ...) is built from TA-Lib calls.

Degenerate cases where the spec departs from TA-Lib on purpose (F2.6 SD_ZERO, F3.13); those
bars, and only those, are skipped and counted in the `skip` column:
  * bb_upper, bb_lower: TA-Lib zeroes a window variance below 1e-14 (F2.6, F6.15); bars where
    TA-Lib's STDDEV(c,20) is 0 while the two-pass population SD is not.
  * volume_spike: null if SD_ZERO(SDP(v,20), SMA(v,20)) (F3.13); bars where that holds or where
    TA-Lib's variance floor fired on v.
  * volatility_20d: bars where TA-Lib's variance floor fired on ROCP(c,1) while the two-pass
    SD is not 0 (the spec has no floor).
  * return_1d/5d/20d: null if c[t-N] == 0 (F3.13); TA-Lib's ROCP gives 0 there.
TA-Lib >= 0.8 is required: older releases zeroed the RSI/DI/PPO/KAMA/NATR denominators
below 1e-8, which F2.6 does not (ZERO = exactly 0).
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd
import talib

TOL = 1e-6
OHLCV = ["open", "high", "low", "close", "volume"]


# --------------------------------------------------------------------------------------------
# Helpers on float arrays, NaN = null

def clean(x) -> np.ndarray:
    """F2.5: a computation that gives NaN or +-Inf gives null."""
    x = np.asarray(x, dtype=np.float64).copy()
    x[~np.isfinite(x)] = np.nan
    return x


def lag(x: np.ndarray, k: int) -> np.ndarray:
    out = np.full_like(x, np.nan)
    if k < len(x):
        out[k:] = x[: len(x) - k]
    return out


def rolling_two_pass_sd(x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, population SD) of each full window of n non-null values, two-pass (F2.3 SDP)."""
    mean = np.full_like(x, np.nan)
    sd = np.full_like(x, np.nan)
    idx = np.flatnonzero(~np.isnan(x))
    if len(idx) == 0:
        return mean, sd
    s = idx[0]
    v = x[s:]
    if len(v) < n:
        return mean, sd
    w = np.lib.stride_tricks.sliding_window_view(v, n)
    m = w.mean(axis=1)
    mean[s + n - 1:] = m
    sd[s + n - 1:] = np.sqrt(((w - m[:, None]) ** 2).mean(axis=1))
    return mean, sd


def ta_floor_fired(ta_sd: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Bars where TA-Lib's variance floor (var < 1e-14 -> 0) gave 0 and the two-pass SD did not."""
    return (ta_sd == 0.0) & (sd > 0.0)


# --------------------------------------------------------------------------------------------
# The TA: peers of F1

def talib_fields(o, h, l, c, v) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Returns ({field: TA-Lib value}, {field: bool mask of bars to skip})."""
    f: dict[str, np.ndarray] = {}
    skip: dict[str, np.ndarray] = {}
    n = len(c)
    none = np.zeros(n, dtype=bool)

    f["rsi"] = talib.RSI(c, 14)
    macd, sig, hist = talib.MACD(c, 12, 26, 9)
    f["macd"], f["macd_signal"], f["macd_hist"] = macd, sig, hist
    f["roc"] = talib.ROC(c, 10)
    f["momentum"] = talib.MOM(c, 10)
    k, d = talib.STOCH(h, l, c, 14, 3, talib.MA_Type.SMA, 3, talib.MA_Type.SMA)
    f["stoch_k"], f["stoch_d"] = k, d
    f["williams_r"] = talib.WILLR(h, l, c, 14)
    for p in (20, 50, 200):
        f[f"sma_{p}"] = talib.SMA(c, p)
    for p in (12, 26, 50, 200):
        f[f"ema_{p}"] = talib.EMA(c, p)
    f["kama"] = talib.KAMA(c, 10)
    f["tema"] = talib.TEMA(c, 30)
    f["trix"] = talib.TRIX(c, 30)

    up, mid, low = talib.BBANDS(c, 20, 2.0, 2.0, talib.MA_Type.SMA)
    f["bb_upper"], f["bb_middle"], f["bb_lower"] = up, mid, low
    _, sdp_c = rolling_two_pass_sd(c, 20)
    floor_c = ta_floor_fired(talib.STDDEV(c, 20, 1.0), sdp_c)
    skip["bb_upper"] = skip["bb_lower"] = floor_c

    f["adx"] = talib.ADX(h, l, c, 14)
    f["plus_di"] = talib.PLUS_DI(h, l, c, 14)
    f["minus_di"] = talib.MINUS_DI(h, l, c, 14)
    f["atr"] = talib.ATR(h, l, c, 14)

    obv = talib.OBV(c, v)
    f["obv"] = obv
    pvo = talib.PPO(v, 12, 26, talib.MA_Type.EMA)
    f["pvo"] = pvo
    f["pvo_signal"] = talib.EMA(pvo, 9)
    f["cci"] = talib.CCI(h, l, c, 20)
    f["ppo"] = talib.PPO(c, 12, 26, talib.MA_Type.EMA)
    f["mfi"] = talib.MFI(h, l, c, v, 14)

    # cmf = (AD[t] - AD[t-20]) / SUM(v,20), with AD[-1] = 0 so that it starts at 19.
    ad = np.concatenate([[0.0], talib.AD(h, l, c, v)])
    with np.errstate(divide="ignore", invalid="ignore"):
        f["cmf"] = (ad[1:] - lag(ad, 20)[1:]) / talib.SUM(v, 20)

    f["ichimoku_tenkan"] = talib.MIDPRICE(h, l, 9)
    f["ichimoku_kijun"] = talib.MIDPRICE(h, l, 26)
    f["ichimoku_senkou_b"] = talib.MIDPRICE(h, l, 52)

    for p in (1, 5, 20):
        f[f"return_{p}d"] = talib.ROCP(c, p)
        skip[f"return_{p}d"] = lag(c, p) == 0.0

    r1 = talib.ROCP(c, 1)
    f["volatility_20d"] = talib.STDDEV(r1, 20, 1.0) * math.sqrt(20 / 19)
    _, sdp_r = rolling_two_pass_sd(r1, 20)
    skip["volatility_20d"] = ta_floor_fired(talib.STDDEV(r1, 20, 1.0), sdp_r)

    f["price_momentum_5d"] = talib.MOM(c, 5)
    f["obv_slope_5d"] = talib.LINEARREG_SLOPE(obv, 5)
    f["atr_percent"] = talib.NATR(h, l, c, 14)

    sd_v = talib.STDDEV(v, 20, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        f["volume_spike"] = (v - talib.SMA(v, 20)) / sd_v
    m_v, sdp_v = rolling_two_pass_sd(v, 20)
    sd_zero = sdp_v <= 1e-12 * np.abs(m_v)  # F2.6 SD_ZERO; NaN compares False
    skip["volume_spike"] = sd_zero | ta_floor_fired(sd_v, sdp_v)

    out = {name: clean(x) for name, x in f.items()}
    return out, {name: skip.get(name, none) for name in out}


# Order of F1.
FIELDS = [
    "rsi", "macd", "macd_signal", "macd_hist", "roc", "momentum", "stoch_k", "stoch_d",
    "williams_r", "sma_20", "sma_50", "sma_200", "ema_12", "ema_26", "ema_50", "ema_200",
    "kama", "tema", "trix", "bb_upper", "bb_middle", "bb_lower", "adx", "plus_di", "minus_di",
    "atr", "obv", "pvo", "pvo_signal", "cci", "ppo", "mfi", "cmf", "ichimoku_tenkan",
    "ichimoku_kijun", "ichimoku_senkou_b", "return_1d", "return_5d", "return_20d",
    "volatility_20d", "price_momentum_5d", "obv_slope_5d", "atr_percent", "volume_spike",
]


# --------------------------------------------------------------------------------------------
# Comparison (F5.2)

def first_non_null(x: np.ndarray) -> int | None:
    idx = np.flatnonzero(~np.isnan(x))
    return int(idx[0]) if len(idx) else None


def compare(ours: np.ndarray, ref: np.ndarray, skip: np.ndarray) -> dict:
    nz = np.abs(ref[~np.isnan(ref) & (ref != 0.0)])
    s_f = float(np.median(nz)) if len(nz) else 0.0
    keep = ~skip
    a, b = ours[keep], ref[keep]
    null_a, null_b = np.isnan(a), np.isnan(b)
    null_diff = int(np.count_nonzero(null_a != null_b))
    both = ~null_a & ~null_b
    diff = np.abs(a[both] - b[both])
    scale = np.maximum(np.maximum(np.abs(a[both]), np.abs(b[both])), s_f)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(diff == 0.0, 0.0, diff / scale)
    max_rel = float(rel.max()) if len(rel) else 0.0
    kept = np.flatnonzero(keep)
    if null_diff:  # report where the null patterns first differ
        worst = int(kept[np.flatnonzero(null_a != null_b)[0]])
    else:
        worst = int(kept[np.flatnonzero(both)[int(rel.argmax())]]) if len(rel) else None
    fo, ft = first_non_null(ours), first_non_null(ref)
    ok = null_diff == 0 and fo == ft and max_rel <= TOL
    return dict(compared=int(np.count_nonzero(both)), skipped=int(np.count_nonzero(skip)),
                max_rel=max_rel, worst=worst, null_diff=null_diff, first_ours=fo,
                first_ta=ft, ok=ok)


def read_fields_csv(path: str) -> pd.DataFrame:
    # round_trip: F4 floats are repr text; pandas' default parser is not correctly rounded.
    cols = ["symbol"] + OHLCV + FIELDS
    return pd.read_csv(path, usecols=cols, dtype={c: np.float64 for c in cols if c != "symbol"},
                       keep_default_na=False, na_values=[""], float_precision="round_trip")


def check_file(path: str) -> bool:
    df = read_fields_csv(path)
    all_ok = True
    for symbol, g in df.groupby("symbol", sort=False):
        o, h, l, c, v = (g[k].to_numpy(np.float64) for k in OHLCV)
        ta, skip = talib_fields(o, h, l, c, v)
        print(f"\n{path}  symbol={symbol}  bars={len(g)}")
        print(f"{'field':<18} {'compared':>8} {'skip':>5} {'max rel err':>11} "
              f"{'first ours/TA':>13} {'nulls≠':>6}  result")
        for name in FIELDS:
            r = compare(g[name].to_numpy(np.float64), ta[name], skip[name])
            all_ok &= r["ok"]
            first = f"{r['first_ours']}/{r['first_ta']}"
            worst = ""
            if not r["ok"] and r["worst"] is not None:
                what = "first null mismatch" if r["null_diff"] else "worst"
                worst = f"  ({what} at bar {r['worst']})"
            print(f"{name:<18} {r['compared']:>8} {r['skipped']:>5} {r['max_rel']:>11.2e} "
                  f"{first:>13} {r['null_diff']:>6}  {'PASS' if r['ok'] else 'FAIL'}{worst}")
        skipped = {k: int(m.sum()) for k, m in skip.items() if m.any()}
        if skipped:
            print("skipped (documented spec deviations from TA-Lib, see module doc): "
                  + ", ".join(f"{k} {n} bars" for k, n in skipped.items()))
        else:
            print("skipped: none (no degenerate case of F2.6/F3.13 in this series)")
    return all_ok


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 2
    ta_c = talib.__ta_version__.decode() if isinstance(talib.__ta_version__, bytes) else str(talib.__ta_version__)
    print(f"TA-Lib C {ta_c}, python ta-lib {talib.__version__}; tolerance {TOL:g} (F5.2)")
    if int(ta_c.split(".")[0]) == 0 and int(ta_c.split(".")[1]) < 8:
        print("error: TA-Lib C < 0.8 uses 1e-8 zero thresholds (F2.6); install ta-lib>=0.8.2")
        return 2
    ok = True
    for path in argv:
        ok &= check_file(path)
    print("\nALL PASS" if ok else "\nSOME FIELDS FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
