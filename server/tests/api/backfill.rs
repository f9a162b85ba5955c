//! The backfill endpoints and the in-server schedule against the connectors' mock vendor
//! server (real Yahoo answers): a job posted, polled until it succeeded, its bars read back
//! over HTTP; 409 while a job runs; 400/404 for bad bodies; 401/403; 503 without a runner.

use std::sync::Arc;
use std::time::Duration;

use candlestore::{ManualClock, Store};
use candlestore_ingest::{
    Backfill, Connectors, ProviderKind, ProvidersConfig, ScheduleConfig, Scheduler,
};
use candlestore_server::{ApiKey, Scope, Server, ServerConfig};
use serde_json::{Value, json};

use crate::fixture::{NOW, Running, expect_error, start, start_with};
use crate::mock::{Fault, Mock};

const READ_KEY: &str = "read-key-0123456789abcdef";
const ADMIN_KEY: &str = "admin-key-0123456789abcdef";

fn keys() -> ServerConfig {
    ServerConfig::default()
        .with_key(ApiKey::new("research", READ_KEY, &[Scope::Read]))
        .with_key(ApiKey::new("ops", ADMIN_KEY, &[Scope::Admin]))
}

/// A backfill of `store` fetching from the mock only.
fn backfill(store: &Store, mock: &Mock) -> Backfill {
    let mut config = ProvidersConfig::default();
    for kind in ProviderKind::ALL {
        *config.get_mut(kind) = mock.config(kind);
    }
    Backfill::new(store.clone(), Connectors::new(&config).unwrap())
}

async fn post(s: &Running, key: Option<&str>, body: &Value) -> reqwest::Response {
    let mut r = s.client.post(s.url("/api/v1/backfill")).json(body);
    if let Some(k) = key {
        r = r.bearer_auth(k);
    }
    r.send().await.unwrap()
}

