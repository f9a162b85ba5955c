//! The `[server]` section of the TOML config file. Other sections (`[providers.*]`,
//! `[freshness]`, `[schedule]`, ...) belong to other components and are ignored here.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::auth::{KeyHash, Scope};

/// Default listening address: localhost only.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// Server settings.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Address to listen on (the command line's `--addr` wins).
    pub addr: Option<SocketAddr>,
    /// Whether read endpoints answer requests without an API key.
    pub public_read: bool,
    /// The API keys.
    pub keys: Vec<ApiKey>,
    /// Per-key (and, for public reads, per-client-address) request rate limit.
    pub rate_limit: RateLimit,
    /// Largest `limit` a page may ask for.
    pub max_page_rows: u64,
    /// Most symbols one `POST /api/v1/query` may select (413 beyond).
    pub max_query_symbols: usize,
    /// Largest request body in bytes (413 beyond).
    pub max_body_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            addr: None,
            public_read: false,
            keys: Vec::new(),
            rate_limit: RateLimit::default(),
            max_page_rows: 1_000_000,
            max_query_symbols: 1_000,
            max_body_bytes: 64 * 1024,
        }
    }
}

impl ServerConfig {
    /// Reads the `[server]` section of a TOML file (a file without one gives the defaults).
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        Self::from_toml(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => {
                ConfigError::Parse { path: Some(path.to_path_buf()), message }
            }
            e => e,
        })
    }

    /// Parses the `[server]` section of a TOML document.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let file: FileToml = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: None, message: e.to_string() })?;
        let s = file.server.unwrap_or_default();
        let defaults = ServerConfig::default();
        let mut keys = Vec::with_capacity(s.keys.len());
        for (i, k) in s.keys.into_iter().enumerate() {
            let hash = KeyHash::from_hex(&k.sha256).ok_or_else(|| ConfigError::Invalid {
                field: format!("server.keys[{i}].sha256"),
                reason: "must be 64 hexadecimal digits (`candlestore serve --hash-key KEY` prints \
                         them)"
                    .into(),
            })?;
            if k.scopes.is_empty() {
                return Err(ConfigError::Invalid {
                    field: format!("server.keys[{i}].scopes"),
                    reason: "give at least one scope: \"read\" or \"admin\"".into(),
                });
            }
            if keys.iter().any(|o: &ApiKey| o.name == k.name) {
                return Err(ConfigError::Invalid {
                    field: format!("server.keys[{i}].name"),
                    reason: format!("{:?} is used by two keys", k.name),
                });
            }
            keys.push(ApiKey { name: k.name, hash, scopes: k.scopes });
        }
        let rate = s.rate_limit.unwrap_or_default();
        let rate_limit = RateLimit {
            per_second: rate.per_second.unwrap_or(defaults.rate_limit.per_second),
            burst: rate.burst.unwrap_or(defaults.rate_limit.burst),
        };
        if !(rate_limit.per_second.is_finite() && rate_limit.per_second > 0.0) {
            return Err(ConfigError::Invalid {
                field: "server.rate_limit.per_second".into(),
                reason: "must be a positive number".into(),
            });
        }
        if rate_limit.burst == 0 {
            return Err(ConfigError::Invalid {
                field: "server.rate_limit.burst".into(),
                reason: "must be at least 1".into(),
            });
        }
        let addr = match s.addr {
            Some(a) => Some(a.parse().map_err(|_| ConfigError::Invalid {
                field: "server.addr".into(),
                reason: format!("{a:?} is not an address such as {DEFAULT_ADDR}"),
            })?),
            None => None,
        };
        Ok(ServerConfig {
            addr,
            public_read: s.public_read.unwrap_or(defaults.public_read),
            keys,
            rate_limit,
            max_page_rows: s.max_page_rows.unwrap_or(defaults.max_page_rows).max(1),
            max_query_symbols: s.max_query_symbols.unwrap_or(defaults.max_query_symbols).max(1),
            max_body_bytes: s.max_body_bytes.unwrap_or(defaults.max_body_bytes).max(1024),
        })
    }

    /// Returns the config with read endpoints public (or not).
    pub fn with_public_read(mut self, public: bool) -> Self {
        self.public_read = public;
        self
    }

    /// Returns the config with this key added.
    pub fn with_key(mut self, key: ApiKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Returns the config with this rate limit.
    pub fn with_rate_limit(mut self, rate_limit: RateLimit) -> Self {
        self.rate_limit = rate_limit;
        self
    }

    /// Returns the config with this page size limit.
    pub fn with_max_page_rows(mut self, rows: u64) -> Self {
        self.max_page_rows = rows.max(1);
        self
    }

    /// Returns the config with this limit on the symbols of one query.
    pub fn with_max_query_symbols(mut self, symbols: usize) -> Self {
        self.max_query_symbols = symbols.max(1);
        self
    }
}

