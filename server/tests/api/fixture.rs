//! A store imported from `testdata/` and a server over it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use candlestore::{AppendOptions, ManualClock, Store};
use candlestore_ingest::ImportOptions;
use candlestore_server::{ServeError, Server, ServerBuilder, ServerConfig};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// 2014-12-31T00:00:00Z, the last NVDA/YHOO bar of the daily files.
pub(crate) const LAST_2014: i64 = 1_419_984_000_000_000;
/// The server's clock in the shared fixture: two days after the last 2014 bar.
pub(crate) const NOW: i64 = LAST_2014 + 2 * 86_400_000_000;
pub(crate) const ORCL_ROWS: usize = 5036;
pub(crate) const DAILY_2014_ROWS: usize = 252;

pub(crate) fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(rel)
}

/// Imports `file` into `table`, adding sector and exchange columns when given.
pub(crate) fn import(store: &Store, table: &str, file: &str, meta: Option<(&str, &str)>) {
    let reader = candlestore_ingest::open(&testdata(file), &ImportOptions::default()).unwrap();
    for batch in reader {
        let batch = batch.unwrap();
        let batch = match meta {
            None => batch,
            Some((sector, exchange)) => {
                let n = batch.num_rows();
                let mut fields: Vec<Field> =
                    batch.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
                let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
                fields.push(Field::new("sector", DataType::Utf8, true));
                fields.push(Field::new("exchange", DataType::Utf8, true));
                columns.push(Arc::new(StringArray::from(vec![sector; n])));
                columns.push(Arc::new(StringArray::from(vec![exchange; n])));
                RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
            }
        };
        let _ = store
            .append_with(table, &batch, &AppendOptions::default().with_source("test"))
            .unwrap();
    }
}

pub(crate) struct Shared {
    pub(crate) store: Store,
    _dir: tempfile::TempDir,
}

/// NVDA and YHOO 2014 (Technology, NASDAQ), ORCL 1995-2014 (Technology, NYSE), BTCUSDT
/// hourly; one NVDA bar revised (a correction).
pub(crate) fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("store")).unwrap();
        import(&store, "stocks_daily", "backtrader/nvda-2014.txt", Some(("Technology", "NASDAQ")));
        import(&store, "stocks_daily", "backtrader/yhoo-2014.txt", Some(("Technology", "NASDAQ")));
        import(
            &store,
            "stocks_daily",
            "backtrader/orcl-1995-2014.txt",
            Some(("Technology", "NYSE")),
        );
        import(&store, "crypto_hourly", "crypto/BTCUSDT-1h-2022-01.csv", None);
        store.flush().unwrap();
        revise_nvda_close(&store, 20.5);
        store.flush().unwrap();
        Shared { store, _dir: dir }
    })
}

/// 2014-03-03T00:00:00Z.
pub(crate) const REVISED_AT: i64 = 1_393_804_800_000_000;

/// Rewrites NVDA's 2014-03-03 bar with another close (a correction of `close` and the
/// fields derived from it).
pub(crate) fn revise_nvda_close(store: &Store, close: f64) {
    let bar = store
        .scan("stocks_daily")
        .symbol("NVDA")
        .time_range(REVISED_AT, REVISED_AT + 1)
        .columns(["symbol", "datetime", "open", "high", "low", "close", "volume"])
        .to_batch()
        .unwrap();
    assert_eq!(bar.num_rows(), 1);
    let mut columns = bar.columns().to_vec();
    columns[5] = Arc::new(arrow::array::Float64Array::from(vec![close]));
    let revised = RecordBatch::try_new(bar.schema(), columns).unwrap();
    let report = store
        .append_with(
            "stocks_daily",
            &revised,
            &AppendOptions::default().with_batch_id("revision-1"),
        )
        .unwrap();
    assert_eq!(report.revised, 1, "{report:?}");
}

/// A running server and a client for it.
pub(crate) struct Running {
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<Result<(), ServeError>>>,
}

impl Running {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub(crate) async fn json(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    /// Asks the server to stop and waits until it has (in-flight requests done, store closed).
    pub(crate) async fn stop(mut self) -> Result<(), ServeError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.handle.take().unwrap().await.unwrap()
    }

    pub(crate) fn trigger_stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    pub(crate) async fn join(mut self) -> Result<(), ServeError> {
        self.handle.take().unwrap().await.unwrap()
    }
}

/// Starts a server over `store` on a free port, its clock at [`NOW`].
pub(crate) async fn start(store: Store, config: ServerConfig) -> Running {
    start_with(Server::builder(store, config).with_clock(Arc::new(ManualClock::new(NOW)))).await
}

/// Starts the server `builder` describes on a free port.
pub(crate) async fn start_with(builder: ServerBuilder) -> Running {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server = builder.bind(addr).await.unwrap();
    let base = format!("http://{}", server.local_addr());
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(server.serve(async move {
        let _ = rx.await;
    }));
    Running { base, client: reqwest::Client::new(), shutdown: Some(tx), handle: Some(handle) }
}

/// A server over the shared store with public reads.
pub(crate) async fn start_shared() -> Running {
    start(shared().store.clone(), ServerConfig::default().with_public_read(true)).await
}

/// Asserts an error response: status, code and param.
pub(crate) async fn expect_error(
    r: reqwest::Response,
    status: u16,
    code: &str,
    param: Option<&str>,
) -> String {
    assert_eq!(r.status().as_u16(), status, "{:?}", r.url().to_string());
    assert_eq!(r.headers()["content-type"], "application/json");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], code, "{v}");
    assert_eq!(v["error"]["param"].as_str(), param, "{v}");
    let message = v["error"]["message"].as_str().unwrap().to_owned();
    assert!(!message.is_empty());
    message
}
