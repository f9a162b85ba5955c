//! One module per subcommand: its clap arguments and its `run`.

pub(crate) mod backfill;
pub(crate) mod compact;
pub(crate) mod compute;
pub(crate) mod demo;
pub(crate) mod dump;
pub(crate) mod fetch;
pub(crate) mod freshness;
pub(crate) mod gaps;
pub(crate) mod import;
pub(crate) mod log;
pub(crate) mod query;
pub(crate) mod repair;
pub(crate) mod report;
pub(crate) mod schedule;
pub(crate) mod serve;
pub(crate) mod spot_check;
pub(crate) mod symbols;
pub(crate) mod verify;