/// An API key as configured: a name (for logs and metrics), the SHA-256 of the secret and
/// its scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Name of the key's holder.
    pub name: String,
    /// SHA-256 of the secret.
    pub hash: KeyHash,
    /// What the key may do.
    pub scopes: Vec<Scope>,
}

impl ApiKey {
    /// A key for `secret` (hashed here; the secret itself is not kept).
    pub fn new(name: impl Into<String>, secret: &str, scopes: &[Scope]) -> Self {
        Self { name: name.into(), hash: KeyHash::of(secret), scopes: scopes.to_vec() }
    }
}

/// A token bucket: `burst` requests at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Requests allowed in a burst.
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self { per_second: 1_000.0, burst: 2_000 }
    }
}

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read config file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or a `[server]` value has the wrong type.
    #[error("config file{}: {message}", path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    Parse {
        /// The file, if read from one.
        path: Option<PathBuf>,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A value is out of range.
    #[error("config value {field}: {reason}")]
    Invalid {
        /// Dotted path of the value.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

/// The whole file: only `[server]` is ours; unknown top-level keys are ignored on purpose.
#[derive(Debug, Deserialize)]
struct FileToml {
    server: Option<ServerToml>,
}

/// `[server]`: unknown keys here are typos and refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerToml {
    addr: Option<String>,
    public_read: Option<bool>,
    #[serde(default)]
    keys: Vec<KeyToml>,
    rate_limit: Option<RateToml>,
    max_page_rows: Option<u64>,
    max_query_symbols: Option<usize>,
    max_body_bytes: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyToml {
    name: String,
    sha256: String,
    scopes: Vec<Scope>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateToml {
    per_second: Option<f64>,
    burst: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "4c716d4cf211c7b7d2f3233c941771ad0507ea5bacf93b492766aa41ae9f720d";

    #[test]
    fn reads_the_server_section_and_ignores_other_sections() {
        let cfg = ServerConfig::from_toml(&format!(
            r#"
            [providers.alpaca]
            key_id = "x"
            [freshness]
            stocks_daily = "1d"
            [server]
            addr = "127.0.0.1:9000"
            public_read = true
            max_page_rows = 5000
            rate_limit = {{ per_second = 2.5, burst = 7 }}
            [[server.keys]]
            name = "research"
            sha256 = "{HASH}"
            scopes = ["read"]
            [[server.keys]]
            name = "ops"
            sha256 = "{}"
            scopes = ["read", "admin"]
            "#,
            HASH.to_uppercase()
        ))
        .unwrap();
        assert_eq!(cfg.addr, Some("127.0.0.1:9000".parse().unwrap()));
        assert!(cfg.public_read);
        assert_eq!(cfg.max_page_rows, 5000);
        assert_eq!(cfg.rate_limit, RateLimit { per_second: 2.5, burst: 7 });
        assert_eq!(cfg.keys.len(), 2);
        assert_eq!(cfg.keys[0].hash, KeyHash::from_hex(HASH).unwrap());
        assert_eq!(cfg.keys[1].hash, cfg.keys[0].hash);
        assert_eq!(cfg.keys[1].scopes, vec![Scope::Read, Scope::Admin]);
        assert_eq!(ServerConfig::from_toml("").unwrap(), ServerConfig::default());
    }

    #[test]
    fn bad_values_are_named() {
        let cases = [
            ("[server]\nport = 1", "port"),
            ("[server]\naddr = \"localhost\"", "server.addr"),
            (
                "[[server.keys]]\nname = \"a\"\nsha256 = \"abc\"\nscopes = [\"read\"]",
                "keys[0].sha256",
            ),
            (&format!("[[server.keys]]\nname = \"a\"\nsha256 = \"{HASH}\"\nscopes = []"), "scopes"),
            (
                &format!("[[server.keys]]\nname = \"a\"\nsha256 = \"{HASH}\"\nscopes = [\"root\"]"),
                "root",
            ),
            ("[server]\nrate_limit = { per_second = 0 }", "per_second"),
            ("[server]\npublic_read = \"yes\"", "public_read"),
            ("[server", "line 1"),
        ];
        for (text, want) in cases {
            let err = ServerConfig::from_toml(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }
}
