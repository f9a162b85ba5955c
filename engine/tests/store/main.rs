//! Integration tests of the store, grouped into one binary.

mod basic;
mod crash;
mod model;
mod support;
mod upsert;
