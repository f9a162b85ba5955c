//! The real server on a free port over a real store built from the files in `testdata/`,
//! driven by a real HTTP client.

mod auth;
mod backfill;
mod bars;
mod errors;
mod fixture;
mod freshness;
mod lifecycle;
mod meta;
mod pages;
// The connectors' mock vendor server, replaying the real samples in testdata/api-samples.
#[path = "../../../ingest/tests/connectors/mock.rs"]
#[allow(dead_code)]
mod mock;
mod query;
mod screen;
