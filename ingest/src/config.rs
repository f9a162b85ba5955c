//! The `[freshness]` section of the candlestore configuration file (TOML).
//!
//! ```toml
//! [freshness]
//! stocks = "1d"    # a stock bar may be this late past its session close before it is stale
//! crypto = "2h"
//! ```
//!
//! Other sections (`[providers.*]`, `[server]`, `[schedule]`, ...) belong to other components
//! and are ignored here; unknown keys *inside* `[freshness]` are errors, so a typo does not
//! silently fall back to a default. Durations are strings of `<integer><unit>` parts with
//! units `s`, `m`, `h`, `d`, `w` (`"90s"`, `"1h30m"`, `"2d"`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use candlestore::AssetClass;
use serde::Deserialize;

/// Staleness thresholds per asset class: how long after an expected bar became complete it
/// may still be missing before the symbol is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreshnessConfig {
    /// Threshold for stock tables.
    pub stocks: Duration,
    /// Threshold for crypto tables.
    pub crypto: Duration,
}

impl Default for FreshnessConfig {
    /// Stocks 1 day (a daily bar arrives overnight at the latest), crypto 2 hours.
    fn default() -> Self {
        Self { stocks: Duration::from_secs(86_400), crypto: Duration::from_secs(7_200) }
    }
}

impl FreshnessConfig {
    /// The threshold of an asset class.
    pub fn threshold(&self, asset_class: AssetClass) -> Duration {
        match asset_class {
            AssetClass::Stocks => self.stocks,
            AssetClass::Crypto => self.crypto,
        }
    }

    /// Reads the `[freshness]` section of a configuration file; keys it lacks keep their
    /// defaults, and a file without the section gives [`FreshnessConfig::default`].
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Io { path: path.to_path_buf(), source })?;
        Self::from_toml(&text, path)
    }

    /// Parses configuration text; `path` only names the origin in errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let file: FileRepr = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((0, 0), |s| line_column(text, s.start));
            ConfigError::Parse {
                path: path.to_path_buf(),
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
        let mut config = Self::default();
        if let Some(section) = file.freshness {
            for (key, value, slot) in [
                ("stocks", section.stocks, &mut config.stocks),
                ("crypto", section.crypto, &mut config.crypto),
            ] {
                if let Some(value) = value {
                    *slot = parse_duration(value.get_ref()).map_err(|reason| {
                        let (line, column) = line_column(text, value.span().start);
                        ConfigError::InvalidDuration {
                            path: path.to_path_buf(),
                            line,
                            column,
                            key,
                            value: value.get_ref().clone(),
                            reason,
                        }
                    })?;
                }
            }
        }
        Ok(config)
    }
}

/// Errors reading the configuration file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read configuration file {path}: {source}", path = path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML, or `[freshness]` has an unknown key or a non-string value.
    #[error("{path}:{line}:{column}: {message}", path = path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 if unknown).
        line: usize,
        /// 1-based column (0 if unknown).
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A threshold is not a duration.
    #[error(
        "{path}:{line}:{column}: [freshness] {key} = {value:?} is not a duration: {reason} \
         (use e.g. \"90s\", \"15m\", \"1h30m\", \"2d\", \"1w\")",
        path = path.display()
    )]
    InvalidDuration {
        /// The file.
        path: PathBuf,
        /// 1-based line of the value.
        line: usize,
        /// 1-based column of the value.
        column: usize,
        /// The key (`stocks`, `crypto`).
        key: &'static str,
        /// The text given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
}

#[derive(Debug, Deserialize)]
struct FileRepr {
    freshness: Option<FreshnessRepr>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FreshnessRepr {
    stocks: Option<toml::Spanned<String>>,
    crypto: Option<toml::Spanned<String>>,
}

/// Parses `<integer><unit>` parts (`s`, `m`, `h`, `d`, `w`), e.g. `"1h30m"`. At least one
/// part; zero is allowed (every missing bar is stale at once).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("it is empty".to_owned());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for (i, c) in s.char_indices() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(format!("unexpected {c:?} at position {}", i + 1)),
        };
        if digits.is_empty() {
            return Err(format!("unit {c:?} at position {} has no number before it", i + 1));
        }
        let n: u64 = digits.parse().map_err(|_| format!("{digits} is too large"))?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| "it is too large".to_owned())?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(format!("{digits} has no unit (s, m, h, d or w)"));
    }
    Ok(Duration::from_secs(total))
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FreshnessConfig, ConfigError> {
        FreshnessConfig::from_toml(text, Path::new("candlestore.toml"))
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_duration(" 2d "), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("1w"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("").unwrap_err(), "it is empty");
        assert_eq!(parse_duration("15").unwrap_err(), "15 has no unit (s, m, h, d or w)");
        assert_eq!(
            parse_duration("h").unwrap_err(),
            "unit 'h' at position 1 has no number before it"
        );
        assert_eq!(parse_duration("3 days").unwrap_err(), "unexpected ' ' at position 2");
        assert_eq!(
            parse_duration("99999999999999999999w").unwrap_err(),
            "99999999999999999999 is too large"
        );
        assert_eq!(parse_duration("9999999999999999w").unwrap_err(), "it is too large");
    }

    #[test]
    fn section_with_other_sections_around_it() {
        let text = "[server]\nlisten = \"127.0.0.1:8080\"\n\n[providers.polygon]\napi_key = \"x\"\n\n\
                    [freshness]\nstocks = \"36h\"\ncrypto = \"30m\"\n\n[schedule]\nat = \"18:00\"\n";
        let c = parse(text).unwrap();
        assert_eq!(c.stocks, Duration::from_secs(36 * 3600));
        assert_eq!(c.crypto, Duration::from_secs(1800));
        assert_eq!(c.threshold(AssetClass::Crypto), Duration::from_secs(1800));
    }

    #[test]
    fn missing_section_or_keys_keep_defaults() {
        assert_eq!(parse("[server]\nport = 1\n").unwrap(), FreshnessConfig::default());
        let c = parse("[freshness]\ncrypto = \"10m\"\n").unwrap();
        assert_eq!(c.stocks, FreshnessConfig::default().stocks);
        assert_eq!(c.crypto, Duration::from_secs(600));
    }

    #[test]
    fn errors_name_file_line_column_and_key() {
        let err = parse("[freshness]\nstocks = \"1d\"\ncrypto = \"soon\"\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "candlestore.toml:3:10: [freshness] crypto = \"soon\" is not a duration: unit 's' \
             at position 1 has no number before it (use e.g. \"90s\", \"15m\", \"1h30m\", \"2d\", \"1w\")"
        );
        let err = parse("[freshness]\nstock = \"1d\"\n").unwrap_err().to_string();
        assert!(err.starts_with("candlestore.toml:2:1: unknown field `stock`"), "{err}");
        let err = parse("[freshness]\nstocks = 5\n").unwrap_err().to_string();
        assert!(err.starts_with("candlestore.toml:2:10: "), "{err}");
        let err = parse("[freshness\n").unwrap_err().to_string();
        assert!(err.starts_with("candlestore.toml:1:"), "{err}");
        let err = FreshnessConfig::load(Path::new("/nonexistent/candlestore.toml")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot read configuration file /nonexistent/candlestore.toml: ")
        );
    }

    #[test]
    fn line_columns() {
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("ab", 0), (1, 1));
    }
}
