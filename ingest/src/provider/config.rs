//! Connector configuration: defaults, the `[providers.<name>]` sections of a TOML file, and the
//! `CANDLESTORE_<NAME>_BASE_URL` / `CANDLESTORE_<NAME>_API_KEY` environment variables (which
//! override the file).
//!
//! ```toml
//! [providers.polygon]
//! base_url = "https://api.polygon.io"
//! api_key = "..."
//! requests_per_minute = 5
//! timeout_ms = 10000
//! max_retries = 3
//! priority = 2
//! asset_classes = ["equity", "crypto", "fx"]
//!
//! [providers.binance]
//! futures_base_url = "https://fapi.binance.com"   # USD-M futures (funding rate, open interest)
//! futures = true                                  # attach them to crypto bars (default false)
//! ```
//!
//! Other top-level sections (`[server]`, `[schedule]`, ...) belong to other components and are
//! ignored here; an unknown key *inside* a provider section is an error, so a typo cannot
//! silently fall back to a default.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use crate::provider::error::ProviderConfigError;
use crate::provider::request::{AssetClass, ProviderKind};

/// The settings of one provider.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderConfig {
    /// Where requests go (a proxy or test server may stand in for the vendor).
    pub base_url: Url,
    /// The API key (Polygon and Twelve Data need one; Binance klines and Yahoo do not).
    pub api_key: Option<String>,
    /// Average request rate allowed (token bucket).
    pub requests_per_minute: u32,
    /// Timeout of one HTTP request, connection included.
    pub timeout: Duration,
    /// Retries after a transient failure.
    pub max_retries: u32,
    /// Cap of the first retry's jittered backoff (doubles per retry, up to 30 s).
    pub retry_base: Duration,
    /// Lower is tried first in a fallback chain.
    pub priority: u32,
    /// The asset classes this provider serves in fallback chains.
    pub asset_classes: Vec<AssetClass>,
    /// Consecutive transient failures that open the circuit breaker.
    pub breaker_failures: u32,
    /// How long an open breaker refuses requests.
    pub breaker_cooldown: Duration,
    /// Binance only: the USD-M futures API (funding rate, open interest history), separate from
    /// the spot `base_url`; `None` for the other providers.
    pub futures_base_url: Option<Url>,
    /// Binance only: attach the USD-M funding rate and open interest to every fetch of crypto
    /// bars (opt-in: two more endpoints per fetch). A request can also ask for them itself
    /// ([`FetchRequest::with_futures`](crate::FetchRequest::with_futures)).
    pub futures: bool,
}

impl ProviderConfig {
    /// The defaults of `kind`: the vendor's public endpoint and its free-tier rate.
    pub fn defaults(kind: ProviderKind) -> Self {
        use AssetClass::{Crypto, Equity, Fx};
        let (rpm, priority, classes) = match kind {
            ProviderKind::Polygon => (5, 2, vec![Equity, Crypto, Fx]),
            ProviderKind::Binance => (600, 1, vec![Crypto]),
            ProviderKind::Yahoo => (60, 4, vec![Equity, Crypto, Fx]),
            ProviderKind::TwelveData => (8, 3, vec![Equity, Crypto, Fx]),
        };
        Self {
            // The defaults are literals known to parse.
            base_url: Url::parse(kind.default_base_url()).unwrap_or_else(|_| unreachable!()),
            api_key: None,
            requests_per_minute: rpm,
            timeout: Duration::from_secs(10),
            max_retries: 3,
            retry_base: Duration::from_millis(500),
            priority,
            asset_classes: classes,
            breaker_failures: 5,
            breaker_cooldown: Duration::from_secs(60),
            futures_base_url: kind
                .default_futures_base_url()
                .map(|u| Url::parse(u).unwrap_or_else(|_| unreachable!())),
            futures: false,
        }
    }
}

/// The settings of all four providers.
#[derive(Debug, Clone, PartialEq)]
pub struct ProvidersConfig {
    providers: BTreeMap<ProviderKind, ProviderConfig>,
    /// Providers given a `[providers.<name>]` section or a `CANDLESTORE_<NAME>_*` variable.
    configured: BTreeSet<ProviderKind>,
}

impl Default for ProvidersConfig {
    fn default() -> Self {
        Self {
            providers: ProviderKind::ALL
                .into_iter()
                .map(|k| (k, ProviderConfig::defaults(k)))
                .collect(),
            configured: BTreeSet::new(),
        }
    }
}

