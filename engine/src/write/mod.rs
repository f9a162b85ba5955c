//! The write path: conform and validate an appended batch, then upsert it.

pub(crate) mod audit;
pub(crate) mod normalize;
mod upsert;

pub use normalize::{InvalidRows, is_valid_symbol};
pub(crate) use normalize::{Normalized, ORIGIN_KEY, ORIGIN_MASTER, conform, validate};
pub(crate) use upsert::{Applied, ExistingRows, Found, WriteContext, apply};
