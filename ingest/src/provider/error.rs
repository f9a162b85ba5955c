//! Errors of the vendor connectors and of their configuration.
//!
//! A fetch either returns every bar of the range or one of these errors: there is no partial
//! result. Every variant names the provider and, where there is one, the provider's symbol.

use std::path::PathBuf;
use std::time::Duration;

use crate::provider::request::ProviderKind;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The request itself is unusable (empty symbol, end before start).
    #[error("{provider} {symbol}: invalid request: {detail}")]
    InvalidRequest {
        /// The provider asked.
        provider: ProviderKind,
        /// The provider symbol.
        symbol: String,
        /// What is wrong.
        detail: String,
    },

    /// The provider needs an API key and none is configured.
    #[error(
        "{provider}: no API key configured; set api_key in [providers.{provider}] of the config \
         file or the environment variable CANDLESTORE_{env}_API_KEY",
        env = provider.env_name()
    )]
    MissingApiKey {
        /// The provider.
        provider: ProviderKind,
    },

    /// The vendor does not know the symbol (its own "not found" answer).
    #[error("{provider} does not know the symbol {symbol:?}: {message}")]
    UnknownSymbol {
        /// The provider.
        provider: ProviderKind,
        /// The provider symbol asked for.
        symbol: String,
        /// The vendor's message.
        message: String,
    },

    /// The vendor answered with an error it considers final (bad key, bad parameter, ...).
    #[error("{provider} {symbol}: the vendor refused the request (HTTP {status}{code}): {message}",
        code = code.as_ref().map(|c| format!(", code {c}")).unwrap_or_default())]
    Vendor {
        /// The provider.
        provider: ProviderKind,
        /// The provider symbol.
        symbol: String,
        /// The HTTP status of the answer.
        status: u16,
        /// The vendor's own error code, when it sends one.
        code: Option<String>,
        /// The vendor's message (or the start of the body).
        message: String,
    },

    /// The response could not be read as the vendor's wire format: truncated or malformed JSON,
    /// a missing field, arrays of different lengths, an unparseable number or date.
    #[error("{provider} {symbol}: malformed response{page}: {detail}",
        page = if *page > 0 { format!(" (page {page})") } else { String::new() })]
    Malformed {
        /// The provider.
        provider: ProviderKind,
        /// The provider symbol.
        symbol: String,
        /// 1-based page of a paginated fetch (0 when not known).
        page: u32,
        /// What was wrong, with the JSON line/column where known.
        detail: String,
    },

    /// Transient failures (429, 5xx, timeouts, connection errors) went on past the retries.
    #[error("{provider} {symbol}: giving up after {attempts} attempts; last failure: {last}")]
    RetriesExhausted {
        /// The provider.
        provider: ProviderKind,
        /// The provider symbol.
        symbol: String,
        /// Requests sent for this page, including the first.
        attempts: u32,
        /// The last failure.
        last: String,
    },

    /// The vendor asked to wait longer (`Retry-After`) than the configured maximum.
    #[error(
        "{provider} {symbol}: rate limited and asked to wait {wait:?} (Retry-After), more than the \
         {max:?} allowed"
    )]
    RetryAfterTooLong {
        /// The provider.
        provider: ProviderKind,
        /// The provider symbol.
        symbol: String,
        /// The wait asked for.
        wait: Duration,
        /// The longest wait the retry policy accepts.
        max: Duration,
    },

    /// The provider's circuit breaker is open after repeated failures; nothing was sent.
    #[error("{provider}: circuit breaker open after repeated failures; next trial in {retry_in:?}")]
    CircuitOpen {
        /// The provider.
        provider: ProviderKind,
        /// Time until the breaker lets a trial request through.
        retry_in: Duration,
    },

    /// More pages than any real range needs, or a pagination cursor that repeats.
    #[error("{provider} {symbol}: pagination did not end: {detail}")]
    Pagination {
        /// The provider.
        provider: ProviderKind,
        /// The provider symbol.
        symbol: String,
        /// What went wrong.
        detail: String,
    },

    /// The HTTP client could not be built (TLS backend initialisation).
    #[error("{provider}: cannot build the HTTP client: {source}")]
    Client {
        /// The provider.
        provider: ProviderKind,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },

    /// The fallback chain has no provider mapped for the symbol.
    #[error("{symbol}: no provider of the {asset_class} chain has a symbol mapping for it")]
    NoProvider {
        /// The engine symbol.
        symbol: String,
        /// The asset class whose chain was tried.
        asset_class: String,
    },

    /// Every provider of a fallback chain failed; each failure is kept, in order.
    #[error("{symbol}: every provider failed: {}",
        failures.iter().map(|f| f.error.to_string()).collect::<Vec<_>>().join("; "))]
    AllProvidersFailed {
        /// The engine symbol.
        symbol: String,
        /// What each provider answered, in the order tried.
        failures: Vec<ProviderFailure>,
    },

    /// Assembling the Arrow batch failed (an internal invariant; reported, never panicked on).
    #[error("{provider} {symbol}: cannot assemble the bar batch: {source}")]
    Arrow {
        /// The provider.
        provider: ProviderKind,
        /// The provider symbol.
        symbol: String,
        /// The underlying error.
        #[source]
        source: arrow::error::ArrowError,
    },
}