/// The part of the file this module reads; everything else is left to other components.
#[derive(Debug, Deserialize)]
struct File {
    #[serde(default)]
    providers: BTreeMap<String, Section>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    base_url: Option<String>,
    api_key: Option<String>,
    requests_per_minute: Option<u32>,
    timeout_ms: Option<u64>,
    max_retries: Option<u32>,
    retry_base_ms: Option<u64>,
    priority: Option<u32>,
    asset_classes: Option<Vec<String>>,
    breaker_failures: Option<u32>,
    breaker_cooldown_ms: Option<u64>,
    futures_base_url: Option<String>,
    futures: Option<bool>,
}

impl ProvidersConfig {
    /// The settings of `kind`.
    pub fn get(&self, kind: ProviderKind) -> &ProviderConfig {
        // Every kind is inserted by `default` and never removed.
        &self.providers[&kind]
    }

    /// The providers the file or the environment configured (a `[providers.<name>]` section
    /// or a `CANDLESTORE_<NAME>_BASE_URL` / `_API_KEY` variable), in [`ProviderKind::ALL`]
    /// order. Empty means nothing was configured: only the built-in defaults apply.
    pub fn configured(&self) -> Vec<ProviderKind> {
        self.configured.iter().copied().collect()
    }

    /// Mutable settings of `kind` (for programmatic overrides).
    pub fn get_mut(&mut self, kind: ProviderKind) -> &mut ProviderConfig {
        self.providers.entry(kind).or_insert_with(|| ProviderConfig::defaults(kind))
    }

    /// The providers serving `class`, lowest priority first (ties in declaration order).
    pub fn chain(&self, class: AssetClass) -> Vec<ProviderKind> {
        let mut kinds: Vec<ProviderKind> = self
            .providers
            .iter()
            .filter(|(_, c)| c.asset_classes.contains(&class))
            .map(|(k, _)| *k)
            .collect();
        kinds.sort_by_key(|k| self.get(*k).priority);
        kinds
    }

    /// Defaults, then `path` if given, then the process environment.
    pub fn load(path: Option<&Path>) -> Result<Self, ProviderConfigError> {
        let mut config = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| {
                    ProviderConfigError::Read { path: p.to_path_buf(), source }
                })?;
                Self::from_toml(&text, &p.display().to_string())?
            }
            None => Self::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    /// Defaults overridden by the `[providers.*]` sections of `text`; `origin` names the file
    /// in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ProviderConfigError> {
        let file: File = toml::from_str(text)
            .map_err(|source| ProviderConfigError::Toml { origin: origin.to_owned(), source })?;
        let mut config = Self::default();
        for (name, section) in file.providers {
            let kind: ProviderKind = name.parse()?;
            let where_ = format!("{origin} [providers.{name}]");
            section.apply(config.get_mut(kind), &where_)?;
            config.configured.insert(kind);
        }
        Ok(config)
    }

    /// Applies `CANDLESTORE_<NAME>_BASE_URL` and `CANDLESTORE_<NAME>_API_KEY` (and
    /// `CANDLESTORE_BINANCE_FUTURES_BASE_URL`) as read by `lookup` (the process environment in
    /// [`load`](Self::load)). Empty values are ignored.
    pub fn apply_env(
        &mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ProviderConfigError> {
        for kind in ProviderKind::ALL {
            let var = |what: &str| format!("CANDLESTORE_{}_{what}", kind.env_name());
            let url_var = var("BASE_URL");
            if let Some(url) = lookup(&url_var).filter(|v| !v.trim().is_empty()) {
                self.get_mut(kind).base_url = parse_base_url(&url, &url_var, "value")?;
                self.configured.insert(kind);
            }
            if let Some(key) = lookup(&var("API_KEY")).filter(|v| !v.trim().is_empty()) {
                self.get_mut(kind).api_key = Some(key.trim().to_owned());
                self.configured.insert(kind);
            }
            if kind.default_futures_base_url().is_some() {
                let futures_var = var("FUTURES_BASE_URL");
                if let Some(url) = lookup(&futures_var).filter(|v| !v.trim().is_empty()) {
                    self.get_mut(kind).futures_base_url =
                        Some(parse_base_url(&url, &futures_var, "value")?);
                    self.configured.insert(kind);
                }
            }
        }
        Ok(())
    }
}

