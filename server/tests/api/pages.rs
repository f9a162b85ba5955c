//! `/openapi.json`, `/docs`, `/chart/{table}/{symbol}` and the embedded assets.

use candlestore_server::{ApiKey, RateLimit, Scope, ServerConfig};
use serde_json::Value;

use crate::fixture::{expect_error, shared, start, start_shared};

/// Contract routes another component serves once merged (see `openapi/mod.rs`): skipped
/// while not routed, checked like the others once they are.
const CONTRACT_ONLY: [&str; 2] = ["/api/v1/backfill", "/api/v1/backfill/status"];

/// A concrete URL path for a documented one: real table, symbol and asset names.
fn concrete(path: &str, doc: &Value) -> String {
    let asset = doc["components"]["parameters"]["asset"]["schema"]["enum"][0].as_str().unwrap();
    path.replace("{table}", "stocks_daily").replace("{symbol}", "NVDA").replace("{file}", asset)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_served() {
    let s = start_shared().await;
    let r = s.get("/openapi.json").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let url = s.url(&concrete(path, &doc));
            let request = match method.as_str() {
                "get" => s.client.get(&url),
                "post" => s.client.post(&url).json(&serde_json::json!({
                    "table": "stocks_daily", "symbols": ["NVDA"], "limit": 1,
                    "start": "2014-01-02",
                })),
                m => panic!("{m} {path}"),
            };
            let r = request.send().await.unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            // The router's fallbacks: no route (404 `not_found` "no endpoint at") or no such
            // method (405).
            let unrouted = status == 405 || text.contains("no endpoint at");
            if unrouted && CONTRACT_ONLY.contains(&path.as_str()) {
                continue;
            }
            assert!(!unrouted, "{method} {path} is documented but not served: {status} {text}");
            let documented = op["responses"].get(status.to_string()).is_some();
            assert!(documented, "{method} {path} answered {status}, not documented: {text}");
            operations += 1;
        }
    }
    assert!(operations >= 16, "{operations}");
    // With public reads, read operations say a key is optional; admin ones need one.
    let read = &doc["paths"]["/api/v1/bars/{table}/{symbol}"]["get"]["security"];
    assert_eq!(read[0], serde_json::json!({}));
    let admin = &doc["paths"]["/api/v1/admin/flush"]["post"]["security"];
    assert!(admin.as_array().unwrap().iter().all(|s| s != &serde_json::json!({})));
    assert_eq!(doc["paths"]["/health"]["get"]["security"], serde_json::json!([]));
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_page_and_its_assets_are_served_locally() {
    let s = start_shared().await;
    let r = s.get("/docs").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    let page = r.text().await.unwrap();
    assert!(page.contains("swagger-ui"), "{page}");
    let mut assets = 0;
    for (name, kind, cache) in [
        ("swagger-ui-5.36.0.js", "text/javascript; charset=utf-8", "immutable"),
        ("swagger-ui-5.36.0.css", "text/css; charset=utf-8", "immutable"),
        ("docs.js", "text/javascript; charset=utf-8", "no-cache"),
        ("lightweight-charts-5.3.0.js", "text/javascript; charset=utf-8", "immutable"),
        ("chart.js", "text/javascript; charset=utf-8", "no-cache"),
        ("chart.css", "text/css; charset=utf-8", "no-cache"),
    ] {
        let r = s.get(&format!("/assets/{name}")).await;
        assert_eq!(r.status(), 200, "{name}");
        assert_eq!(r.headers()["content-type"], kind, "{name}");
        assert!(r.headers()["cache-control"].to_str().unwrap().contains(cache), "{name}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        let body = r.bytes().await.unwrap();
        assert!(body.len() > 100, "{name}");
        assets += 1;
    }
    assert_eq!(assets, 6);
    // The vendored bundle is the real library, not a placeholder.
    let lib = s.get("/assets/lightweight-charts-5.3.0.js").await.text().await.unwrap();
    assert!(lib.contains("TradingView Lightweight Charts") && lib.len() > 150_000);
    let m = expect_error(s.get("/assets/../Cargo.toml").await, 404, "not_found", None).await;
    assert!(m.contains("no endpoint"), "{m}");
    let m = expect_error(s.get("/assets/jquery.js").await, 404, "not_found", Some("file")).await;
    assert!(m.contains("chart.js"), "{m}");
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_page_for_a_real_symbol_and_404_for_unknown_ones() {
    let s = start_shared().await;
    let r = s.get("/chart/stocks_daily/NVDA").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    let page = r.text().await.unwrap();
    assert!(
        page.contains("/assets/lightweight-charts-5.3.0.js") && page.contains("/assets/chart.js")
    );
    // The fields the page asks for exist in the store's schema: the API accepts them.
    let js = s.get("/assets/chart.js").await.text().await.unwrap();
    let list = js.split("const FIELDS = [").nth(1).unwrap().split("];").next().unwrap();
    let fields: Vec<&str> =
        list.split(',').map(|f| f.trim().trim_matches('"')).filter(|f| !f.is_empty()).collect();
    assert_eq!(fields.len(), 20, "{fields:?}");
    let (status, v) = s
        .json(&format!(
            "/api/v1/bars/stocks_daily/NVDA?format=json&limit=5&fields={}",
            fields.join(",")
        ))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"].as_array().unwrap().len(), 5);
    for (path, status, code, needle) in [
        ("/chart/stocks_daily/NOPE", 404, "unknown_symbol", "NOPE"),
        ("/chart/no_table/NVDA", 404, "unknown_table", "no_table"),
        ("/chart/stocks_daily/bad%20symbol", 400, "invalid_symbol", "bad symbol"),
        ("/chart/stocks_daily/NVDA?range=1Y", 400, "unknown_parameter", "range"),
    ] {
        let r = s.get(path).await;
        assert_eq!(r.status(), status, "{path}");
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        let page = r.text().await.unwrap();
        assert!(page.contains(&format!("data-error-code=\"{code}\"")), "{path}: {page}");
        assert!(page.contains(needle), "{path}: {page}");
    }
    // Markup in a name is escaped, never echoed raw.
    let page = s.get("/chart/stocks_daily/%3Cscript%3E").await.text().await.unwrap();
    assert!(!page.contains("<script>") && page.contains("&lt;script&gt;"), "{page}");
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_page_needs_a_read_key_when_reads_are_not_public() {
    const READ: &str = "chart-read-key-0123456789";
    const OTHER: &str = "chart-other-key-0123456789";
    let config = ServerConfig::default()
        .with_key(ApiKey::new("viewer", READ, &[Scope::Read]))
        .with_key(ApiKey::new("ops", OTHER, &[Scope::Admin]));
    let s = start(shared().store.clone(), config).await;
    let r = s.get("/chart/stocks_daily/NVDA").await;
    assert_eq!(r.status(), 401);
    let page = r.text().await.unwrap();
    assert!(page.contains("name=\"key\"") && page.contains("data-error-code=\"unauthorized\""));
    // The unknown symbol is not revealed before the key is checked.
    assert_eq!(s.get("/chart/stocks_daily/NOPE").await.status(), 401);
    assert_eq!(s.get("/chart/stocks_daily/NVDA?key=wrong").await.status(), 401);
    assert_eq!(s.get(&format!("/chart/stocks_daily/NVDA?key={READ}")).await.status(), 200);
    assert_eq!(s.get(&format!("/chart/stocks_daily/NOPE?key={READ}")).await.status(), 404);
    let r = s.client.get(s.url("/chart/stocks_daily/NVDA")).header("x-api-key", OTHER);
    assert_eq!(r.send().await.unwrap().status(), 200, "admin includes read");
    // The document is public and says that reads need a key here.
    let (status, doc) = s.json("/openapi.json").await;
    assert_eq!(status, 200);
    let read = doc["paths"]["/api/v1/bars/{table}/{symbol}"]["get"]["security"].as_array().unwrap();
    assert!(read.iter().all(|s| s != &serde_json::json!({})), "{read:?}");
    assert_eq!(s.get("/docs").await.status(), 200);
    assert_eq!(s.get("/assets/chart.js").await.status(), 200);
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_page_counts_against_the_rate_limit() {
    let config = ServerConfig::default()
        .with_public_read(true)
        .with_rate_limit(RateLimit { per_second: 0.01, burst: 1 });
    let s = start(shared().store.clone(), config).await;
    assert_eq!(s.get("/chart/stocks_daily/NVDA").await.status(), 200);
    let r = s.get("/chart/stocks_daily/NVDA").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    let page = r.text().await.unwrap();
    assert!(page.contains("data-error-code=\"rate_limited\""), "{page}");
    // Public routes are not rate limited: the docs still load.
    assert_eq!(s.get("/openapi.json").await.status(), 200);
    s.stop().await.unwrap();
}