impl FetchError {
    /// The provider the error is about (`None` for fallback-chain errors).
    pub fn provider(&self) -> Option<ProviderKind> {
        match self {
            FetchError::InvalidRequest { provider, .. }
            | FetchError::MissingApiKey { provider }
            | FetchError::UnknownSymbol { provider, .. }
            | FetchError::Vendor { provider, .. }
            | FetchError::Malformed { provider, .. }
            | FetchError::RetriesExhausted { provider, .. }
            | FetchError::RetryAfterTooLong { provider, .. }
            | FetchError::CircuitOpen { provider, .. }
            | FetchError::Pagination { provider, .. }
            | FetchError::Client { provider, .. }
            | FetchError::Arrow { provider, .. } => Some(*provider),
            FetchError::NoProvider { .. } | FetchError::AllProvidersFailed { .. } => None,
        }
    }
}

/// One provider's failure inside a fallback chain.
#[derive(Debug)]
pub struct ProviderFailure {
    /// The provider tried.
    pub provider: ProviderKind,
    /// What went wrong.
    pub error: FetchError,
}

/// A problem with the connector configuration (file or environment).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}", path = path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The file is not valid TOML, or a `[providers.*]` section has an unknown key or a value of
    /// the wrong type (the message names the line and column).
    #[error("{origin}: {source}")]
    Toml {
        /// The file name, or `<string>`.
        origin: String,
        /// The parser's error, with line and column.
        #[source]
        source: toml::de::Error,
    },

    /// A provider name that is none of polygon, binance, yahoo, twelvedata.
    #[error("unknown provider {name:?}; known providers: polygon, binance, yahoo, twelvedata")]
    UnknownProvider {
        /// The name given.
        name: String,
    },

    /// A timeframe that is none of 1d, 1h, 1m.
    #[error("unknown timeframe {name:?}; use 1d, 1h or 1m")]
    UnknownTimeframe {
        /// The name given.
        name: String,
    },

    /// An asset class that is none of equity, crypto, fx.
    #[error("unknown asset class {name:?}; use equity, crypto or fx")]
    UnknownAssetClass {
        /// The name given.
        name: String,
    },

    /// A setting has an unusable value.
    #[error("{origin}: {key} = {value:?} is invalid: {reason}")]
    InvalidValue {
        /// Where the value came from (`file [providers.polygon]` or the environment variable).
        origin: String,
        /// The key.
        key: String,
        /// The value as given.
        value: String,
        /// Why it is refused.
        reason: String,
    },
}
