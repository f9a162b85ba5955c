//! One module per subcommand: its clap arguments and its `run`.

pub(crate) mod compact;
pub(crate) mod compute;
pub(crate) mod demo;
pub(crate) mod dump;
pub(crate) mod import;
pub(crate) mod query;
pub(crate) mod repair;
pub(crate) mod symbols;
pub(crate) mod verify;
