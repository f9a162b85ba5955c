//! API keys: SHA-256 hashes compared in constant time, scopes, and the middleware that
//! answers 401/403/429 before a handler runs.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::rate::Client;
use crate::state::AppState;

/// What a key may do. `admin` includes `read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read endpoints: bars, queries, status, symbols, corrections, metrics.
    Read,
    /// Administrative endpoints (flush, compaction; later backfills).
    Admin,
}

impl Scope {
    fn name(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }
}

/// The SHA-256 of an API key. Only hashes are configured and kept, so a leaked config file
/// does not leak keys.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KeyHash([u8; 32]);

impl std::fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyHash({})", self.to_hex())
    }
}

impl KeyHash {
    /// The hash of `secret`.
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// Parses 64 hexadecimal digits (either case).
    pub fn from_hex(hex: &str) -> Option<Self> {
        let hex = hex.trim().as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.chunks_exact(2).enumerate() {
            let digit = |b: u8| (b as char).to_digit(16);
            out[i] = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()?;
        }
        Some(Self(out))
    }

    /// Lower-case hexadecimal.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Equality that takes the same time whatever the bytes: no early exit on the first
    /// difference, so response timing does not reveal how much of a hash matched.
    fn ct_eq(&self, other: &KeyHash) -> bool {
        let diff = self.0.iter().zip(other.0.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(diff) == 0
    }
}

/// Who is making a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Caller {
    /// A configured key, by index into the config's key list.
    Key(usize),
    /// No key (allowed on public endpoints).
    Anonymous,
}

/// Finds the presented key among the configured ones. Every configured hash is compared,
/// whatever matched, in constant time each.
fn find_key(state: &AppState, presented: &str) -> Option<usize> {
    let hash = KeyHash::of(presented);
    let mut found = None;
    for (i, key) in state.config.keys.iter().enumerate() {
        if key.hash.ct_eq(&hash) && found.is_none() {
            found = Some(i);
        }
    }
    found
}

/// The key in `Authorization: Bearer <key>` or `X-API-Key: <key>`.
pub(crate) fn presented_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    if let Some(v) = headers.get("x-api-key") {
        let key =
            v.to_str().map_err(|_| ApiError::unauthorized("the X-API-Key header is not text"))?;
        return Ok(Some(key.trim().to_owned()));
    }
    let Some(v) = headers.get(axum::http::header::AUTHORIZATION) else { return Ok(None) };
    let v =
        v.to_str().map_err(|_| ApiError::unauthorized("the Authorization header is not text"))?;
    match v.split_once(' ') {
        Some((scheme, key)) if scheme.eq_ignore_ascii_case("bearer") => {
            Ok(Some(key.trim().to_owned()))
        }
        _ => Err(ApiError::unauthorized("use `Authorization: Bearer <key>` or `X-API-Key: <key>`")),
    }
}

/// Checks the caller against the scope a route needs, then the caller's rate limit.
pub(crate) async fn require(
    State((state, scope)): State<(Arc<AppState>, Scope)>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let presented = presented_key(request.headers())?;
    authorize(&state, presented.as_deref(), scope, peer)?;
    Ok(next.run(request).await)
}

/// Whether a caller presenting `key` (or none) from `peer` may use a `scope` route now:
/// 401 for no key or a wrong one, 403 for a key without the scope, 429 over the rate limit.
pub(crate) fn authorize(
    state: &AppState,
    key: Option<&str>,
    scope: Scope,
    peer: Option<IpAddr>,
) -> Result<(), ApiError> {
    let caller = match key {
        Some(key) => match find_key(state, key) {
            Some(i) => Caller::Key(i),
            None => return Err(ApiError::unauthorized("the API key is not valid")),
        },
        None => Caller::Anonymous,
    };
    match &caller {
        Caller::Anonymous if scope == Scope::Read && state.config.public_read => {}
        Caller::Anonymous => {
            return Err(ApiError::unauthorized(format!(
                "this endpoint needs an API key with the {:?} scope",
                scope.name()
            )));
        }
        Caller::Key(i) => {
            let key = &state.config.keys[*i];
            let allowed = key.scopes.iter().any(|&s| s == scope || s == Scope::Admin);
            if !allowed {
                return Err(ApiError::forbidden(format!(
                    "the key {:?} does not have the {:?} scope",
                    key.name,
                    scope.name()
                )));
            }
        }
    }
    let client = match caller {
        Caller::Key(i) => Client::Key(i),
        Caller::Anonymous => Client::Address(peer),
    };
    if let Err(wait) = state.limiter.check(&client) {
        state.metrics.rate_limited();
        return Err(ApiError::rate_limited(wait));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_sha256_in_hex() {
        let h = KeyHash::of("abc");
        assert_eq!(h.to_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(KeyHash::from_hex(&h.to_hex().to_uppercase()), Some(h));
        assert_eq!(KeyHash::from_hex("ba78"), None);
        assert_eq!(KeyHash::from_hex(&"g".repeat(64)), None);
        assert!(h.ct_eq(&KeyHash::of("abc")));
        assert!(!h.ct_eq(&KeyHash::of("abd")));
    }

    #[test]
    fn keys_come_from_either_header() {
        let mut h = HeaderMap::new();
        assert_eq!(presented_key(&h).unwrap(), None);
        h.insert("authorization", "Bearer s3cret ".parse().unwrap());
        assert_eq!(presented_key(&h).unwrap().as_deref(), Some("s3cret"));
        h.insert("authorization", "Basic abc".parse().unwrap());
        assert!(presented_key(&h).is_err());
        h.insert("x-api-key", "k2".parse().unwrap());
        assert_eq!(presented_key(&h).unwrap().as_deref(), Some("k2"));
    }
}
