//! Compaction: merging the small segments that daily appends leave in a partition into
//! well-sized ones. The policy is a pure function of segment metadata; the executor does
//! the I/O.

mod executor;
mod merge;
mod policy;

pub use executor::CompactionReport;
pub(crate) use merge::{is_sorted_unique, merge_runs, merge_runs_by};
pub(crate) use policy::commit_groups;
pub use policy::{CompactionPolicy, CompactionTask, plan};
