//! F4 timestamps: `YYYY-MM-DDTHH:MM:SS.ffffffZ`.

use chrono::{DateTime, Utc};

/// Formats µs since the epoch as F4 text, `YYYY-MM-DDTHH:MM:SS.ffffffZ` (out-of-range values,
/// which no valid bar has, as `<micros>us`).
pub fn format_micros(micros: i64) -> String {
    match DateTime::<Utc>::from_timestamp_micros(micros) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        None => format!("{micros}us"),
    }
}

#[cfg(test)]
mod tests {
    use super::format_micros;

    #[test]
    fn formats_fractional_micros() {
        assert_eq!(format_micros(1_500_000), "1970-01-01T00:00:01.500000Z");
        assert_eq!(format_micros(-1), "1969-12-31T23:59:59.999999Z");
        assert_eq!(format_micros(i64::MAX), format!("{}us", i64::MAX));
    }
}
