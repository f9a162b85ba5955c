//! Binding, serving until a shutdown signal, and closing the store.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use candlestore::{Clock, Store, SystemClock};
use parking_lot::Mutex;

use crate::config::ServerConfig;
use crate::error::ServeError;
use crate::metrics::Metrics;
use crate::rate::Limiter;
use crate::state::AppState;
use crate::status::StatusExtension;

/// Builds a [`Server`].
#[derive(Debug)]
pub struct ServerBuilder {
    store: Store,
    config: ServerConfig,
    clock: Arc<dyn Clock>,
    extension: Option<Arc<dyn StatusExtension>>,
}

impl std::fmt::Debug for dyn StatusExtension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatusExtension")
    }
}

impl ServerBuilder {
    /// The clock that data ages are measured against (tests pin it).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Adds the scheduler and backfill state to `/api/v1/status`.
    pub fn with_status_extension(mut self, extension: Arc<dyn StatusExtension>) -> Self {
        self.extension = Some(extension);
        self
    }

    /// Listens on `addr` (port 0 picks a free port; see [`Server::local_addr`]).
    pub async fn bind(self, addr: SocketAddr) -> Result<Server, ServeError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Bind { addr, source })?;
        let local = listener.local_addr().map_err(|source| ServeError::Bind { addr, source })?;
        let openapi = bytes::Bytes::from(crate::openapi::document(&self.config).to_string());
        let state = Arc::new(AppState {
            store: self.store,
            limiter: Limiter::new(self.config.rate_limit),
            config: self.config,
            metrics: Metrics::default(),
            clock: self.clock,
            audit_cache: Mutex::default(),
            extension: self.extension,
            openapi,
        });
        Ok(Server { state, listener, addr: local })
    }
}

/// A bound HTTP server over one store.
#[derive(Debug)]
pub struct Server {
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
}

impl Server {
    /// A builder serving `store` with `config`.
    pub fn builder(store: Store, config: ServerConfig) -> ServerBuilder {
        ServerBuilder { store, config, clock: Arc::new(SystemClock::default()), extension: None }
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish (streamed
    /// bodies included), and closes the store: unflushed rows are flushed so the next open
    /// replays no log. Returns once all of that is done.
    pub async fn serve<F>(self, shutdown: F) -> Result<(), ServeError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let app = crate::routes::router(self.state.clone());
        axum::serve(self.listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|source| ServeError::Io { source })?;
        let store = self.state.store.clone();
        let closed = tokio::task::spawn_blocking(move || -> Result<(), candlestore::Error> {
            if !store.stats()?.read_only {
                store.flush()?;
            }
            Ok(())
        })
        .await;
        match closed {
            Ok(r) => r.map_err(|source| ServeError::Close { source }),
            Err(e) => Err(ServeError::Io { source: std::io::Error::other(e) }),
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// Runs a server on its own multi-threaded runtime until SIGINT or SIGTERM (for binaries
/// without a runtime of their own). `on_ready` gets the bound address before serving.
pub fn serve_until_signal(
    builder: ServerBuilder,
    addr: SocketAddr,
    on_ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| ServeError::Runtime { source })?;
    runtime.block_on(async move {
        let server = builder.bind(addr).await?;
        on_ready(server.local_addr());
        server.serve(shutdown_signal()).await
    })
}
