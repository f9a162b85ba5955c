//! Integration tests of the store, grouped into one binary.

mod basic;
mod concurrent;
mod crash;
mod extras;
mod model;
mod stats;
mod support;
mod symbols;
mod upsert;
