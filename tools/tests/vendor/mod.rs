//! Shared by the CLI tests that talk to a local mock of the vendors: the real answers in
//! testdata/api-samples, a server for a mock's routes, and the binary pointed at it.

#![allow(dead_code)] // each test crate uses its own subset

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};

use axum::Router;

/// A real vendor answer from testdata/api-samples.
pub(crate) fn sample(rel: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/api-samples").join(rel))
        .unwrap()
}

/// Serves `app` on a free local port, on a thread of its own, for the rest of the test.
pub(crate) fn serve(app: Router) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

/// Runs the binary with every vendor's base URL (and a dummy key) pointed at `addr`.
pub(crate) fn run(addr: SocketAddr, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_candlestore"));
    cmd.args(args);
    for name in ["POLYGON", "BINANCE", "YAHOO", "TWELVEDATA"] {
        cmd.env(format!("CANDLESTORE_{name}_BASE_URL"), format!("http://{addr}"));
        cmd.env(format!("CANDLESTORE_{name}_API_KEY"), "k");
    }
    cmd.output().unwrap()
}

/// stdout then stderr, as text.
pub(crate) fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}
