#!/usr/bin/env python3
"""End-to-end browser check of the chart page (run by .ci/run).

Headless Chromium opens /chart/{table}/{symbol} of a running `candlestore serve`, lets the
page fetch its bars and draw, and dumps the DOM: the page marks <body> with
data-bars-rendered=N once the candles are on screen. The check asks the API for the same
range and requires the same N (> 0). It saves a screenshot, and checks that an unknown
symbol gets the 404 page. Standard library only.

usage: check_chart.py CHROMIUM BASE_URL TABLE SYMBOL KEY SCREENSHOT_PNG
"""

import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

# Without the networking flags Chromium tries to reach Google services and hangs on a
# closed network.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1280,900",
    # Virtual time runs until the page is idle (fetches done, frames drawn) or 20 s pass.
    "--virtual-time-budget=20000",
]


def chromium(binary, url, *extra):
    profile = tempfile.mkdtemp(prefix="chart-check-")
    try:
        run = subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", *extra, url],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if run.returncode != 0:
        sys.exit(f"FAIL chromium exited {run.returncode} on {url}: {run.stderr[-2000:]}")
    return run.stdout


def body_attributes(dom):
    m = re.search(r"<body([^>]*)>", dom)
    if not m:
        sys.exit(f"FAIL no <body> in the dumped DOM:\n{dom[:2000]}")
    return {k: html.unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', m.group(1))}


def api_rows(base, table, symbol, key, start, end):
    query = {"format": "json", "fields": "datetime"}
    if start:
        query["start"] = start
    if end:
        query["end"] = end
    path = "/".join(urllib.parse.quote(p, safe="") for p in ("bars", table, symbol))
    url = f"{base}/api/v1/{path}?{urllib.parse.urlencode(query)}"
    req = urllib.request.Request(url, headers={"X-API-Key": key})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)["rows"]


def main():
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    binary, base, table, symbol, key, png = sys.argv[1:]
    page = f"{base}/chart/{urllib.parse.quote(table)}/{urllib.parse.quote(symbol, safe='')}"
    keyed = f"{page}?key={urllib.parse.quote(key)}"

    attrs = body_attributes(chromium(binary, keyed, "--dump-dom"))
    if "data-error" in attrs:
        sys.exit(f"FAIL the page reports an error: {attrs['data-error']}")
    if "data-bars-rendered" not in attrs:
        sys.exit(f"FAIL the chart did not render (no data-bars-rendered): {attrs}")
    rendered = int(attrs["data-bars-rendered"])
    start, end = attrs.get("data-range-start", ""), attrs.get("data-range-end", "")
    expected = api_rows(base, table, symbol, key, start, end)
    if rendered == 0 or rendered != expected:
        sys.exit(f"FAIL the chart drew {rendered} bars, the API has {expected} for {start}..{end}")
    print(f"chart of {table}/{symbol}: {rendered} bars drawn for {start or '-'}..{end or '-'} "
          f"(the API has {expected})")

    chromium(binary, keyed, f"--screenshot={png}")
    with open(png, "rb") as f:
        head = f.read(8)
        size = len(head) + len(f.read())
    if head != b"\x89PNG\r\n\x1a\n" or size < 20_000:
        sys.exit(f"FAIL the screenshot {png} is not a picture of a chart ({size} bytes)")
    print(f"screenshot: {png} ({size} bytes)")

    # The route itself answers 404 for an unknown symbol, and the page says so.
    missing = f"{base}/chart/{urllib.parse.quote(table)}/NO_SUCH_SYMBOL_X?key={urllib.parse.quote(key)}"
    try:
        urllib.request.urlopen(missing, timeout=30)
        sys.exit(f"FAIL {missing} answered 2xx")
    except urllib.error.HTTPError as e:
        if e.code != 404:
            sys.exit(f"FAIL {missing} answered {e.code}, not 404")
    attrs = body_attributes(chromium(binary, missing, "--dump-dom"))
    if attrs.get("data-error-code") != "unknown_symbol":
        sys.exit(f"FAIL the unknown symbol's page does not say so: {attrs}")
    print("unknown symbol: 404 page with unknown_symbol")


if __name__ == "__main__":
    main()
