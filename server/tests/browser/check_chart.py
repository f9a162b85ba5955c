#!/usr/bin/env python3
"""End-to-end browser check of the chart page (run by .ci/run).

Headless Chromium opens /chart/{table}/{symbol} of a running `candlestore serve`, lets the
page fetch its bars and draw, and dumps the DOM: the page marks <body> with
data-bars-rendered=N once the candles are on screen. The check asks the API for the same
range and requires the same N (> 0). It saves a screenshot, and checks that an unknown
symbol gets the 404 page. Then, through chromedriver (its W3C WebDriver HTTP API), it
clicks the page's "All" range button and requires every bar of the symbol to be drawn, and
checks that the key left the address bar. Last, /docs must render one block per operation of
/openapi.json. Standard library only.

usage: check_chart.py CHROMIUM CHROMEDRIVER BASE_URL TABLE SYMBOL KEY SCREENSHOT_PNG
"""

import html
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
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


class WebDriver:
    """The few W3C WebDriver commands the interaction check needs."""

    def __init__(self, driver_binary, chromium_binary):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [driver_binary, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.profile = tempfile.mkdtemp(prefix="chart-check-")
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{self.base}/status", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        options = {"binary": chromium_binary, "args": FLAGS[:-1] + [f"--user-data-dir={self.profile}"]}
        caps = {"capabilities": {"alwaysMatch": {"goog:chromeOptions": options}}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.base + path, method=method, data=data, headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.load(r)["value"]

    def script(self, source):
        return self.call("POST", f"/session/{self.session}/execute/sync", {"script": source, "args": []})

    def wait_for(self, source, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = self.script(source)
            if value:
                return value
            time.sleep(0.1)
        sys.exit(f"FAIL timed out waiting for `{source}`")

    def close(self):
        try:
            self.call("DELETE", f"/session/{self.session}")
        finally:
            self.process.terminate()
            self.process.wait(timeout=30)
            shutil.rmtree(self.profile, ignore_errors=True)


MARKER = "return document.body.dataset.error || document.body.dataset.barsRendered"


def interact(driver_binary, chromium_binary, base, table, symbol, key, url):
    wd = WebDriver(driver_binary, chromium_binary)
    try:
        wd.call("POST", f"/session/{wd.session}/url", {"url": url})
        first = wd.wait_for(MARKER)
        if not first.isdigit():
            sys.exit(f"FAIL the page reports an error: {first}")
        address = wd.call("GET", f"/session/{wd.session}/url")
        if "key=" in address:
            sys.exit(f"FAIL the key is still in the address bar: {address}")
        wd.script(
            "document.body.removeAttribute('data-bars-rendered');"
            "document.querySelector('#ranges button[data-range=All]').click()"
        )
        drawn = wd.wait_for(MARKER)
        expected = api_rows(base, table, symbol, key, "", "")
        if drawn != str(expected):
            sys.exit(f"FAIL after clicking All the chart shows {drawn}, the API has {expected} bars")
        print(f"clicked All: {first} -> {drawn} bars drawn (the API has {expected}); "
              f"the key left the address bar ({address})")
    finally:
        wd.close()


def main():
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    binary, driver, base, table, symbol, key, png = sys.argv[1:]
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

    interact(driver, binary, base, table, symbol, key, keyed)

    # /docs renders one block per operation of /openapi.json, from the embedded Swagger UI.
    with urllib.request.urlopen(f"{base}/openapi.json", timeout=30) as r:
        doc = json.load(r)
    operations = sum(len(item) for item in doc["paths"].values())
    dom = chromium(binary, f"{base}/docs", "--dump-dom")
    if body_attributes(dom).get("data-docs-rendered") != "true":
        sys.exit("FAIL /docs did not render")
    blocks = len(re.findall(r'class="opblock opblock-(?:get|post)[" ]', dom))
    if blocks != operations:
        sys.exit(f"FAIL /docs shows {blocks} operations, /openapi.json has {operations}")
    print(f"/docs: {blocks} operations rendered")


if __name__ == "__main__":
    main()
