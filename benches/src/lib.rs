//! Data generators shared by the benchmarks.
