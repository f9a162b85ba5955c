#!/usr/bin/env python3
"""StockCharts sheets vs this spec's definitions (shared/spec/fields.md), computed with TA-Lib.

    python testdata/stockcharts/verify.py            # check the fixtures in this folder
    python testdata/stockcharts/verify.py --regen    # rewrite them from shared/data/stockcharts

For each fixture and field it prints, over the rows where the sheet prints a value:
  * spec:   TA-Lib with the spec's definition (F1 `TA:` peer) vs the printed value; a row
            matches if abs(ours - printed) <= 0.5 * 10^-d, d = decimals printed in that cell
            (x(1 + 1e-9) for binary rounding). `from` = first row (0-based bar index) from which
            every later printed row matches; err/tol = max abs(diff) / (0.5 * 10^-d) there.
  * replay: the sheet's own seeding replayed in numpy (F5.1: "replaying their seeds
            reproduces them"), err/tol over every printed row.
Exit status 1 if a fixture differs from what --regen would write, or if a replay does not
reproduce its sheet (both would mean the fixture or this script is wrong, not the engine).
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import math
import os
import sys

import numpy as np
import talib

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "data", "stockcharts"))
SLACK = 1 + 1e-9
# Tolerance in half-units of the last printed decimal, where the sheet computed a value from
# other printed (rounded) values: cs-soo averages %K values rounded to 6 decimals.
TOL_UNITS = {("stoch", "stoch_k"): 2.0}

# name -> (source file, date format, {fixture column: sheet column}, {our field: sheet column})
SHEETS = {
    "rsi": ("cs-rsi.csv", "%d-%b-%y", {"close": "Close"}, {"rsi": "RSI"}),
    # StockCharts' own RSI example as kept by PyAlgoTrade (same closes as cs-rsi, whose dates
    # it takes; normalise() checks the closes are identical).
    "rsi-chartschool": ("../indicator-reference/pyalgotrade/rsi-test.csv", None,
                        {"close": "Input"}, {"rsi": "Expected"}),
    "macd": ("cs-macd.csv", "%d-%b-%y", {"close": "Close"},
             {"ema_12": "short_ema", "ema_26": "long_ema", "macd": "MACD_line",
              "macd_signal": "MACD_signal", "macd_hist": "MACD_diff"}),
    "kama": ("cs-kama.csv", "%d/%m/%Y", {"close": "Close"}, {"kama": "KAMA"}),
    "cci": ("cs-cci.csv", "%d-%b-%y",
            {"open": "Open", "high": "High", "low": "Low", "close": "Close"}, {"cci": "CCI"}),
    "atr": ("cs-atr.csv", "%d-%b-%y", {"high": "High", "low": "Low", "close": "Close"},
            {"atr": "ATR"}),
    "adx": ("cs-adx.csv", "%d-%b-%y", {"high": "High", "low": "Low", "close": "Close"},
            {"plus_di": "+DI14", "minus_di": "-DI14", "adx": "ADX"}),
    "obv": ("cs-obv.csv", "%d/%m/%Y", {"close": "Close", "volume": "Volume"}, {"obv": "OBV"}),
    "stoch": ("cs-soo.csv", "%d-%b-%y", {"high": "High", "low": "Low", "close": "Close"},
              {"stoch_k": "SO_SIG"}),
}
INPUTS = ["open", "high", "low", "close", "volume"]


# --------------------------------------------------------------------------------------------
# Normalisation (--regen)

def normalise(name: str) -> str:
    src, datefmt, inputs, expected = SHEETS[name]
    with open(os.path.join(SHARED, src), newline="") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    col = {h: i for i, h in enumerate(head) if h}
    if datefmt is None:  # rsi-chartschool: no dates; take cs-rsi's, after checking the closes
        with open(os.path.join(SHARED, "cs-rsi.csv"), newline="") as f:
            cs = list(csv.reader(f))[1:]
        assert [float(r[1]) for r in cs] == [float(r[0]) for r in rows[1:]], "closes differ"
        rows = [head] + [[c[0]] + r for c, r in zip(cs, rows[1:])]
        col = {h: i + 1 for i, h in enumerate(head)}
        datefmt = "%d-%b-%y"
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["date"] + INPUTS + list(expected))
    for r in rows[1:]:
        if not any(x.strip() for x in r):
            continue
        date = dt.datetime.strptime(r[0].strip(), datefmt).date().isoformat()
        vals = [r[col[inputs[k]]].strip() if k in inputs else "" for k in INPUTS]
        exp = [r[col[c]].strip() for c in expected.values()]
        if name == "atr":  # the sheet writes 0.0 for its warm-up ATR: no value
            exp = ["" if x and float(x) == 0.0 else x for x in exp]
        w.writerow([date] + vals + exp)
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# Spec values (TA-Lib, F1 `TA:` peers) and the sheets' own seeding replayed

def arr(fx: dict, k: str, fill: float | None = None) -> np.ndarray:
    x = np.array([float(v) if v != "" else np.nan for v in fx[k]])
    if fill is not None:
        x[np.isnan(x)] = fill
    return x


def spec_values(name: str, fx: dict) -> dict[str, np.ndarray]:
    c = arr(fx, "close")
    if name in ("rsi", "rsi-chartschool"):
        return {"rsi": talib.RSI(c, 14)}
    if name == "macd":
        m, s, h = talib.MACD(c, 12, 26, 9)
        return {"ema_12": talib.EMA(c, 12), "ema_26": talib.EMA(c, 26), "macd": m,
                "macd_signal": s, "macd_hist": h}
    if name == "kama":
        return {"kama": talib.KAMA(c, 10)}
    hi, lo = arr(fx, "high"), arr(fx, "low")
    if name == "cci":
        return {"cci": talib.CCI(hi, lo, c, 20)}
    if name == "atr":
        return {"atr": talib.ATR(hi, lo, c, 14)}
    if name == "adx":
        return {"plus_di": talib.PLUS_DI(hi, lo, c, 14), "minus_di": talib.MINUS_DI(hi, lo, c, 14),
                "adx": talib.ADX(hi, lo, c, 14)}
    if name == "obv":
        # The sheet has no volume on row 0; with v[0] = 0 the spec's obv[0] = v[0] is 0 too.
        return {"obv": talib.OBV(c, arr(fx, "volume", fill=0.0))}
    if name == "stoch":
        # Close is blank on rows 0..12; STOCH reads close only from row 13 (the first %K).
        c = np.where(np.isnan(c), (hi + lo) / 2, c)
        k, _d = talib.STOCH(hi, lo, c, 14, 3, 0, 3, 0)
        return {"stoch_k": k}
    raise KeyError(name)


def ema_from(x: np.ndarray, n: int, start: int, seed: float) -> np.ndarray:
    out = np.full_like(x, np.nan)
    out[start] = seed
    k = 2 / (n + 1)
    for t in range(start + 1, len(x)):
        out[t] = (x[t] - out[t - 1]) * k + out[t - 1]
    return out


def wilder_sums(x: np.ndarray, n: int, first: int) -> np.ndarray:
    """Wilder's running sums seeded with the plain sum of x[first-n+1..first] (n values)."""
    out = np.full_like(x, np.nan)
    out[first] = x[first - n + 1:first + 1].sum()
    for t in range(first + 1, len(x)):
        out[t] = out[t - 1] - out[t - 1] / n + x[t]
    return out


