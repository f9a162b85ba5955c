//! `candlestore serve`: key hashing, serving a store, stopping on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_candlestore"))
}

fn testdata(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(rel).display().to_string()
}

#[test]
fn hash_key_prints_the_sha256() {
    let o = bin().args(["serve", "--hash-key", "abcdefghijklmnopqrstuvwxyz"]).output().unwrap();
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "71c480df93d6ae2f1efad1447c66c9525e316218cf51fc8d9ed832f2daf18b73\n"
    );
    let o = bin().args(["serve", "--hash-key", "short"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = bin().args(["serve"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "--store is required");
}

fn http_get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serves_a_store_until_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    let nvda = testdata("backtrader/nvda-2014.txt");
    let o = bin()
        .args(["import", "--store", &store, "--table", "stocks_daily", &nvda])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[server]\nrate_limit = { burst = 0 }\n").unwrap();
    let o = bin()
        .args(["serve", "--store", &store, "--config", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("server.rate_limit.burst"));

    let mut child = bin()
        .args(["serve", "--store", &store, "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.split_whitespace().find(|w| w.starts_with("http://")).unwrap().to_owned();
    let addr = url.trim_start_matches("http://").to_owned();
    let health = http_get(&addr, "/health");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let csv =
        http_get(&addr, "/api/v1/bars/stocks_daily/NVDA?fields=datetime,close&format=csv&limit=2");
    assert!(csv.contains("datetime,close\r\n") || csv.contains("datetime,close\n"), "{csv}");
    assert!(csv.contains("2014-01-02T00:00:00.000000Z,"), "{csv}");
    let kill = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(rest.iter().any(|l| l.starts_with("stopped")), "{rest:?}");
}

#[test]
fn providers_give_a_backfill_runner_and_schedule_needs_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    let nvda = testdata("backtrader/nvda-2014.txt");
    let o = bin()
        .args(["import", "--store", &store, "--table", "stocks_daily", &nvda])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let no_env = |mut c: Command| {
        for name in ["POLYGON", "BINANCE", "YAHOO", "TWELVEDATA"] {
            c.env_remove(format!("CANDLESTORE_{name}_BASE_URL"));
            c.env_remove(format!("CANDLESTORE_{name}_API_KEY"));
        }
        c
    };
    // --schedule needs --config (clap), and providers to run through.
    let o = no_env(bin()).args(["serve", "--store", &store, "--schedule"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let config = dir.path().join("c.toml");
    // A slot 6 h ahead: yesterday's is beyond the 6 h grace, so nothing runs during the test.
    let at = (chrono::Utc::now() + chrono::Duration::hours(6)).format("%H:%M").to_string();
    std::fs::write(
        &config,
        format!(
            "[server]\npublic_read = true\n[schedule]\ntime = \"{at}\"\ntimezone = \
             \"UTC\"\ntable = \"stocks_daily\"\nuniverse = [\"NVDA\"]\n[freshness]\n\
             stocks = \"2d\"\n"
        ),
    )
    .unwrap();
    let args = ["serve", "--store", &store, "--config", config.to_str().unwrap(), "--schedule"];
    let o = no_env(bin()).args(args).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--schedule needs"));
    // Nor on a read-only store, even with a provider.
    let mut ro = no_env(bin());
    ro.env("CANDLESTORE_YAHOO_BASE_URL", "http://127.0.0.1:9").arg("--read-only");
    let o = ro.args(args).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--schedule needs"));

    // A configured provider (here only by the environment): a runner and the schedule.
    let mut cmd = no_env(bin());
    cmd.env("CANDLESTORE_YAHOO_BASE_URL", "http://127.0.0.1:9");
    let mut child = cmd
        .args(args)
        .args(["--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.split_whitespace().find(|w| w.starts_with("http://")).unwrap().to_owned();
    let addr = url.trim_start_matches("http://").to_owned();
    let status = http_get(&addr, "/api/v1/status");
    assert!(status.contains("\"backfill\":{\"last_job\":null,\"running\":0}"), "{status}");
    assert!(status.contains("\"tz\":\"UTC\""), "{status}");
    assert!(status.contains(&format!("\"at\":\"{at}\"")), "{status}");
    // The [freshness] threshold of the same file.
    assert!(status.contains("\"stale_after_seconds\":172800"), "{status}");
    let kill = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    assert!(child.wait().unwrap().success());
}
