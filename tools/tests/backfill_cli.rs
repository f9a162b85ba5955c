//! `candlestore backfill`, `log fetches`, `log compute` and `schedule --status` against a
//! local Yahoo mock (real answer for AAPL, the real "not found" answer for anything else).

mod vendor;

use std::net::SocketAddr;
use std::path::Path;

use axum::Router;
use axum::extract::Path as UrlPath;
use axum::http::StatusCode;
use axum::routing::get;

use vendor::{run, text};

fn start_mock() -> SocketAddr {
    let app = Router::new().route(
        "/v8/finance/chart/{symbol}",
        get(|UrlPath(symbol): UrlPath<String>| async move {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/api-samples");
            if symbol == "AAPL" {
                let body = std::fs::read(dir.join("yahoo/chart-AAPL-2020-01-01-to-2020-01-03.json")).unwrap();
                (StatusCode::OK, body)
            } else {
                (StatusCode::NOT_FOUND, br#"{"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}}"#.to_vec())
            }
        }),
    );
    vendor::serve(app)
}

#[test]
fn backfill_then_rerun_then_logs() {
    let addr = start_mock();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("bars");
    let s = store.to_str().unwrap();
    let base = [
        "backfill",
        "--store",
        s,
        "--table",
        "stocks_daily",
        "--start",
        "2020-01-02",
        "--end",
        "2020-01-03",
        "--source",
        "yahoo",
    ];
    let out = run(addr, &[&base[..], &["--symbols", "AAPL"]].concat());
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("summary: 1 ok, 0 failed, 0 skipped; 1 bars written, 1 requests, 0 retries"),
        "{t}"
    );

    let again = run(addr, &[&base[..], &["--symbols", "AAPL"]].concat());
    assert!(
        text(&again).contains("0 ok, 0 failed, 1 skipped; 0 bars written, 0 requests"),
        "{}",
        text(&again)
    );

    let universe = dir.path().join("u.txt");
    std::fs::write(&universe, "# two symbols\nAAPL\nzzzz\n").unwrap();
    let failed = run(addr, &[&base[..], &["--universe", universe.to_str().unwrap()]].concat());
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    let t = text(&failed);
    assert!(t.contains("ZZZZ") && t.contains("failed") && t.contains("1 skipped"), "{t}");

    let log = run(addr, &["log", "fetches", "--store", s, "--symbol", "ZZZZ"]);
    let t = text(&log);
    assert!(log.status.success() && t.contains("yahoo") && t.contains("1 fetch(es)"), "{t}");
    let log = run(addr, &["log", "fetches", "--store", s, "--since", "2999-01-01"]);
    assert!(text(&log).contains("0 fetch(es)"));
    let compute = run(addr, &["log", "compute", "--store", s, "--table", "stocks_daily"]);
    assert!(text(&compute).contains("0 compute fault(s) in stocks_daily"), "{}", text(&compute));

    let config = dir.path().join("c.toml");
    std::fs::write(&config, "[schedule]\ntime = \"18:30\"\ntimezone = \"America/New_York\"\ntable = \"stocks_daily\"\nuniverse = [\"AAPL\"]\n").unwrap();
    let status =
        run(addr, &["schedule", "--store", s, "--config", config.to_str().unwrap(), "--status"]);
    let t = text(&status);
    assert!(
        status.status.success() && t.contains("last run: slot never") && t.contains("next run:"),
        "{t}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let addr = start_mock();
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("bars");
    let s = s.to_str().unwrap();
    let out = run(
        addr,
        &[
            "backfill",
            "--store",
            s,
            "--table",
            "stocks_daily",
            "--symbols",
            "A",
            "--start",
            "2020-13-01",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--start"), "{}", text(&out));
    let out = run(
        addr,
        &[
            "backfill",
            "--store",
            s,
            "--table",
            "stocks_daily",
            "--symbols",
            "A",
            "--start",
            "2020-01-02",
            "--source",
            "iex",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("iex"), "{}", text(&out));
    let u = dir.path().join("u.txt");
    std::fs::write(&u, "AAPL MSFT\n").unwrap();
    let out = run(
        addr,
        &[
            "backfill",
            "--store",
            s,
            "--table",
            "stocks_daily",
            "--universe",
            u.to_str().unwrap(),
            "--start",
            "2020-01-02",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("u.txt:1"), "{}", text(&out));
    let c = dir.path().join("c.toml");
    std::fs::write(&c, "[schedule]\ntime = \"6pm\"\n").unwrap();
    let out = run(addr, &["schedule", "--store", s, "--config", c.to_str().unwrap(), "--status"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn backfill_a_sector_of_the_symbol_master() {
    let addr = start_mock();
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("bars");
    let s = s.to_str().unwrap();
    // The F3.1 metadata layout (testdata/reference/metadata.csv) with one Apple row.
    let meta = dir.path().join("metadata.csv");
    std::fs::write(
        &meta,
        "symbol,sector,industry,market_cap,exchange,mic_code,currency,country,type\n\
         AAPL,Information Technology,Technology Hardware,,NASDAQ,XNAS,USD,US,stock\n",
    )
    .unwrap();
    let out = run(addr, &["symbols", "import", "--store", s, meta.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let base = [
        "backfill",
        "--store",
        s,
        "--table",
        "stocks_daily",
        "--start",
        "2020-01-02",
        "--end",
        "2020-01-03",
        "--source",
        "yahoo",
        "--sector",
    ];
    let out = run(addr, &[&base[..], &["information technology"]].concat());
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("summary: 1 ok, 0 failed, 0 skipped; 1 bars written"), "{t}");
    let out = run(addr, &[&base[..], &["Utilities"]].concat());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no symbol of the store's symbol master"), "{}", text(&out));
}

#[test]
fn backfill_futures_needs_a_crypto_table() {
    let addr = start_mock();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("bars");
    let args = [
        "backfill",
        "--store",
        store.to_str().unwrap(),
        "--table",
        "stocks_daily",
        "--symbols",
        "AAPL",
        "--start",
        "2020-01-02",
        "--futures",
    ];
    let out = run(addr, &args);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("only crypto tables"), "{}", text(&out));
    assert!(!store.join("stocks_daily").exists(), "nothing fetched or written");
}
