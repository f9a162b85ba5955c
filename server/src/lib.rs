//! # candlestore-server
//!
//! An HTTP server over a candlestore [`Store`](candlestore::Store): range scans of one or
//! several symbols as JSON, F4 CSV, Arrow IPC or Parquet, streamed batch by batch with
//! cursor pagination; the store's status, tables, symbol master and corrections log;
//! Prometheus metrics; API keys with scopes and per-key rate limits. axum on tokio; the
//! synchronous engine runs on blocking threads.
//!
//! | endpoint | scope |
//! |---|---|
//! | `GET /health` | none |
//! | `GET /api/v1/status`, `/api/v1/tables`, `/api/v1/symbols?table=&sector=&exchange=&q=` | read |
//! | `GET /api/v1/bars/{table}/{symbol}?start=&end=&fields=&format=&validated_only=&min_quality=&as_of=&limit=&cursor=` | read |
//! | `POST /api/v1/query` (JSON body: `table`, one of `symbols`/`sector`/`exchange`, and the options above) | read |
//! | `GET /api/v1/corrections/{table}/{symbol}?start=&end=` | read |
//! | `GET /api/v1/quality/{table}/{symbol}?start=&end=` (validation rate, scores, gaps, anomalies, notes) | read |
//! | `GET /api/v1/screen/{table}?date=&where=rsi<30,close>sma_200&fields=&format=` (one session, every symbol) | read |
//! | `GET /metrics` | read |
//! | `GET /api/v1/backfill/status?job_id=` (jobs kept in memory, per-table job states) | read |
//! | `POST /api/v1/admin/flush`, `POST /api/v1/admin/compact` | admin |
//! | `GET /openapi.json` (OpenAPI 3.0 of every route), `GET /docs` (Swagger UI), `GET /assets/{file}` | none |
//! | `GET /chart/{table}/{symbol}` (candlestick chart page; a browser may bring its key as `?key=`) | read |
//! | `POST /api/v1/backfill` (JSON: `table`, `symbols` or `sector`, `start`, `end`, `source`; 202 with the job) | admin |
//!
//! Freshness (`data_age_seconds`, `is_stale`) is measured against the table's trading
//! calendar with the `[freshness]` thresholds ([`ServerBuilder::with_freshness`]). With
//! [`ServerBuilder::with_backfill`] the server runs backfill jobs (one at a time per table)
//! and, with [`ServerBuilder::with_schedule`], the daily schedule; `/api/v1/status` then has
//! `backfill` and `scheduler` members.
//!
//! Every error is `{ "error": { "code", "message", "param" } }` with a 4xx status for a bad
//! request. Range reads answer with `X-Data-Age-Seconds`, `X-Is-Stale`, `X-Newest-Bar` and,
//! when a `limit` leaves rows for another page, `X-Next-Cursor`; JSON carries the same in its
//! envelope (`data_age_seconds`, `is_stale`, `newest_bar`, `next_cursor`, `data`, `rows`).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use candlestore::Store;
//! use candlestore_server::{Server, ServerConfig, shutdown_signal};
//!
//! let store = Store::open("candlestore-demo")?;
//! let server = Server::builder(store, ServerConfig::default().with_public_read(true))
//!     .bind("127.0.0.1:8080".parse()?)
//!     .await?;
//! server.serve(shutdown_signal()).await?;
//! # Ok(()) }
//! ```

mod assets;
mod auth;
mod backfill;
mod body;
mod config;
mod cursor;
mod error;
mod freshness;
mod metrics;
mod openapi;
mod params;
mod range;
mod rate;
mod routes;
mod scheduler;
mod screen;
mod server;
mod state;
mod status;

pub use auth::{KeyHash, Scope};
pub use config::{ApiKey, ConfigError, DEFAULT_ADDR, RateLimit, ServerConfig};
pub use error::{ApiError, ServeError};
pub use server::{Server, ServerBuilder, serve_until_signal, shutdown_signal};
