// The chart page: reads /api/v1/bars/{table}/{symbol} as JSON (page by page, following
// next_cursor) and draws candles, volume, the chosen overlays on price and the RSI / MACD
// panes with TradingView Lightweight Charts. When a chart is drawn, <body> gets
// data-bars-rendered="N" (N candles), data-range-start / data-range-end (the range asked
// for, empty for open ends): the browser test reads them. An error sets data-error.
"use strict";
(function () {
  const LC = window.LightweightCharts;
  const KEY_ITEM = "candlestore.apiKey";
  const PAGE_ROWS = 50000;
  const OVERLAYS = {
    sma_20: { color: "#f59e0b" },
    sma_50: { color: "#2563eb" },
    sma_200: { color: "#7c3aed" },
    ema_12: { color: "#10b981" },
    ema_26: { color: "#0891b2" },
    ema_50: { color: "#db2777" },
    ema_200: { color: "#6b7280" },
  };
  const FIELDS = [
    "datetime", "open", "high", "low", "close", "volume",
    "sma_20", "sma_50", "sma_200", "ema_12", "ema_26", "ema_50", "ema_200",
    "bb_upper", "bb_middle", "bb_lower", "rsi", "macd", "macd_signal", "macd_hist",
  ];

  // /chart/{table}/{symbol}: split before decoding, a symbol may hold an encoded "/".
  const parts = location.pathname.split("/");
  const table = decodeURIComponent(parts[2] || "");
  const symbol = decodeURIComponent(parts.slice(3).join("/"));
  const el = (id) => document.getElementById(id);
  const statusLine = el("status");
  let bars = [];
  let chart = null;
  let lastBar = null;
  let activeRange = "1Y";

  // A key given in the URL moves to sessionStorage and out of the address bar and history.
  const params = new URLSearchParams(location.search);
  if (params.has("key")) {
    sessionStorage.setItem(KEY_ITEM, params.get("key"));
    params.delete("key");
    const q = params.toString();
    history.replaceState(null, "", location.pathname + (q ? "?" + q : ""));
  }

  function headers() {
    const key = sessionStorage.getItem(KEY_ITEM);
    return key ? { "X-API-Key": key } : {};
  }

  function setStatus(text, isError) {
    statusLine.textContent = text;
    statusLine.classList.toggle("error", !!isError);
  }

  function fail(code, message) {
    document.body.dataset.error = code;
    delete document.body.dataset.barsRendered;
    setStatus(message, true);
    if (code === "unauthorized" || code === "forbidden") el("keybox").hidden = false;
  }

  async function getJson(url) {
    const r = await fetch(url, { headers: headers() });
    let body = null;
    try {
      body = await r.json();
    } catch (e) {
      throw { code: "bad_response", message: url + ": answered " + r.status + " without JSON" };
    }
    if (!r.ok) {
      const err = (body && body.error) || {};
      throw { code: err.code || "http_" + r.status, message: r.status + " " + (err.message || r.statusText) };
    }
    return body;
  }

  function api(path) {
    return "/api/v1/" + path.map(encodeURIComponent).join("/");
  }

  // The symbol's newest bar (the range buttons count back from it, not from today).
  async function loadNewest() {
    const q = new URLSearchParams({ table: table, q: symbol });
    const v = await getJson("/api/v1/symbols?" + q);
    const s = v.symbols.find((x) => x.symbol === symbol);
    if (!s) throw { code: "unknown_symbol", message: "table " + table + " has no symbol " + symbol };
    return s.last_bar ? new Date(s.last_bar) : null;
  }

  async function loadBars(start, end) {
    const out = [];
    let cursor = null;
    let pageRows = PAGE_ROWS;
    for (;;) {
      const q = new URLSearchParams({ format: "json", fields: FIELDS.join(","), limit: String(pageRows) });
      if (start) q.set("start", start);
      if (end) q.set("end", end);
      if (cursor) q.set("cursor", cursor);
      const url = api(["bars", table, symbol]) + "?" + q;
      el("datalink").href = url;
      let page;
      try {
        page = await getJson(url);
      } catch (e) {
        // A server configured with smaller pages (`max_page_rows`): ask for smaller ones.
        if (e.code === "limit_exceeded" && pageRows > 1) {
          pageRows = Math.max(1, Math.floor(pageRows / 10));
          continue;
        }
        throw e;
      }
      for (const row of page.data) out.push(row);
      cursor = page.next_cursor;
      if (!cursor) return out;
      setStatus("Loading… " + out.length + " bars");
    }
  }

  const seconds = (text) => Math.floor(Date.parse(text.slice(0, 19) + "Z") / 1000);
  const isoDay = (d) => d.toISOString().slice(0, 10);

  function rangeStart(name) {
    if (!lastBar || name === "All") return null;
    const d = new Date(lastBar.getTime());
    const days = { "1D": 0, "1W": 6 }[name];
    if (days !== undefined) {
      // Whole UTC days: the newest bar's day, or the week that ends with it.
      d.setUTCDate(d.getUTCDate() - days);
      return isoDay(d);
    }
    const months = { "1M": 1, "3M": 3, "1Y": 12, "5Y": 60 }[name];
    d.setUTCMonth(d.getUTCMonth() - months);
    return isoDay(d);
  }

  function checked(groupId) {
    return new Set(
      Array.from(document.querySelectorAll("#" + groupId + " input:checked")).map((i) => i.value),
    );
  }

  function line(series, field) {
    const out = [];
    for (const b of bars) {
      const v = b[field];
      if (v !== null && v !== undefined) out.push({ time: b.time, value: v });
    }
    series.setData(out);
  }

  function addLine(pane, field, color, width, label) {
    const s = chart.addSeries(
      LC.LineSeries,
      { color: color, lineWidth: width || 1, priceLineVisible: false, lastValueVisible: label !== false, title: label === false ? "" : field },
      pane,
    );
    line(s, field);
    return s;
  }

  // Rebuilt whole on every change: simpler than adding and removing panes one by one.
  function draw() {
    if (chart) chart.remove();
    const container = el("chart");
    const intraday = bars.length > 1 && bars[1].time - bars[0].time < 86400;
    chart = LC.createChart(container, {
      autoSize: true,
      layout: { background: { type: "solid", color: "#ffffff" }, textColor: "#374151" },
      grid: { vertLines: { color: "#f3f4f6" }, horzLines: { color: "#f3f4f6" } },
      timeScale: { timeVisible: intraday, secondsVisible: false, borderColor: "#d1d5db" },
      rightPriceScale: { borderColor: "#d1d5db" },
      crosshair: { mode: LC.CrosshairMode.Normal },
    });
    const candles = chart.addSeries(LC.CandlestickSeries, {
      upColor: "#16a34a", downColor: "#dc2626", borderVisible: false,
      wickUpColor: "#16a34a", wickDownColor: "#dc2626",
    });
    candles.setData(bars.map((b) => ({ time: b.time, open: b.open, high: b.high, low: b.low, close: b.close })));
    const overlays = checked("overlays");
    const panes = checked("panes");
    if (panes.has("volume")) {
      const vol = chart.addSeries(LC.HistogramSeries, { priceFormat: { type: "volume" }, priceScaleId: "", lastValueVisible: false, priceLineVisible: false });
      vol.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
      // Candles above the volume bars, not through them.
      candles.priceScale().applyOptions({ scaleMargins: { top: 0.05, bottom: 0.22 } });
      vol.setData(bars.map((b) => ({ time: b.time, value: b.volume, color: b.close >= b.open ? "#86efac" : "#fca5a5" })));
    }
    for (const f of Object.keys(OVERLAYS)) {
      if (overlays.has(f)) addLine(0, f, OVERLAYS[f].color, 2);
    }
    if (overlays.has("bollinger")) {
      addLine(0, "bb_upper", "#9ca3af", 1, false);
      addLine(0, "bb_middle", "#d1d5db", 1, false);
      addLine(0, "bb_lower", "#9ca3af", 1, false);
    }
    let pane = 0;
    if (panes.has("rsi")) {
      pane += 1;
      const rsi = addLine(pane, "rsi", "#7c3aed", 1);
      for (const level of [30, 70]) {
        rsi.createPriceLine({ price: level, color: "#d1d5db", lineWidth: 1, lineStyle: LC.LineStyle.Dashed, axisLabelVisible: false });
      }
    }
    if (panes.has("macd")) {
      pane += 1;
      const hist = chart.addSeries(LC.HistogramSeries, { priceLineVisible: false, lastValueVisible: false, title: "macd_hist" }, pane);
      hist.setData(bars.filter((b) => b.macd_hist !== null).map((b) => ({ time: b.time, value: b.macd_hist, color: b.macd_hist >= 0 ? "#86efac" : "#fca5a5" })));
      addLine(pane, "macd", "#2563eb", 1);
      addLine(pane, "macd_signal", "#f59e0b", 1);
    }
    // Price gets most of the height; RSI and MACD a share each.
    const sub = chart.panes();
    if (sub.length > 1) {
      sub[0].setStretchFactor(3);
      for (let i = 1; i < sub.length; i++) sub[i].setStretchFactor(1);
    }
    chart.timeScale().fitContent();
    chart.subscribeCrosshairMove((p) => {
      const c = p.seriesData && p.seriesData.get(candles);
      el("legend").textContent = c
        ? "O " + c.open + "  H " + c.high + "  L " + c.low + "  C " + c.close
        : "";
    });
  }

  async function show(start, end) {
    setStatus("Loading…");
    document.querySelectorAll("#ranges button").forEach((b) => b.classList.toggle("active", b.dataset.range === activeRange));
    el("start").value = start || "";
    el("end").value = end || "";
    try {
      const rows = await loadBars(start, end);
      bars = rows.map((r) => Object.assign(r, { time: seconds(r.datetime) }));
      draw();
      const first = bars.length ? bars[0].datetime.slice(0, 10) : "";
      const last = bars.length ? bars[bars.length - 1].datetime.slice(0, 10) : "";
      setStatus(bars.length ? bars.length + " bars, " + first + " to " + last : "No bars in this range.");
      // The chart paints on its next animation frame; the marker follows it. A timer, not
      // requestAnimationFrame: headless Chromium's virtual time waits for timers only.
      setTimeout(() => {
        delete document.body.dataset.error;
        document.body.dataset.rangeStart = start || "";
        document.body.dataset.rangeEnd = end || "";
        document.body.dataset.barsRendered = String(bars.length);
      }, 100);
    } catch (e) {
      fail(e.code || "error", e.message || String(e));
    }
  }

  async function init() {
    el("title").textContent = symbol + " · " + table;
    document.title = symbol + " · " + table + " · candlestore";
    if (!LC) return fail("no_chart_library", "the chart library did not load");
    try {
      lastBar = await loadNewest();
    } catch (e) {
      return fail(e.code || "error", e.message || String(e));
    }
    await show(rangeStart(activeRange), null);
  }

  document.querySelectorAll("#ranges button").forEach((b) =>
    b.addEventListener("click", () => {
      activeRange = b.dataset.range;
      show(rangeStart(activeRange), null);
    }),
  );
  el("apply").addEventListener("click", () => {
    activeRange = null;
    show(el("start").value || null, el("end").value || null);
  });
  document.querySelectorAll("#overlays input, #panes input").forEach((i) =>
    i.addEventListener("change", () => { if (bars.length) draw(); }),
  );
  el("usekey").addEventListener("click", () => {
    sessionStorage.setItem(KEY_ITEM, el("key").value.trim());
    el("keybox").hidden = true;
    init();
  });
  init();
})();
