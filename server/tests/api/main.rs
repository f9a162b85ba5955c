//! The real server on a free port over a real store built from the files in `testdata/`,
//! driven by a real HTTP client.

mod auth;
mod bars;
mod errors;
mod fixture;
mod lifecycle;
mod meta;
mod pages;
mod query;
mod screen;
