//! The kernel families' own tests: conformance with the reference files (F5.2), bit-for-bit
//! chunk invariance (batch == incremental), and the edge cases of the issue.

#![allow(clippy::float_cmp, clippy::needless_range_loop, unreachable_pub, dead_code)]

mod common;

mod chunks_a;
mod chunks_b;
mod conformance_a;
mod edge_a;
mod edge_b;
mod faults;
mod reference_b;
mod state;
mod state_b;
