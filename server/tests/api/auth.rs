//! API keys and scopes (401/403), public reads, and the per-key rate limit (429).

use candlestore_server::{ApiKey, KeyHash, RateLimit, Scope, ServerConfig};

use crate::fixture::{expect_error, shared, start};

const READ_KEY: &str = "read-key-0123456789abcdef";
const ADMIN_KEY: &str = "admin-key-0123456789abcdef";

fn keyed() -> ServerConfig {
    // As an operator writes it: hashes only, in a TOML file with other sections.
    ServerConfig::from_toml(&format!(
        "[schedule]\nevery = \"1d\"\n[server]\n[[server.keys]]\nname = \"research\"\nsha256 = \"{}\"\nscopes = [\"read\"]\n[[server.keys]]\nname = \"ops\"\nsha256 = \"{}\"\nscopes = [\"admin\"]\n",
        KeyHash::of(READ_KEY).to_hex(),
        KeyHash::of(ADMIN_KEY).to_hex()
    ))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_scopes() {
    let s = start(shared().store.clone(), keyed()).await;
    let get = |path: &str, key: Option<&str>| {
        let mut r = s.client.get(s.url(path));
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        r.send()
    };
    // /health is always public.
    assert_eq!(get("/health", None).await.unwrap().status(), 200);
    let r = get("/api/v1/tables", None).await.unwrap();
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    expect_error(r, 401, "unauthorized", None).await;
    expect_error(
        get("/api/v1/tables", Some("wrong-key-0123456789")).await.unwrap(),
        401,
        "unauthorized",
        None,
    )
    .await;
    expect_error(get("/metrics", None).await.unwrap(), 401, "unauthorized", None).await;
    assert_eq!(get("/api/v1/tables", Some(READ_KEY)).await.unwrap().status(), 200);
    let r = s
        .client
        .get(s.url("/api/v1/bars/stocks_daily/NVDA?limit=1"))
        .header("x-api-key", READ_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // admin includes read.
    assert_eq!(get("/api/v1/status", Some(ADMIN_KEY)).await.unwrap().status(), 200);
    let post = |path: &str, key: Option<&str>| {
        let mut r = s.client.post(s.url(path));
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        r.send()
    };
    let m = expect_error(
        post("/api/v1/admin/compact", Some(READ_KEY)).await.unwrap(),
        403,
        "forbidden",
        None,
    )
    .await;
    assert!(m.contains("research") && m.contains("admin"), "{m}");
    expect_error(post("/api/v1/admin/flush", None).await.unwrap(), 401, "unauthorized", None).await;
    let r = post("/api/v1/admin/flush", Some(ADMIN_KEY)).await.unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v["segments_written"].is_u64(), "{v}");
    let r = s
        .client
        .get(s.url("/api/v1/tables"))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    expect_error(r, 401, "unauthorized", None).await;
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_reads_still_need_a_key_to_administer() {
    let s = start(shared().store.clone(), keyed().with_public_read(true)).await;
    assert_eq!(s.get("/api/v1/symbols").await.status(), 200);
    assert_eq!(s.get("/metrics").await.status(), 200);
    let r = s.client.post(s.url("/api/v1/admin/compact")).send().await.unwrap();
    expect_error(r, 401, "unauthorized", None).await;
    // A wrong key is refused even where no key is needed.
    let r = s
        .client
        .get(s.url("/api/v1/symbols"))
        .bearer_auth("not-a-key-0123456789")
        .send()
        .await
        .unwrap();
    expect_error(r, 401, "unauthorized", None).await;
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_key_has_its_own_rate_limit() {
    let config = ServerConfig::default()
        .with_key(ApiKey::new("a", READ_KEY, &[Scope::Read]))
        .with_key(ApiKey::new("b", ADMIN_KEY, &[Scope::Admin]))
        .with_rate_limit(RateLimit { per_second: 0.01, burst: 2 });
    let s = start(shared().store.clone(), config).await;
    let get = |key: &str| s.client.get(s.url("/api/v1/tables")).bearer_auth(key).send();
    assert_eq!(get(READ_KEY).await.unwrap().status(), 200);
    assert_eq!(get(READ_KEY).await.unwrap().status(), 200);
    let r = get(READ_KEY).await.unwrap();
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((90..=100).contains(&retry), "{retry}");
    expect_error(r, 429, "rate_limited", None).await;
    // The other key is not affected; /health is never limited.
    assert_eq!(get(ADMIN_KEY).await.unwrap().status(), 200);
    for _ in 0..5 {
        assert_eq!(s.get("/health").await.status(), 200);
    }
    let metrics = s
        .client
        .get(s.url("/metrics"))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.lines().any(|l| l == "candlestore_rate_limited_total 1"), "{metrics}");
    s.stop().await.unwrap();
}