def replay(name: str, fx: dict, printed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    c = arr(fx, "close")
    if name == "rsi-chartschool":  # same seeding as the spec
        return spec_values(name, fx)
    if name == "rsi":  # Wilder averages seeded with 0 at row 0 (not the mean of 14 values)
        d = np.diff(c, prepend=np.nan)
        g, l = np.where(d > 0, d, 0.0), np.where(d < 0, -d, 0.0)
        ag, al = np.zeros_like(c), np.zeros_like(c)
        for t in range(1, len(c)):
            ag[t] = (ag[t - 1] * 13 + g[t]) / 14
            al[t] = (al[t - 1] * 13 + l[t]) / 14
        with np.errstate(invalid="ignore"):  # row 0: 0/0
            return {"rsi": 100 * ag / (ag + al)}
    if name == "macd":
        # EMAs seeded with c[0] at row 0; the signal line with the sheet's own row-2 value.
        e12, e26 = ema_from(c, 12, 0, c[0]), ema_from(c, 26, 0, c[0])
        line = e12 - e26
        s0 = int(np.flatnonzero(~np.isnan(printed["macd_signal"]))[0])
        sig = ema_from(line, 9, s0, printed["macd_signal"][s0])
        line[0] = np.nan
        return {"ema_12": e12, "ema_26": e26, "macd": line, "macd_signal": sig,
                "macd_hist": line - sig}
    if name == "kama":  # the sheet also prints the seed c[9] at row 9
        k = talib.KAMA(c, 10)
        k[9] = c[9]
        return {"kama": k}
    if name == "cci":
        return spec_values(name, fx)
    hi, lo = arr(fx, "high"), arr(fx, "low")
    if name in ("atr", "adx"):
        pc = np.concatenate([[np.nan], c[:-1]])
        tr = np.fmax(hi - lo, np.fmax(np.abs(hi - pc), np.abs(lo - pc)))
    if name == "atr":
        tr[0] = hi[0] - lo[0]  # StockCharts: TR of the first bar is its range
        atr = np.full_like(c, np.nan)
        atr[13] = tr[:14].mean()
        for t in range(14, len(c)):
            atr[t] = (atr[t - 1] * 13 + tr[t]) / 14
        return {"atr": atr}
    if name == "adx":
        up = np.concatenate([[np.nan], hi[1:] - hi[:-1]])
        dn = np.concatenate([[np.nan], lo[:-1] - lo[1:]])
        pdm = np.where((up > dn) & (up > 0), up, 0.0)
        mdm = np.where((dn > up) & (dn > 0), dn, 0.0)
        # Wilder / StockCharts: sums of the 14 values of rows 1..14, first at 14.
        s_tr, s_p, s_m = (wilder_sums(x, 14, 14) for x in (tr, pdm, mdm))
        pdi, mdi = 100 * s_p / s_tr, 100 * s_m / s_tr
        dx = 100 * np.abs(pdi - mdi) / (pdi + mdi)
        adx = np.full_like(c, np.nan)
        adx[27] = dx[14:28].mean()
        for t in range(28, len(c)):
            adx[t] = (adx[t - 1] * 13 + dx[t]) / 14
        return {"plus_di": pdi, "minus_di": mdi, "adx": adx}
    if name == "obv":  # StockCharts starts at 0 (its row 0 has no volume)
        return {"obv": talib.OBV(c, arr(fx, "volume", fill=0.0))}
    if name == "stoch":  # SMA(3) of %K rounded to its 6 printed decimals; printed from row 16
        c = np.where(np.isnan(c), (hi + lo) / 2, c)
        fastk = talib.STOCHF(hi, lo, c, 14, 1, 0)[0]
        return {"stoch_k": talib.SMA(np.round(fastk, 6), 3)}
    raise KeyError(name)


# --------------------------------------------------------------------------------------------

def read_fixture(path: str) -> tuple[dict[str, list[str]], list[str]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    return {h: [r[i] for r in rows[1:]] for i, h in enumerate(head)}, head


def half_unit(text: str) -> float:
    d = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0 ** -d


def analyse(ours: np.ndarray, texts: list[str], units: float = 1.0) -> dict:
    rows = [i for i, t in enumerate(texts) if t != ""]
    printed = np.array([float(texts[i]) for i in rows])
    tol = np.array([half_unit(texts[i]) for i in rows]) * units * SLACK
    val = ours[rows]
    ratio = np.where(np.isnan(val), np.inf, np.abs(val - printed) / tol)
    ok = ratio <= 1.0
    # First printed row from which every later printed row matches.
    start = None
    for j in range(len(rows) - 1, -1, -1):
        if not ok[j]:
            break
        start = j
    res = dict(printed_rows=(rows[0], rows[-1]), n_printed=len(rows),
               ours_first=int(np.flatnonzero(~np.isnan(ours))[0]) if (~np.isnan(ours)).any() else None,
               tol=float(np.median(tol)) / SLACK)
    if start is None:
        finite = ratio[np.isfinite(ratio)]
        res.update(from_row=None, n_match=0, max_ratio=None,
                   last_ratio=float(finite[-1]) if len(finite) else None,
                   last_rel=float(abs(val[-1] - printed[-1]) / abs(printed[-1])))
    else:
        res.update(from_row=rows[start], n_match=len(rows) - start,
                   max_ratio=float(ratio[start:].max()))
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--regen", action="store_true", help="rewrite the fixtures from shared/")
    args = ap.parse_args()
    bad = 0
    print(f"TA-Lib {talib.__version__}; tolerance: half a unit of the last printed decimal")
    print(f"{'fixture':<15} {'field':<12} {'sheet rows':>10} {'spec i0':>7}  "
          f"{'spec matches':<28} {'replay err/tol':>14}")
    for name in SHEETS:
        path = os.path.join(HERE, name + ".csv")
        if os.path.isdir(SHARED):
            text = normalise(name)
            if args.regen:
                with open(path, "w") as f:
                    f.write(text)
            elif not os.path.exists(path) or open(path).read() != text:
                print(f"{name}: fixture differs from {SHARED} (run with --regen)")
                bad += 1
        fx, head = read_fixture(path)
        fields = head[len(INPUTS) + 1:]
        ours = spec_values(name, fx)
        printed = {f: arr(fx, f) for f in fields}
        rep = replay(name, fx, printed)
        for f in fields:
            units = TOL_UNITS.get((name, f), 1.0)
            a = analyse(ours[f], fx[f], units)
            r = analyse(rep[f], fx[f], units)
            replay_ok = r["from_row"] == a["printed_rows"][0]
            bad += not replay_ok
            lo, hi = a["printed_rows"]
            if a["from_row"] is None:
                match = (f"none (last row off {a['last_ratio']:.3g}x tol, "
                         f"rel {a['last_rel']:.1e})")
            else:
                match = f"rows {a['from_row']}..{hi} ({a['n_match']}), {a['max_ratio']:.2f}x tol"
            rmax = r["max_ratio"] if r["max_ratio"] is not None else float("inf")
            print(f"{name:<15} {f:<12} {f'{lo}..{hi}':>10} {str(a['ours_first']):>7}  {match:<28} "
                  f"{rmax:>10.3f} {'ok' if replay_ok else 'FAIL'}  (tol {a['tol']:.0e})")
        if name == "atr":
            # Same recursion, other seed: ours - sheet decays by 13/14 a bar from row 14.
            d = ours["atr"] - printed["atr"]
            k = np.arange(len(d)) - 14
            err = np.nanmax(np.abs(d[14:] - (13 / 14) ** k[14:] * d[14]))
            print(f"{'':<15} {'atr':<12} seed decay: ours[t] - sheet[t] = (13/14)^(t-14) * "
                  f"(ours[14] - sheet[14]) within {err:.1e} on rows 14..{len(d) - 1}")
            bad += not err <= 1e-9
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
