//! Errors: [`ApiError`] is what a client sees (`{ "error": { "code", "message", "param" } }`
//! with a 4xx or 5xx status); [`ServeError`] is what stops the server.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answered to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code (`unknown_symbol`, `invalid_date`, ...).
    pub code: &'static str,
    /// One sentence saying what was wrong.
    pub message: String,
    /// The request parameter at fault, if one is.
    pub param: Option<String>,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), param: None, retry_after: None }
    }

    /// Names the parameter at fault.
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// 400 for a bad value of `param`.
    pub(crate) fn invalid(code: &'static str, param: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message).with_param(param)
    }

    /// 404 for a table, symbol, sector or exchange that does not exist.
    pub(crate) fn not_found(code: &'static str, param: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message).with_param(param)
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub(crate) fn rate_limited(wait: Duration) -> Self {
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests for this key: retry in {secs} s"),
        );
        e.retry_after = Some(secs);
        e
    }

    /// 500: a fault of the server or the store, never of the request. The message names
    /// the failure (there is no secret in the store's errors).
    pub(crate) fn internal(what: &str, err: &dyn std::error::Error) -> Self {
        let mut message = format!("{what}: {err}");
        let mut source = err.source();
        while let Some(s) = source {
            message.push_str(&format!(": {s}"));
            source = s.source();
        }
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// Seconds a rate-limited client should wait.
    pub(crate) fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        #[derive(Serialize)]
        struct Inner<'a> {
            code: &'a str,
            message: &'a str,
            param: Option<&'a str>,
        }
        serde_json::json!({ "error": Inner {
            code: self.code,
            message: &self.message,
            param: self.param.as_deref(),
        }})
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// What stops the server from starting or running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The listening address cannot be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The server's I/O failed while running.
    #[error("the server failed")]
    Io {
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The async runtime cannot be started.
    #[error("cannot start the async runtime")]
    Runtime {
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A schedule was given without a backfill runner to run it.
    #[error("the schedule needs a backfill runner (configure the vendor providers)")]
    ScheduleWithoutBackfill,
    /// The backfill writes to another store than the one served.
    #[error("the backfill writes to {backfill:?}, but the server serves {served:?}")]
    BackfillStoreMismatch {
        /// The served store's directory.
        served: Option<std::path::PathBuf>,
        /// The backfill's store directory.
        backfill: Option<std::path::PathBuf>,
    },
    /// Closing the store (the final flush) failed.
    #[error("closing the store failed")]
    Close {
        /// The store's error.
        #[source]
        source: candlestore::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_names_code_message_and_param() {
        let e = ApiError::invalid("invalid_date", "start", "start \"x\" is not a date");
        assert_eq!(
            e.body(),
            serde_json::json!({"error": {"code": "invalid_date", "message": "start \"x\" is not a date", "param": "start"}})
        );
        let r = ApiError::rate_limited(Duration::from_millis(1500)).into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "2");
    }
}
