//! Resumable backfills: per symbol, the calendar says what is missing, only that is fetched
//! and stored; job state and a fetch log under `<store>/_ingest/` record every step.

pub(crate) mod error;
pub(crate) mod frame;
pub(crate) mod job;
pub(crate) mod log;
pub(crate) mod plan;
pub(crate) mod state;
pub(crate) mod tickers;