impl Section {
    fn apply(self, c: &mut ProviderConfig, origin: &str) -> Result<(), ProviderConfigError> {
        let invalid = |key: &str, value: String, reason: &str| ProviderConfigError::InvalidValue {
            origin: origin.to_owned(),
            key: key.to_owned(),
            value,
            reason: reason.to_owned(),
        };
        if let Some(url) = self.base_url {
            c.base_url = parse_base_url(&url, origin, "base_url")?;
        }
        if let Some(key) = self.api_key {
            c.api_key = Some(key).filter(|k| !k.trim().is_empty());
        }
        if let Some(rpm) = self.requests_per_minute {
            if rpm == 0 {
                return Err(invalid("requests_per_minute", rpm.to_string(), "must be at least 1"));
            }
            c.requests_per_minute = rpm;
        }
        if let Some(ms) = self.timeout_ms {
            if ms == 0 {
                return Err(invalid("timeout_ms", ms.to_string(), "must be at least 1"));
            }
            c.timeout = Duration::from_millis(ms);
        }
        if let Some(n) = self.max_retries {
            c.max_retries = n;
        }
        if let Some(ms) = self.retry_base_ms {
            c.retry_base = Duration::from_millis(ms);
        }
        if let Some(p) = self.priority {
            c.priority = p;
        }
        if let Some(classes) = self.asset_classes {
            c.asset_classes = classes
                .iter()
                .map(|s| s.parse())
                .collect::<Result<_, ProviderConfigError>>()
                .map_err(|e| invalid("asset_classes", classes.join(","), &e.to_string()))?;
        }
        if let Some(n) = self.breaker_failures {
            if n == 0 {
                return Err(invalid("breaker_failures", n.to_string(), "must be at least 1"));
            }
            c.breaker_failures = n;
        }
        if let Some(ms) = self.breaker_cooldown_ms {
            c.breaker_cooldown = Duration::from_millis(ms);
        }
        let futures_only = |key: &str, value: String| {
            invalid(key, value, "only Binance has a USD-M futures API ([providers.binance])")
        };
        if let Some(url) = self.futures_base_url {
            if c.futures_base_url.is_none() {
                return Err(futures_only("futures_base_url", url));
            }
            c.futures_base_url = Some(parse_base_url(&url, origin, "futures_base_url")?);
        }
        if let Some(on) = self.futures {
            if c.futures_base_url.is_none() {
                return Err(futures_only("futures", on.to_string()));
            }
            c.futures = on;
        }
        Ok(())
    }
}

