//! `candlestore spot-check` against a local mock serving the real Polygon and Yahoo answers
//! for AAPL in early January 2020 (Polygon has 2 and 3 January, Yahoo only the 2nd, with a
//! volume 0.12 % lower), and the store as a source.

mod vendor;

use std::net::SocketAddr;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

use vendor::{run, sample, text};

fn start_mock() -> SocketAddr {
    // Polygon's first page of the docs example, as the last page (its next_url
    // removed): the bars of 2020-01-02 and 2020-01-03.
    let mut polygon: serde_json::Value = serde_json::from_slice(&sample(
        "polygon/aggs_AAPL_1day_2020-01-02_paginated_next_url.json",
    ))
    .unwrap();
    polygon.as_object_mut().unwrap().remove("next_url");
    let polygon = polygon.to_string();
    let app = Router::new()
        .route(
            "/v2/aggs/ticker/AAPL/range/1/day/{from}/{to}",
            get(move || async move { (StatusCode::OK, polygon) }),
        )
        .route(
            "/v8/finance/chart/AAPL",
            get(|| async {
                (StatusCode::OK, sample("yahoo/chart-AAPL-2020-01-01-to-2020-01-03.json"))
            }),
        );
    vendor::serve(app)
}

#[test]
fn polygon_against_yahoo_and_the_store() {
    let addr = start_mock();
    let base = ["spot-check", "--a", "polygon", "--b", "yahoo", "--symbols", "AAPL"];
    let range = [&base[..], &["--dates", "2020-01-02..2020-01-03"]].concat();
    let out = run(addr, &range);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("AAPL       2020-01-03T00:00:00.000000Z  only in polygon"), "{t}");
    assert!(t.contains("2 bar(s), 1 difference(s) beyond 0.5%"), "{t}");
    assert!(!t.contains("volume"), "within 0.5 %: {t}");

    // One date, a 0.1 % tolerance: the volumes differ by 0.12 %.
    let tight = [&base[..], &["--dates", "2020-01-02", "--tolerance", "0.001"]].concat();
    let out = run(addr, &tight);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("volume polygon=135647456 yahoo=135480400  (0.1232%)")
            && t.contains("1 bar(s), 1 difference(s)"),
        "{t}"
    );
    // Within 0.5 % on that date: they agree, exit 0.
    let out = run(addr, &[&base[..], &["--dates", "2020-01-02"]].concat());
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("0 difference(s)"));

    // The store's bars (backfilled from Polygon) against Yahoo.
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("bars");
    let s = store.to_str().unwrap();
    let fill = run(
        addr,
        &[
            "backfill",
            "--store",
            s,
            "--table",
            "stocks_daily",
            "--symbols",
            "AAPL",
            "--start",
            "2020-01-02",
            "--end",
            "2020-01-03",
            "--source",
            "polygon",
        ],
    );
    assert!(fill.status.success(), "{}", text(&fill));
    let out = run(
        addr,
        &[
            "spot-check",
            "--store",
            s,
            "--a",
            "store",
            "--b",
            "polygon",
            "--symbols",
            "AAPL",
            "--dates",
            "2020-01-02..2020-01-03",
            "--tolerance",
            "0",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("2 bar(s), 0 difference(s) beyond 0%"), "{}", text(&out));
    let out = run(
        addr,
        &[
            "spot-check",
            "--store",
            s,
            "--a",
            "store",
            "--b",
            "yahoo",
            "--symbols",
            "AAPL",
            "--dates",
            "2020-01-02..2020-01-03",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("only in store"), "{}", text(&out));
}

#[test]
fn usage_errors_exit_2() {
    let addr = start_mock();
    for (args, want) in [
        (vec!["--a", "bloomberg", "--b", "yahoo", "--dates", "2020-01-02"], "bloomberg"),
        (vec!["--a", "store", "--b", "yahoo", "--dates", "2020-01-02"], "--store"),
        (vec!["--a", "yahoo", "--b", "yahoo", "--dates", "2020-01-02"], "two different"),
        (vec!["--a", "polygon", "--b", "yahoo", "--dates", "2020-01-05..2020-01-02"], "before"),
        (vec!["--a", "polygon", "--b", "yahoo", "--dates", "2020-1-2x"], "--dates"),
        (
            vec!["--a", "polygon", "--b", "yahoo", "--dates", "2020-01-02", "--tolerance=-1"],
            "--tolerance",
        ),
        (
            vec!["--a", "polygon", "--b", "yahoo", "--dates", "2020-01-02", "--table", "bonds"],
            "bonds",
        ),
    ] {
        let args = [&["spot-check", "--symbols", "AAPL"][..], &args[..]].concat();
        let out = run(addr, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(want), "{args:?}: {}", text(&out));
    }
    // A vendor that fails (Yahoo does not know ZZZZ here) is an error, exit 1.
    let out = run(
        addr,
        &[
            "spot-check",
            "--a",
            "polygon",
            "--b",
            "yahoo",
            "--symbols",
            "ZZZZ",
            "--dates",
            "2020-01-02",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("ZZZZ"), "{}", text(&out));
}
