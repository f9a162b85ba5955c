//! Error classification: which failures are the user's (exit 2) and which are not (exit 1).

use std::fmt;

/// A mistake in the command line (bad value, unknown name, inconsistent options): exit code 2.
#[derive(Debug)]
pub(crate) struct UsageError(String);

impl UsageError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Shorthand for `Err(UsageError::new(..).into())`.
pub(crate) fn usage<T>(message: impl Into<String>) -> anyhow::Result<T> {
    Err(UsageError::new(message).into())
}

/// 2 for usage errors (ours, or the engine rejecting a name or a scan), else 1.
pub(crate) fn exit_code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.is::<UsageError>() {
            return 2;
        }
        if let Some(e) = cause.downcast_ref::<candlestore::Error>()
            && matches!(
                e,
                candlestore::Error::UnknownTable { .. }
                    | candlestore::Error::InvalidTableName { .. }
                    | candlestore::Error::UnknownColumn { .. }
                    | candlestore::Error::InvalidScan { .. }
            )
        {
            return 2;
        }
    }
    1
}