fn parse_base_url(value: &str, origin: &str, key: &str) -> Result<Url, ProviderConfigError> {
    let invalid = |reason: String| ProviderConfigError::InvalidValue {
        origin: origin.to_owned(),
        key: key.to_owned(),
        value: value.to_owned(),
        reason,
    };
    let url = Url::parse(value.trim()).map_err(|e| invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(invalid("must be an http:// or https:// URL".into()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("must not have a query or fragment".into()));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[server]
listen = "127.0.0.1:8080"

[schedule]
daily_at = "18:00"

[providers.polygon]
base_url = "http://127.0.0.1:9000/polygon/"
api_key = "file-key"
requests_per_minute = 100
timeout_ms = 2500
max_retries = 1
priority = 9

[providers.yahoo]
priority = 0
asset_classes = ["equity"]
"#;

    #[test]
    fn file_overrides_defaults_and_other_sections_are_ignored() {
        let c = ProvidersConfig::from_toml(FILE, "candlestore.toml").unwrap();
        let p = c.get(ProviderKind::Polygon);
        assert_eq!(p.base_url.as_str(), "http://127.0.0.1:9000/polygon/");
        assert_eq!(p.api_key.as_deref(), Some("file-key"));
        assert_eq!((p.requests_per_minute, p.max_retries, p.priority), (100, 1, 9));
        assert_eq!(p.timeout, Duration::from_millis(2500));
        assert_eq!(c.get(ProviderKind::Binance), &ProviderConfig::defaults(ProviderKind::Binance));
        assert_eq!(
            c.chain(AssetClass::Equity),
            vec![ProviderKind::Yahoo, ProviderKind::TwelveData, ProviderKind::Polygon]
        );
        assert_eq!(
            c.chain(AssetClass::Crypto),
            vec![ProviderKind::Binance, ProviderKind::TwelveData, ProviderKind::Polygon]
        );
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut c = ProvidersConfig::from_toml(FILE, "f").unwrap();
        c.apply_env(|name| match name {
            "CANDLESTORE_POLYGON_API_KEY" => Some("env-key".into()),
            "CANDLESTORE_TWELVEDATA_BASE_URL" => Some("http://localhost:1234".into()),
            "CANDLESTORE_YAHOO_BASE_URL" => Some("".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.get(ProviderKind::Polygon).api_key.as_deref(), Some("env-key"));
        assert_eq!(c.get(ProviderKind::TwelveData).base_url.as_str(), "http://localhost:1234/");
        // The file's two sections and the one non-empty variable; the empty one is ignored.
        assert_eq!(
            c.configured(),
            vec![ProviderKind::Polygon, ProviderKind::Yahoo, ProviderKind::TwelveData]
        );
        assert!(ProvidersConfig::default().configured().is_empty());
        assert_eq!(
            c.get(ProviderKind::Yahoo).base_url.as_str(),
            "https://query1.finance.yahoo.com/"
        );
        let err = c
            .apply_env(|n| (n == "CANDLESTORE_BINANCE_BASE_URL").then(|| "ftp://x".into()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("CANDLESTORE_BINANCE_BASE_URL") && err.contains("ftp://x"), "{err}");
    }

    #[test]
    fn unknown_keys_and_providers_are_rejected_with_their_location() {
        let err = ProvidersConfig::from_toml("[providers.polygon]\napi_kye = \"x\"\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("c.toml") && err.contains("api_kye") && err.contains("line 2"),
            "{err}"
        );
        let err =
            ProvidersConfig::from_toml("[providers.iex]\n", "c.toml").unwrap_err().to_string();
        assert!(err.contains("iex"), "{err}");
        let err =
            ProvidersConfig::from_toml("[providers.binance]\nrequests_per_minute = 0\n", "c.toml")
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("[providers.binance]") && err.contains("requests_per_minute"),
            "{err}"
        );
        let err =
            ProvidersConfig::from_toml("[providers.binance]\ntimeout_ms = \"fast\"\n", "c.toml")
                .unwrap_err()
                .to_string();
        assert!(err.contains("timeout_ms"), "{err}");
        let err = ProvidersConfig::from_toml(
            "[providers.yahoo]\nasset_classes = [\"bonds\"]\n",
            "c.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("bonds"), "{err}");
        assert!(
            ProvidersConfig::from_toml("[providers.yahoo]\nbase_url = \"nope\"\n", "c").is_err()
        );
        assert!(ProvidersConfig::from_toml("[providers\n", "c").is_err());
    }

    #[test]
    fn binance_futures_settings_from_file_and_environment() {
        let d = ProviderConfig::defaults(ProviderKind::Binance);
        assert_eq!(d.futures_base_url.unwrap().as_str(), "https://fapi.binance.com/");
        assert!(!d.futures, "opt-in");
        assert_eq!(ProviderConfig::defaults(ProviderKind::Polygon).futures_base_url, None);
        let text =
            "[providers.binance]\nfutures_base_url = \"http://127.0.0.1:9/fapi\"\nfutures = true\n";
        let mut c = ProvidersConfig::from_toml(text, "c.toml").unwrap();
        let b = c.get(ProviderKind::Binance);
        assert!(b.futures);
        assert_eq!(b.futures_base_url.as_ref().unwrap().as_str(), "http://127.0.0.1:9/fapi");
        c.apply_env(|n| {
            (n == "CANDLESTORE_BINANCE_FUTURES_BASE_URL").then(|| "http://localhost:7".into())
        })
        .unwrap();
        assert_eq!(
            c.get(ProviderKind::Binance).futures_base_url.as_ref().unwrap().as_str(),
            "http://localhost:7/"
        );
        let err = c
            .apply_env(|n| (n == "CANDLESTORE_BINANCE_FUTURES_BASE_URL").then(|| "nope".into()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("CANDLESTORE_BINANCE_FUTURES_BASE_URL"), "{err}");
        let err = ProvidersConfig::from_toml("[providers.polygon]\nfutures = true\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("futures") && err.contains("Binance"), "{err}");
        let err =
            ProvidersConfig::from_toml("[providers.yahoo]\nfutures_base_url = \"http://x\"\n", "c")
                .unwrap_err()
                .to_string();
        assert!(err.contains("futures_base_url"), "{err}");
    }

    #[test]
    fn load_reads_the_file_and_names_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, FILE).unwrap();
        let c = ProvidersConfig::load(Some(&path)).unwrap();
        assert_eq!(c.get(ProviderKind::Polygon).requests_per_minute, 100);
        let missing = dir.path().join("missing.toml");
        let err = ProvidersConfig::load(Some(&missing)).unwrap_err().to_string();
        assert!(err.contains("missing.toml"), "{err}");
    }
}