async fn get(s: &Running, path: &str) -> (u16, Value) {
    let r = s.client.get(s.url(path)).bearer_auth(READ_KEY).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Polls the job until it finished.
async fn finished(s: &Running, id: &str) -> Value {
    for _ in 0..200 {
        let (status, v) = get(s, &format!("/api/v1/backfill/status?job_id={id}")).await;
        assert_eq!(status, 200, "{v}");
        let job = v["jobs"][0].clone();
        if job["status"] == "succeeded" || job["status"] == "failed" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {id} did not finish");
}

fn aapl(source: &str) -> Value {
    json!({"table": "stocks_daily", "symbols": ["aapl"], "sector": null,
           "start": "2020-01-02", "end": "2020-01-03", "source": source})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_posted_backfill_lands_and_reads_back() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let builder = Server::builder(store.clone(), keys())
        .with_clock(Arc::new(ManualClock::new(NOW)))
        .with_backfill(backfill(&store, &mock));
    let s = start_with(builder).await;

    let r = post(&s, Some(ADMIN_KEY), &aapl("yahoo")).await;
    assert_eq!(r.status().as_u16(), 202);
    let job: Value = r.json().await.unwrap();
    assert_eq!(job["status"], "queued");
    assert_eq!(job["symbols"], json!(["AAPL"]));
    assert_eq!((&job["start"], &job["end"]), (&json!("2020-01-02"), &json!("2020-01-03")));
    let id = job["job_id"].as_str().unwrap().to_owned();
    let done = finished(&s, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    for (k, v) in [("symbols_ok", 1), ("symbols_failed", 0), ("bars_written", 1), ("requests", 1)] {
        assert_eq!(done[k], v, "{k}: {done}");
    }
    assert_eq!(done["error"], Value::Null);
    assert_eq!(done["submitted_at"], "2015-01-02T00:00:00.000000Z");
    assert!(done["started_at"].is_string() && done["finished_at"].is_string(), "{done}");

    // The bar the vendor sent is served, with Yahoo's values.
    let (status, bars) =
        get(&s, "/api/v1/bars/stocks_daily/AAPL?fields=datetime,close,volume").await;
    assert_eq!(status, 200, "{bars}");
    assert_eq!(bars["rows"], 1, "{bars}");
    assert_eq!(bars["data"][0]["datetime"], "2020-01-02T00:00:00.000000Z");
    assert!((bars["data"][0]["close"].as_f64().unwrap() - 75.0875).abs() < 1e-4, "{bars}");

    // The table's on-disk state and the status page's member.
    let (_, all) = get(&s, "/api/v1/backfill/status").await;
    assert_eq!(all["jobs"].as_array().unwrap().len(), 1);
    let t = &all["tables"][0];
    assert_eq!(
        (&t["table"], &t["symbols"], &t["done"]),
        (&json!("stocks_daily"), &json!(1), &json!(1))
    );
    assert_eq!(
        (&t["failed"], &t["pending"], &t["last_error"]),
        (&json!(0), &json!(0), &Value::Null)
    );
    let (_, status) = get(&s, "/api/v1/status").await;
    assert_eq!(status["backfill"]["running"], 0);
    assert_eq!(status["backfill"]["last_job"]["job_id"], id.as_str());
    assert!(status.get("scheduler").is_none(), "{status}");

    // While a slow job runs on the table, another is refused; it then fails (Yahoo does
    // not know MSFT) and says why.
    mock.inject([Fault::Slow(Duration::from_millis(250))]);
    let mut msft = aapl("yahoo");
    msft["symbols"] = json!(["MSFT"]);
    let r = post(&s, Some(ADMIN_KEY), &msft).await;
    assert_eq!(r.status().as_u16(), 202);
    let slow: Value = r.json().await.unwrap();
    let m = expect_error(
        post(&s, Some(ADMIN_KEY), &aapl("yahoo")).await,
        409,
        "conflict",
        Some("table"),
    )
    .await;
    assert!(m.contains(slow["job_id"].as_str().unwrap()), "{m}");
    let failed = finished(&s, slow["job_id"].as_str().unwrap()).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["symbols_failed"], 1);
    assert!(failed["error"].as_str().unwrap().contains("MSFT"), "{failed}");
    let (_, all) = get(&s, "/api/v1/backfill/status").await;
    assert_eq!(all["jobs"][0]["job_id"], slow["job_id"], "most recent first");
    assert_eq!(all["tables"][0]["failed"], 1);
    assert!(all["tables"][0]["last_error"].as_str().unwrap().contains("MSFT"), "{all}");
    // A finished job frees the table; the window AAPL completed is skipped.
    let again = post(&s, Some(ADMIN_KEY), &aapl("yahoo")).await;
    let again: Value = again.json().await.unwrap();
    let skipped = finished(&s, again["job_id"].as_str().unwrap()).await;
    assert_eq!((&skipped["symbols_skipped"], &skipped["requests"]), (&json!(1), &json!(0)));
    // A sector of the symbol master selects its symbols.
    let mut record = candlestore::SymbolRecord::new("AAPL");
    record.sector = Some("Information Technology".into());
    let _report = store.upsert_symbols([record]).unwrap();
    let mut by_sector = aapl("yahoo");
    by_sector["symbols"] = Value::Null;
    by_sector["sector"] = json!("Information Technology");
    let r = post(&s, Some(ADMIN_KEY), &by_sector).await;
    assert_eq!(r.status().as_u16(), 202);
    let job: Value = r.json().await.unwrap();
    assert_eq!(job["symbols"], json!(["AAPL"]));
    finished(&s, job["job_id"].as_str().unwrap()).await;
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_named() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let builder = Server::builder(store.clone(), keys())
        .with_clock(Arc::new(ManualClock::new(NOW)))
        .with_backfill(backfill(&store, &mock));
    let s = start_with(builder).await;
    let with = |k: &str, v: Value| {
        let mut b = aapl("yahoo");
        b[k] = v;
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (json!([1, 2]), "body"),
        (json!({"symbols": ["A"], "start": "2020-01-02"}), "table"),
        (with("table", json!("../etc")), "table"),
        (with("start", json!("2020-13-01")), "start"),
        (with("start", Value::Null), "start"),
        (with("end", json!("2019-12-31")), "end"),
        (with("source", json!("bloomberg")), "source"),
        (with("symbols", json!([])), "symbols"),
        (with("symbols", json!("AAPL")), "symbols"),
        (with("symbols", json!(["AA PL"])), "symbols"),
        (with("sector", json!("Energy")), "symbols"),
        (with("symbols", Value::Null), "symbols"),
        (with("limit", json!(3)), "limit"),
        (with("start", json!(20200102)), "start"),
    ];
    for (body, param) in cases {
        let r = post(&s, Some(ADMIN_KEY), &body).await;
        expect_error(r, 400, "bad_request", Some(param)).await;
    }
    let r = s
        .client
        .post(s.url("/api/v1/backfill"))
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "application/json")
        .body("{\"table\": ")
        .send()
        .await
        .unwrap();
    expect_error(r, 400, "bad_request", Some("body")).await;
    let r = post(&s, Some(ADMIN_KEY), &with("table", json!("bonds_daily"))).await;
    expect_error(r, 404, "unknown_table", Some("table")).await;
    let mut by_sector = with("symbols", Value::Null);
    by_sector["sector"] = json!("Nothing");
    let r = post(&s, Some(ADMIN_KEY), &by_sector).await;
    expect_error(r, 404, "unknown_sector", Some("sector")).await;
    let r = s.client.get(s.url("/api/v1/backfill/status?job_id=nope")).bearer_auth(READ_KEY);
    expect_error(r.send().await.unwrap(), 404, "unknown_job", Some("job_id")).await;
    // Scopes: no key, a read key.
    expect_error(post(&s, None, &aapl("yahoo")).await, 401, "unauthorized", None).await;
    expect_error(post(&s, Some(READ_KEY), &aapl("yahoo")).await, 403, "forbidden", None).await;
    let r = s.client.get(s.url("/api/v1/backfill/status")).send().await.unwrap();
    expect_error(r, 401, "unauthorized", None).await;
    // Nothing ran: no request reached the vendor, no job is kept.
    assert!(mock.seen().is_empty());
    let (_, v) = get(&s, "/api/v1/backfill/status").await;
    assert_eq!(v, json!({"jobs": [], "tables": []}));
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_providers_posts_are_503_and_status_has_no_members() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let s = start(store, keys()).await;
    let r = post(&s, Some(ADMIN_KEY), &aapl("yahoo")).await;
    expect_error(r, 503, "backfill_unavailable", None).await;
    let (status, v) = get(&s, "/api/v1/backfill/status").await;
    assert_eq!((status, v), (200, json!({"jobs": [], "tables": []})));
    let (_, v) = get(&s, "/api/v1/status").await;
    assert!(v.get("backfill").is_none() && v.get("scheduler").is_none(), "{v}");
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_runs_a_due_slot_inside_the_server() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = Store::open(&root).unwrap();
    // A slot two minutes ago (UTC): a misfire within the six-hour grace, run at start-up.
    let at = (chrono::Utc::now() - chrono::Duration::minutes(2)).format("%H:%M").to_string();
    let toml = format!(
        "[schedule]\ntime = \"{at}\"\ntimezone = \"UTC\"\ntable = \"stocks_daily\"\n\
         universe = [\"AAPL\"]\nlookback_days = 3\n"
    );
    let config = ScheduleConfig::from_toml(&toml, std::path::Path::new("c.toml")).unwrap();
    let builder = Server::builder(store.clone(), keys())
        .with_backfill(backfill(&store, &mock))
        .with_schedule(Scheduler::new(config, &root, 2));
    let s = start_with(builder).await;
    let mut sched = Value::Null;
    for _ in 0..200 {
        let (_, v) = get(&s, "/api/v1/status").await;
        sched = v["scheduler"].clone();
        if sched["last_outcome"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sched["enabled"], true, "{sched}");
    assert_eq!((&sched["at"], &sched["tz"]), (&json!(at), &json!("UTC")));
    assert!(sched["last_run"].is_string() && sched["next_run"].is_string(), "{sched}");
    // The window is the last three days: the vendor's 2020 bar is outside it.
    assert_eq!(sched["last_outcome"], "1 ok, 0 failed, 0 skipped; 0 bars written, 1 requests");
    // The run went through the runner: it is a job.
    let (_, jobs) = get(&s, "/api/v1/backfill/status").await;
    assert_eq!(jobs["jobs"][0]["symbols"], json!(["AAPL"]), "{jobs}");
    assert_eq!(jobs["jobs"][0]["status"], "succeeded", "{jobs}");
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_needs_a_runner_over_the_served_store() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("a")).unwrap();
    let other = Store::open(dir.path().join("b")).unwrap();
    let toml = "[schedule]\ntime = \"18:30\"\ntimezone = \"UTC\"\ntable = \"stocks_daily\"\n\
                universe = [\"AAPL\"]\n";
    let config = ScheduleConfig::from_toml(toml, std::path::Path::new("c.toml")).unwrap();
    let addr = "127.0.0.1:0".parse().unwrap();
    let e = Server::builder(store.clone(), keys())
        .with_schedule(Scheduler::new(config, dir.path().join("a"), 1))
        .bind(addr)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("backfill runner"), "{e}");
    let e = Server::builder(store, keys())
        .with_backfill(backfill(&other, &mock))
        .bind(addr)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("serves"), "{e}");
}
