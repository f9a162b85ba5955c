//! Binding, serving until a shutdown signal, and closing the store.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use candlestore::{Clock, Store, SystemClock};
use candlestore_ingest::{Backfill, FreshnessConfig, Scheduler};
use parking_lot::Mutex;

use crate::backfill::BackfillRunner;
use crate::config::ServerConfig;
use crate::error::ServeError;
use crate::metrics::Metrics;
use crate::rate::Limiter;
use crate::scheduler::ServerScheduler;
use crate::state::AppState;

/// Builds a [`Server`].
#[derive(Debug)]
pub struct ServerBuilder {
    store: Store,
    config: ServerConfig,
    clock: Arc<dyn Clock>,
    thresholds: FreshnessConfig,
    backfill: Option<Backfill>,
    schedule: Option<Scheduler>,
}

impl ServerBuilder {
    /// The clock that data ages are measured against (tests pin it).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The server settings.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Staleness thresholds per asset class (the config file's `[freshness]` section; the
    /// defaults otherwise).
    pub fn with_freshness(mut self, thresholds: FreshnessConfig) -> Self {
        self.thresholds = thresholds;
        self
    }

    /// Runs `POST /api/v1/backfill` jobs with `backfill` (whose store must be the served
    /// one). Without it that endpoint answers 503 `backfill_unavailable`.
    pub fn with_backfill(mut self, backfill: Backfill) -> Self {
        self.backfill = Some(backfill);
        self
    }

    /// Runs the daily schedule inside the server, through the backfill runner (so
    /// [`with_backfill`](Self::with_backfill) is required).
    pub fn with_schedule(mut self, scheduler: Scheduler) -> Self {
        self.schedule = Some(scheduler);
        self
    }

    /// Listens on `addr` (port 0 picks a free port; see [`Server::local_addr`]).
    pub async fn bind(self, addr: SocketAddr) -> Result<Server, ServeError> {
        if self.schedule.is_some() && self.backfill.is_none() {
            return Err(ServeError::ScheduleWithoutBackfill);
        }
        // Jobs must write where reads are served from (and where the state files are read).
        if let Some(b) = &self.backfill
            && b.store().root() != self.store.root()
        {
            return Err(ServeError::BackfillStoreMismatch {
                served: self.store.root().map(std::path::Path::to_path_buf),
                backfill: b.store().root().map(std::path::Path::to_path_buf),
            });
        }
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
            backfill: self.backfill.map(|b| Arc::new(BackfillRunner::new(b, self.clock.clone()))),
            scheduler: self.schedule.map(|s| Arc::new(ServerScheduler::new(s))),
            clock: self.clock,
            thresholds: self.thresholds,
            audit_cache: Mutex::default(),
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
        ServerBuilder {
            store,
            config,
            clock: Arc::new(SystemClock::default()),
            thresholds: FreshnessConfig::default(),
            backfill: None,
            schedule: None,
        }
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
        let schedule = match (&self.state.scheduler, &self.state.backfill) {
            (Some(s), Some(runner)) => Some(tokio::spawn(s.clone().run(runner.clone()))),
            _ => None,
        };
        let served =
            axum::serve(self.listener, app.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(shutdown)
                .await;
        // No new scheduled run starts once the server stops (a run in progress is a task
        // of the runner and ends with the runtime; the backfill resumes by gaps).
        if let Some(task) = schedule {
            task.abort();
        }
        served.map_err(|source| ServeError::Io { source })?;
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
