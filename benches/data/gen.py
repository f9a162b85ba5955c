#!/usr/bin/env python3
"""Deterministic benchmark data for candlestore and its peers.

Writes (zstd Parquet, rows sorted by symbol, datetime):
  daily_ohlcv / daily_full     500 synthetic symbols x 20 years of weekdays (~2.6M rows)
  minute_ohlcv / minute_full   50 synthetic symbols x 60 weekdays x 390 one-minute bars
  sp500_ohlcv / sp500_full     the real S&P 500 5-year file (shared/data/daily)

The *_full files have the 97 columns of shared/spec/fields.md F1 (names, order, types,
nullability, warm-up nulls). Derived fields are plausible, not reference-exact: they are computed
with cheap numpy versions of the indicators so that they have the entropy of real indicator
series (storage size per row is a benchmark measure), not white noise or constants.

Every random draw comes from a generator seeded by (SEED, table, symbol index), so the output
is byte-identical between runs, and --quick (10%) writes a prefix of the symbols of the full set.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import zlib
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numpy.lib.stride_tricks import sliding_window_view

SEED = 20240601
SP500_CSV = "/work/shared/data/daily/all_stocks_5yr_shared.csv.gz"
# One constant ingest batch: all lineage timestamps and the batch id are the same on every row.
BATCH_TS_US = int(dt.datetime(2025, 1, 2, 6, 0, tzinfo=dt.timezone.utc).timestamp() * 1_000_000)
BATCH_ID = "01JGM3Z8Q4V5R6S7T8W9X0Y1Z2"
TS = pa.timestamp("us", tz="UTC")
D32 = pa.dictionary(pa.int32(), pa.string())
D8 = pa.dictionary(pa.int8(), pa.string())

SECTORS = {
    "Communication Services": ["Media", "Entertainment", "Diversified Telecommunication Services"],
    "Consumer Discretionary": ["Specialty Retail", "Automobiles", "Hotels, Restaurants & Leisure"],
    "Consumer Staples": ["Beverages", "Food Products", "Household Products"],
    "Energy": ["Oil, Gas & Consumable Fuels", "Energy Equipment & Services"],
    "Financials": ["Banks", "Capital Markets", "Insurance"],
    "Health Care": ["Pharmaceuticals", "Biotechnology", "Health Care Equipment & Supplies"],
    "Industrials": ["Aerospace & Defense", "Machinery", "Ground Transportation"],
    "Information Technology": ["Software", "Semiconductors & Semiconductor Equipment",
                               "Technology Hardware, Storage & Peripherals"],
    "Materials": ["Chemicals", "Metals & Mining", "Containers & Packaging"],
    "Real Estate": ["Specialized REITs", "Residential REITs", "Real Estate Management & Development"],
    "Utilities": ["Electric Utilities", "Multi-Utilities", "Water Utilities"],
}
SECTOR_NAMES = list(SECTORS)
INDUSTRY_NAMES = [i for s in SECTOR_NAMES for i in SECTORS[s]]
EXCHANGES = ["NYSE", "NASDAQ"]
MICS = ["XNYS", "XNAS"]
LEVELS = ["low", "normal", "high"]
TRENDS = ["up", "down", "sideways"]

# F1: (name, type code, nullable, i0). i0 is the first non-null bar of a series (warm-up);
# "vw" marks vwap_weekly, whose i0 is the first bar of the 5th session.
F1 = [
    ("datetime", "TS", False, 0), ("symbol", "D32", False, 0), ("open", "F64", False, 0),
    ("high", "F64", False, 0), ("low", "F64", False, 0), ("close", "F64", False, 0),
    ("volume", "F64", False, 0), ("sector", "D32", True, 0), ("industry", "D32", True, 0),
    ("market_cap", "F64", True, 0), ("exchange", "D32", True, 0), ("mic_code", "D32", True, 0),
    ("currency", "D32", True, 0), ("country", "D32", True, 0), ("type", "D32", True, 0),
    ("created_at", "TS", False, 0), ("rsi", "F64", True, 14), ("macd", "F64", True, 33),
    ("macd_signal", "F64", True, 33), ("macd_hist", "F64", True, 33), ("roc", "F64", True, 10),
    ("momentum", "F64", True, 10), ("stoch_k", "F64", True, 17), ("stoch_d", "F64", True, 17),
    ("williams_r", "F64", True, 13), ("sma_20", "F64", True, 19), ("sma_50", "F64", True, 49),
    ("sma_200", "F64", True, 199), ("ema_12", "F64", True, 11), ("ema_26", "F64", True, 25),
    ("ema_50", "F64", True, 49), ("ema_200", "F64", True, 199), ("kama", "F64", True, 10),
    ("tema", "F64", True, 87), ("trix", "F64", True, 88), ("bb_upper", "F64", True, 19),
    ("bb_middle", "F64", True, 19), ("bb_lower", "F64", True, 19),
    ("bb_bandwidth", "F64", True, 19), ("adx", "F64", True, 27), ("plus_di", "F64", True, 14),
    ("minus_di", "F64", True, 14), ("atr", "F64", True, 14), ("supertrend", "F64", True, 10),
    ("supertrend_direction", "I8", True, 10), ("obv", "F64", True, 0), ("pvo", "F64", True, 25),
    ("pvo_signal", "F64", True, 33), ("cci", "F64", True, 19), ("ppo", "F64", True, 25),
    ("mfi", "F64", True, 14), ("cmf", "F64", True, 19), ("ichimoku_tenkan", "F64", True, 8),
    ("ichimoku_kijun", "F64", True, 25), ("ichimoku_senkou_a", "F64", True, 25),
    ("ichimoku_senkou_b", "F64", True, 51), ("ichimoku_chikou", "F64", True, 26),
    ("vwap_daily", "F64", True, 0), ("vwap_weekly", "F64", True, "vw"),
    ("volume_profile_poc", "F64", True, 19), ("volume_profile_vah", "F64", True, 19),
    ("volume_profile_val", "F64", True, 19), ("return_1d", "F64", True, 1),
    ("return_5d", "F64", True, 5), ("return_20d", "F64", True, 20),
    ("price_to_sma20", "F64", True, 19), ("price_to_sma50", "F64", True, 49),
    ("price_to_sma200", "F64", True, 199), ("rsi_delta", "F64", True, 15),
    ("macd_delta", "F64", True, 34), ("volume_ratio_20d", "F64", True, 19),
    ("volatility_20d", "F64", True, 20), ("price_momentum_5d", "F64", True, 5),
    ("obv_slope_5d", "F64", True, 4), ("bb_percent", "F64", True, 19),
    ("atr_percent", "F64", True, 14), ("volume_spike", "F64", True, 19),
    ("price_range", "F64", False, 0), ("high_low_spread", "F64", True, 0),
    ("higher_high", "BOOL", True, 1), ("lower_low", "BOOL", True, 1),
    ("trend_strength", "F64", True, 19), ("regime_volatility", "D8", True, 271),
    ("regime_trend", "D8", True, 27), ("regime_volume", "D8", True, 270),
    ("updated_at", "TS", False, 0), ("source", "D32", False, 0), ("revision", "I32", False, 0),
    ("is_validated", "BOOL", False, 0), ("quality_score", "F64", False, 0),
    ("validation_notes", "D32", False, 0), ("gap_detected", "BOOL", False, 0),
    ("volume_anomaly", "BOOL", False, 0), ("data_completeness", "F64", False, 0),
    ("fetched_at", "TS", False, 0), ("computed_at", "TS", False, 0), ("batch_id", "D32", False, 0),
]
assert len(F1) == 97
ARROW_TYPES = {"TS": TS, "F64": pa.float64(), "D32": D32, "D8": D8, "BOOL": pa.bool_(),
               "I8": pa.int8(), "I32": pa.int32()}
FULL_SCHEMA = pa.schema([pa.field(n, ARROW_TYPES[t], nullable=nl) for n, t, nl, _ in F1])
OHLCV_SCHEMA = pa.schema([
    pa.field("symbol", pa.string(), False), pa.field("datetime", TS, False),
    *[pa.field(c, pa.float64(), False) for c in ("open", "high", "low", "close", "volume")],
    pa.field("sector", pa.string()), pa.field("exchange", pa.string()),
])


def rng_for(table: str, index: int) -> np.random.Generator:
    # Stable per-(table, symbol) stream: a subset of symbols (--quick) draws the same numbers.
    return np.random.default_rng([SEED, zlib.crc32(table.encode()), index])


# --------------------------------------------------------------------------------------------
# Rolling primitives on 2-D arrays (symbols x bars). Series are left-aligned: bar 0 of every
# symbol is column 0, so each value only uses columns <= t; padded tails are dropped on output.

def shift(x, k):
    out = np.full_like(x, np.nan)
    out[:, k:] = x[:, :-k]
    return out


def roll_sum(x, n):
    # NaNs count as 0 so the cumulative sum recovers after a warm-up; the i0 mask nulls those.
    cs = np.cumsum(np.nan_to_num(x), axis=1)
    out = np.full_like(cs, np.nan)
    out[:, n - 1] = cs[:, n - 1]
    out[:, n:] = cs[:, n:] - cs[:, :-n]
    return out


def sma(x, n):
    return roll_sum(x, n) / n


def roll_std(x, n, ddof=0):
    m = sma(x, n)
    var = (roll_sum(x * x, n) - n * m * m) / (n - ddof)
    return np.sqrt(np.maximum(var, 0.0))


def roll_window(x, n, fn):
    out = np.full_like(x, np.nan)
    out[:, n - 1:] = fn(sliding_window_view(x, n, axis=1), axis=2)
    return out


def recursive(x, alpha):
    """Exponential smoothing along bars; a NaN state (re)seeds from the next input."""
    xt = np.ascontiguousarray(x.T)
    out = np.empty_like(xt)
    prev = np.full(xt.shape[1], np.nan)
    for t in range(xt.shape[0]):
        prev = np.where(np.isnan(prev), xt[t], prev + alpha * (xt[t] - prev))
        out[t] = prev
    return out.T


def ema(x, n):
    return recursive(x, 2.0 / (n + 1))


def wilder(x, n):
    return recursive(x, 1.0 / n)


def div(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / b, np.nan)


def seg_cumsum(x, key):
    """Cumulative sum that restarts where `key` changes along bars (sessions, weeks)."""
    cs = np.cumsum(x, axis=1)
    start = np.ones_like(key, dtype=bool)
    start[:, 1:] = key[:, 1:] != key[:, :-1]
    idx = np.where(start, np.arange(key.shape[1])[None, :], 0)
    idx = np.maximum.accumulate(idx, axis=1)
    base = np.take_along_axis(cs, idx, axis=1) - np.take_along_axis(x, idx, axis=1)
    return cs - base


def pct_rank_level(x, n=252):
    """F3.15 mid-rank percentile over n bars -> 0 low / 1 normal / 2 high (-1 = not enough)."""
    out = np.full(x.shape, -1, dtype=np.int8)
    if x.shape[1] < n:
        return out
    for s in range(x.shape[0]):  # one symbol at a time keeps the (T, n) temporaries small
        w = sliding_window_view(x[s], n)
        cur = w[:, -1:]
        tol = 1e-9 * np.abs(cur)
        q = 2 * (w < cur - tol).sum(1) + (np.abs(w - cur) <= tol).sum(1)
        lvl = np.where(q < 126, 0, np.where(q > 378, 2, 1)).astype(np.int8)
        lvl[np.isnan(w).any(1)] = -1
        out[s, n - 1:] = lvl
    return out


# --------------------------------------------------------------------------------------------
# Derived fields

def derive(o, h, l, c, v, session, week):
    """All derived F1 fields as 2-D arrays (NaN / -1 where undefined)."""
    f = {}
    prev_c = shift(c, 1)
    d = c - prev_c
    ag, al = wilder(np.maximum(d, 0), 14), wilder(np.maximum(-d, 0), 14)
    f["rsi"] = 100 - 100 / (1 + div(ag, al))
    e12, e26 = ema(c, 12), ema(c, 26)
    f["macd"] = e12 - e26
    macd_in = f["macd"].copy()
    macd_in[:, :25] = np.nan  # the signal line starts where the MACD line does (F2.3)
    f["macd_signal"] = ema(macd_in, 9)
    f["macd_hist"] = f["macd"] - f["macd_signal"]
    c10 = shift(c, 10)
    f["roc"] = (div(c, c10) - 1) * 100
    f["momentum"] = c - c10
    hh14, ll14 = roll_window(h, 14, np.max), roll_window(l, 14, np.min)
    fast_k = 100 * div(c - ll14, hh14 - ll14)
    f["stoch_k"] = sma(fast_k, 3)
    f["stoch_d"] = sma(f["stoch_k"], 3)
    f["williams_r"] = -100 * div(hh14 - c, hh14 - ll14)
    for n in (20, 50, 200):
        f[f"sma_{n}"] = sma(c, n)
    f["ema_12"], f["ema_26"] = e12, e26
    f["ema_50"], f["ema_200"] = ema(c, 50), ema(c, 200)
    # KAMA: efficiency ratio drives the smoothing constant, recursively.
    er = div(np.abs(c - c10), roll_sum(np.abs(d), 10))
    sc = (np.nan_to_num(er) * (2 / 3 - 2 / 31) + 2 / 31) ** 2
    kt, ct = np.ascontiguousarray(sc.T), np.ascontiguousarray(c.T)
    kama = np.empty_like(ct)
    kama[0] = ct[0]
    for t in range(1, ct.shape[0]):
        kama[t] = kama[t - 1] + kt[t] * (ct[t] - kama[t - 1])
    f["kama"] = kama.T
    t1 = ema(c, 30)
    t2 = ema(t1, 30)
    t3 = ema(t2, 30)
    f["tema"] = 3 * t1 - 3 * t2 + t3
    f["trix"] = (div(t3, shift(t3, 1)) - 1) * 100
    mid, sd = f["sma_20"], roll_std(c, 20)
    f["bb_upper"], f["bb_middle"], f["bb_lower"] = mid + 2 * sd, mid, mid - 2 * sd
    f["bb_bandwidth"] = div(4 * sd, mid) * 100
    tr = np.maximum(h - l, np.maximum(np.abs(h - prev_c), np.abs(l - prev_c)))
    tr[:, 0] = h[:, 0] - l[:, 0]
    up, dn = h - shift(h, 1), shift(l, 1) - l
    pdm = np.where((up > dn) & (up > 0), up, 0.0)
    mdm = np.where((dn > up) & (dn > 0), dn, 0.0)
    atr = wilder(tr, 14)
    f["plus_di"] = 100 * div(wilder(pdm, 14), atr)
    f["minus_di"] = 100 * div(wilder(mdm, 14), atr)
    dx = 100 * div(np.abs(f["plus_di"] - f["minus_di"]), f["plus_di"] + f["minus_di"])
    f["adx"] = wilder(dx, 14)
    f["atr"] = atr
    # Supertrend (3, 10): final bands ratchet, direction flips when close crosses a band.
    hl2, atr10 = np.ascontiguousarray(((h + l) / 2).T), np.ascontiguousarray(wilder(tr, 10).T)
    ct = np.ascontiguousarray(c.T)
    bu, bl = hl2 + 3 * atr10, hl2 - 3 * atr10
    st, sdir = np.empty_like(ct), np.empty(ct.shape, dtype=np.int8)
    fu, fl, dirn = bu[0].copy(), bl[0].copy(), np.ones(ct.shape[1], dtype=np.int8)
    for t in range(ct.shape[0]):
        if t:
            fu = np.where((bu[t] < fu) | (ct[t - 1] > fu), bu[t], fu)
            fl = np.where((bl[t] > fl) | (ct[t - 1] < fl), bl[t], fl)
            dirn = np.where(ct[t] > fu, 1, np.where(ct[t] < fl, -1, dirn)).astype(np.int8)
        st[t] = np.where(dirn > 0, fl, fu)
        sdir[t] = dirn
    f["supertrend"], f["supertrend_direction"] = st.T, sdir.T
    obv = np.cumsum(np.sign(np.nan_to_num(d)) * v, axis=1)
    f["obv"] = obv
    ve12, ve26 = ema(v, 12), ema(v, 26)
    f["pvo"] = div(ve12 - ve26, ve26) * 100
    f["pvo_signal"] = ema(f["pvo"], 9)
    tp = (h + l + c) / 3
    tp_m = sma(tp, 20)
    mad = roll_window(tp, 20, lambda w, axis: np.abs(w - w.mean(axis, keepdims=True)).mean(axis))
    f["cci"] = div(tp - tp_m, 0.015 * mad)
    f["ppo"] = div(e12 - e26, e26) * 100
    mf = tp * v
    dtp = tp - shift(tp, 1)
    pos, neg = roll_sum(np.where(dtp > 0, mf, 0), 14), roll_sum(np.where(dtp < 0, mf, 0), 14)
    f["mfi"] = 100 * div(pos, pos + neg)
    mfm = div((c - l) - (h - c), h - l)
    f["cmf"] = div(roll_sum(np.nan_to_num(mfm) * v, 20), roll_sum(v, 20))
    mid_price = lambda n: (roll_window(h, n, np.max) + roll_window(l, n, np.min)) / 2  # noqa: E731
    f["ichimoku_tenkan"], f["ichimoku_kijun"] = mid_price(9), mid_price(26)
    f["ichimoku_senkou_a"] = (f["ichimoku_tenkan"] + f["ichimoku_kijun"]) / 2
    f["ichimoku_senkou_b"] = mid_price(52)
    f["ichimoku_chikou"] = shift(c, 26)
    f["vwap_daily"] = div(seg_cumsum(tp * v, session), seg_cumsum(v, session))
    f["vwap_weekly"] = div(seg_cumsum(tp * v, week), seg_cumsum(v, week))
    # Volume profile: 24 bins over the 20-bar range; POC near the volume-weighted price.
    hi20, lo20 = roll_window(h, 20, np.max), roll_window(l, 20, np.min)
    width = (hi20 - lo20) / 24
    vw20 = div(roll_sum(tp * v, 20), roll_sum(v, 20))
    poc_bin = np.clip(np.floor(np.nan_to_num(div(vw20 - lo20, width))), 0, 23)
    f["volume_profile_poc"] = lo20 + (poc_bin + 0.5) * width
    f["volume_profile_vah"] = np.minimum(f["volume_profile_poc"] + 8.5 * width, hi20)
    f["volume_profile_val"] = np.maximum(f["volume_profile_poc"] - 8.5 * width, lo20)
    for n, name in ((1, "return_1d"), (5, "return_5d"), (20, "return_20d")):
        f[name] = div(c, shift(c, n)) - 1
    for n in (20, 50, 200):
        f[f"price_to_sma{n}"] = div(c, f[f"sma_{n}"]) - 1
    f["rsi_delta"] = f["rsi"] - shift(f["rsi"], 1)
    f["macd_delta"] = f["macd"] - shift(f["macd"], 1)
    vs20 = sma(v, 20)
    f["volume_ratio_20d"] = div(v, vs20)
    f["volatility_20d"] = roll_std(f["return_1d"], 20, ddof=1)
    f["price_momentum_5d"] = c - shift(c, 5)
    f["obv_slope_5d"] = roll_window(obv, 5, lambda w, axis: w @ np.array([-2, -1, 0, 1, 2]) / 10)
    f["bb_percent"] = div(c - f["bb_lower"], f["bb_upper"] - f["bb_lower"])
    f["atr_percent"] = div(atr, c) * 100
    f["volume_spike"] = div(v - vs20, roll_std(v, 20, ddof=1))
    f["price_range"] = h - l
    f["high_low_spread"] = div(h - l, c)
    f["higher_high"] = h > shift(h, 1)
    f["lower_low"] = l < shift(l, 1)
    x = np.arange(20) - 9.5
    sxy = roll_window(c, 20, lambda w, axis: w @ x)
    syy = roll_std(c, 20) ** 2 * 20
    r = div(sxy, np.sqrt(665 * syy))
    f["trend_strength"] = np.where(syy > 0, r * np.abs(r), 0.0)
    f["regime_volatility"] = pct_rank_level(f["volatility_20d"])
    f["regime_volume"] = pct_rank_level(roll_sum(v, 20))
    strong = f["adx"] >= 25
    f["regime_trend"] = np.where(strong & (f["plus_di"] > f["minus_di"]), 0,
                                 np.where(strong & (f["minus_di"] > f["plus_di"]), 1, 2)).astype(np.int8)
    # Audit checks (F3.16), in their exact written form.
    gap = np.abs(o - prev_c) > 0.10 * prev_c
    gap[:, 0] = False
    med = np.full_like(v, np.nan)
    med[:, 20:] = np.median(sliding_window_view(v, 20, axis=1)[:, :-1], axis=2)
    anom = (med > 0) & ((v > 10 * med) | (v < 0.1 * med))
    invalid = ~((o > 0) & (h > 0) & (l > 0) & (c > 0) & (v >= 0) & (l <= h)
                & (h >= np.maximum(o, c)) & (l <= np.minimum(o, c)))
    f["gap_detected"], f["volume_anomaly"], f["_invalid"] = gap, anom, invalid
    return f


# --------------------------------------------------------------------------------------------
# Arrow assembly

def dict_array(indices, values, itype=pa.int32(), mask=None):
    return pa.DictionaryArray.from_arrays(pa.array(indices, type=itype, mask=mask), pa.array(values))


def full_batch(b, f, valid, vw_i0, source):
    """One record batch of 97-column rows from 2-D arrays; `valid` selects real bars."""
    S, T = valid.shape
    tpos = np.broadcast_to(np.arange(T)[None, :], (S, T))[valid]
    sym_row = np.broadcast_to(np.arange(S)[:, None], (S, T))[valid]
    n = int(valid.sum())
    cols, nulls = {}, {}
    meta = b["meta"]
    for name, typ, nullable, i0 in F1:
        if i0 == "vw":
            i0 = vw_i0
        warm = tpos < i0 if nullable else np.zeros(n, dtype=bool)
        if name == "datetime":
            cols[name] = pa.array(b["ts"][valid], type=TS)
        elif name == "symbol":
            cols[name] = dict_array(sym_row.astype(np.int32), meta["symbol"])
        elif name in ("sector", "industry", "exchange", "mic_code"):
            vocab = {"sector": SECTOR_NAMES, "industry": INDUSTRY_NAMES,
                     "exchange": EXCHANGES, "mic_code": MICS}[name]
            cols[name] = dict_array(meta[name][sym_row].astype(np.int32), vocab)
        elif name in ("currency", "country", "type", "source", "validation_notes", "batch_id"):
            if name == "validation_notes":
                continue  # filled after the checks below
            value = {"currency": "USD", "country": "US", "type": "stock", "source": source,
                     "batch_id": BATCH_ID}[name]
            cols[name] = dict_array(np.zeros(n, np.int32), [value])
        elif name == "market_cap":  # instrument master: one value per symbol (F3.1)
            cols[name] = pa.array(meta["market_cap"][sym_row])
        elif name in ("open", "high", "low", "close", "volume"):
            cols[name] = pa.array(b[name][valid])
        elif typ == "TS":
            cols[name] = pa.array(np.full(n, BATCH_TS_US, dtype=np.int64), type=TS)
        elif name == "revision":
            cols[name] = pa.array(np.ones(n, np.int32))
        elif name in ("is_validated", "quality_score", "data_completeness"):
            continue
        elif typ == "D8":
            idx = f[name][valid]
            mask = warm | (idx < 0)
            if name == "regime_volume":  # F3.15: null if SUM(v,20) <= 0
                mask |= np.nan_to_num(roll_sum(b["volume"], 20))[valid] <= 0
            cols[name] = dict_array(np.where(mask, 0, idx).astype(np.int8),
                                    TRENDS if name == "regime_trend" else LEVELS, pa.int8(), mask)
        elif typ in ("BOOL", "I8"):
            cols[name] = pa.array(f[name][valid], mask=warm if nullable else None,
                                  type=ARROW_TYPES[typ])
        else:
            x = f[name][valid]
            bad = warm | ~np.isfinite(x) if nullable else np.zeros(n, dtype=bool)
            cols[name] = pa.array(np.where(bad, 0.0, x), mask=bad if nullable else None)
    gap, anom, inv = (f[k][valid] for k in ("gap_detected", "volume_anomaly", "_invalid"))
    points = np.maximum(0, 100 - 50 * inv - 20 * gap - 10 * anom)
    cols["quality_score"] = pa.array(points / 100.0)
    cols["is_validated"] = pa.array(points >= 85)
    codes = inv.astype(int) * 4 + gap.astype(int) * 2 + anom.astype(int)
    notes = [";".join(x for x, on in zip(("ohlc_invalid", "price_gap", "volume_anomaly"),
                                          (k & 4, k & 2, k & 1)) if on) or "ok" for k in range(8)]
    cols["validation_notes"] = dict_array(codes.astype(np.int32), notes)
    per_row = np.ones(n, dtype=np.int64)  # data_completeness counts itself
    for k, arr in cols.items():
        per_row += ~np.asarray(arr.is_null())
    cols["data_completeness"] = pa.array(per_row / 97.0)
    return pa.record_batch([cols[name] for name, *_ in F1], schema=FULL_SCHEMA)


def ohlcv_batch(b, valid):
    meta = b["meta"]
    sym_row = np.broadcast_to(np.arange(valid.shape[0])[:, None], valid.shape)[valid]
    names = np.asarray(meta["symbol"], dtype=object)
    return pa.record_batch([
        pa.array(names[sym_row], pa.string()), pa.array(b["ts"][valid], type=TS),
        *[pa.array(b[k][valid]) for k in ("open", "high", "low", "close", "volume")],
        pa.array(np.asarray(SECTOR_NAMES, dtype=object)[meta["sector"][sym_row]], pa.string()),
        pa.array(np.asarray(EXCHANGES, dtype=object)[meta["exchange"][sym_row]], pa.string()),
    ], schema=OHLCV_SCHEMA)


# --------------------------------------------------------------------------------------------
# Sources: synthetic random walks and the real S&P 500 file

def instrument_meta(table, names):
    sector = np.empty(len(names), np.int64)
    industry, exchange, mcap = np.empty_like(sector), np.empty_like(sector), np.empty(len(names))
    for i, name in enumerate(names):
        r = rng_for(table + ":meta", zlib.crc32(name.encode()))
        sector[i] = r.integers(len(SECTOR_NAMES))
        inds = SECTORS[SECTOR_NAMES[sector[i]]]
        industry[i] = INDUSTRY_NAMES.index(inds[r.integers(len(inds))])
        exchange[i] = r.integers(2)
        mcap[i] = round(float(np.exp(r.normal(23.5, 1.2))), -6)
    return {"symbol": list(names), "sector": sector, "industry": industry,
            "exchange": exchange, "mic_code": exchange, "market_cap": mcap}


def round_price(p):
    return np.where(p < 1, np.round(p, 4), np.round(p, 2))


def synth_bars(table, first, count, T, bars_per_day):
    """OHLCV random walks for symbols first..first+count-1 (geometric, fat-tailed)."""
    S = count
    o, h, l, c, v = (np.empty((S, T)) for _ in range(5))
    for j in range(S):
        r = rng_for(table, first + j)
        sig_d = r.uniform(0.010, 0.030)  # daily volatility
        sig = sig_d / np.sqrt(bars_per_day)
        mu = r.normal(0.0003, 0.0002) / bars_per_day
        ret = mu + sig * r.standard_t(5, T) * np.sqrt(3 / 5)
        gap = sig * 0.3 * r.standard_normal(T)
        if bars_per_day > 1:  # overnight moves land on the first bar of each session
            gap[::bars_per_day] += sig_d * 0.4 * r.standard_normal(len(gap[::bars_per_day]))
        close = np.exp(r.normal(3.8, 0.8) + np.cumsum(ret))
        prev = np.concatenate([[close[0] * np.exp(-ret[0])], close[:-1]])
        op = prev * np.exp(gap)
        cl, op = round_price(close), round_price(op)
        wick = sig * 0.6
        h[j] = np.maximum(round_price(np.maximum(op, cl) * np.exp(np.abs(r.normal(0, wick, T)))),
                          np.maximum(op, cl))
        l[j] = np.minimum(round_price(np.minimum(op, cl) * np.exp(-np.abs(r.normal(0, wick, T)))),
                          np.minimum(op, cl))
        o[j], c[j] = op, cl
        # Volume: persistent log-level, more volume on big moves, U-shaped intraday profile.
        lvl = np.empty(T)
        e = r.normal(0, 0.35, T)
        acc = 0.0
        for t in range(T):  # AR(1) in a plain loop: T <= 23,400 per symbol
            acc = 0.9 * acc + e[t]
            lvl[t] = acc
        base = r.normal(13.5, 1.0) - np.log(bars_per_day) + 0.5
        shape = 0.0
        if bars_per_day > 1:
            m = np.arange(T) % bars_per_day
            shape = 1.2 * ((m - (bars_per_day - 1) / 2) / (bars_per_day / 2)) ** 2
        v[j] = np.round(np.exp(base + lvl * 0.5 + shape + 8 * np.abs(ret - mu)))
    return {"open": o, "high": h, "low": l, "close": c, "volume": v}


def weekdays(start, count):
    out, d = [], start
    while len(out) < count:
        if d.weekday() < 5:
            out.append(d)
        d += dt.timedelta(days=1)
    return out


def epoch_us(d):
    return int(d.timestamp() * 1_000_000)


def week_key(days_since_epoch):
    return (days_since_epoch + 3) // 7  # 1970-01-01 was a Thursday: weeks start on Monday


# --------------------------------------------------------------------------------------------
# Writers

class Out:
    """ParquetWriters for the _ohlcv and _full files of one dataset."""

    def __init__(self, out_dir, name):
        self.name, self.rows = name, 0
        opts = dict(compression="zstd", write_statistics=True)
        self.ohlcv = pq.ParquetWriter(os.path.join(out_dir, f"{name}_ohlcv.parquet"), OHLCV_SCHEMA, **opts)
        self.full = pq.ParquetWriter(os.path.join(out_dir, f"{name}_full.parquet"), FULL_SCHEMA, **opts)

    def write(self, b, valid, session, week, vw_i0, source):
        f = derive(b["open"], b["high"], b["low"], b["close"], b["volume"], session, week)
        self.ohlcv.write_batch(ohlcv_batch(b, valid), row_group_size=1 << 20)
        self.full.write_batch(full_batch(b, f, valid, vw_i0, source), row_group_size=1 << 17)
        self.rows += int(valid.sum())

    def close(self):
        self.ohlcv.close()
        self.full.close()
        print(f"{self.name}: {self.rows:,} rows -> {self.name}_ohlcv.parquet, {self.name}_full.parquet",
              flush=True)


def gen_daily(out_dir, n_sym, chunk=100):
    dates = weekdays(dt.date(2005, 1, 3), 20 * 261)  # 20 years of weekdays (5,220 bars)
    days = np.array([(d - dt.date(1970, 1, 1)).days for d in dates], dtype=np.int64)
    T, w = len(dates), Out(out_dir, "daily")
    names = [f"S{i:04d}" for i in range(n_sym)]
    for first in range(0, n_sym, chunk):
        count = min(chunk, n_sym - first)
        b = synth_bars("daily", first, count, T, 1)
        b["meta"] = instrument_meta("daily", names[first:first + count])
        b["ts"] = np.broadcast_to(days * 86_400_000_000, (count, T))
        sess = np.broadcast_to(days, (count, T))
        w.write(b, np.ones((count, T), bool), sess, week_key(sess), 4, "synthetic")
    w.close()


def gen_minute(out_dir, n_sym, chunk=10):
    ny = ZoneInfo("America/New_York")
    dates = weekdays(dt.date(2024, 1, 2), 60)
    ts = np.array([epoch_us(dt.datetime(d.year, d.month, d.day, 9, 30, tzinfo=ny)) + m * 60_000_000
                   for d in dates for m in range(390)], dtype=np.int64)
    days = np.repeat([(d - dt.date(1970, 1, 1)).days for d in dates], 390)
    T, w = len(ts), Out(out_dir, "minute")
    names = [f"M{i:03d}" for i in range(n_sym)]
    for first in range(0, n_sym, chunk):
        count = min(chunk, n_sym - first)
        b = synth_bars("minute", first, count, T, 390)
        b["meta"] = instrument_meta("minute", names[first:first + count])
        b["ts"] = np.broadcast_to(ts, (count, T))
        sess = np.broadcast_to(days, (count, T))  # NY session date = trading date here
        w.write(b, np.ones((count, T), bool), sess, week_key(sess), 4 * 390, "synthetic")
    w.close()


def gen_sp500(out_dir, fraction, chunk=100):
    t = pacsv.read_csv(SP500_CSV, convert_options=pacsv.ConvertOptions(column_types={
        "date": pa.date32(), "open": pa.float64(), "high": pa.float64(), "low": pa.float64(),
        "close": pa.float64(), "volume": pa.float64(), "Name": pa.string()}))
    ok = pc.and_(pc.and_(pc.is_valid(t["open"]), pc.is_valid(t["high"])),
                 pc.and_(pc.is_valid(t["low"]), pc.is_valid(t["close"])))
    t = t.filter(ok).sort_by([("Name", "ascending"), ("date", "ascending")])
    names_all = t["Name"].to_numpy(zero_copy_only=False)
    days_all = t["date"].cast(pa.int32()).to_numpy().astype(np.int64)
    syms, starts, lens = np.unique(names_all, return_index=True, return_counts=True)
    keep = max(1, int(round(len(syms) * fraction)))
    cols = {k: t[k].to_numpy(zero_copy_only=False).astype(np.float64)
            for k in ("open", "high", "low", "close", "volume")}
    vol_nan = np.isnan(cols["volume"])
    cols["volume"][vol_nan] = 0.0  # a missing volume is the only gap left: treat as no trades
    w = Out(out_dir, "sp500")
    for first in range(0, keep, chunk):
        sel = range(first, min(first + chunk, keep))
        S, T = len(sel), int(lens[first:first + len(sel)].max())
        valid = np.arange(T)[None, :] < lens[list(sel)][:, None]
        b = {k: np.full((S, T), np.nan) for k in cols}
        days = np.zeros((S, T), np.int64)
        for j, s in enumerate(sel):
            rows = slice(starts[s], starts[s] + lens[s])
            for k in cols:
                b[k][j, :lens[s]] = cols[k][rows]
            days[j, :lens[s]] = days_all[rows]
            # Pad tails by repeating the last bar so windows stay finite; pads are dropped.
            for k in cols:
                b[k][j, lens[s]:] = b[k][j, lens[s] - 1]
            days[j, lens[s]:] = days[j, lens[s] - 1] + 1 + np.arange(T - lens[s])
        b["meta"] = instrument_meta("sp500", [str(syms[s]) for s in sel])
        b["ts"] = days * 86_400_000_000
        w.write(b, valid, days, week_key(days), 4, "csv:sp500")
    w.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true", help="10%% of the symbols (CI smoke runs)")
    ap.add_argument("--only", choices=["daily", "minute", "sp500"], action="append")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    frac = 0.1 if args.quick else 1.0
    todo = args.only or ["daily", "minute", "sp500"]
    if "daily" in todo:
        gen_daily(args.out, int(500 * frac))
    if "minute" in todo:
        gen_minute(args.out, int(50 * frac))
    if "sp500" in todo:
        gen_sp500(args.out, frac)
    return 0


if __name__ == "__main__":
    sys.exit(main())
