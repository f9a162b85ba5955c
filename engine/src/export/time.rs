//! F4 timestamps: `YYYY-MM-DDTHH:MM:SS.ffffffZ`.

use chrono::{DateTime, Utc};

/// Formats µs since the epoch as F4 text, `YYYY-MM-DDTHH:MM:SS.ffffffZ` (out-of-range values,
/// which no valid bar has, as `<micros>us`).
pub fn format_micros(micros: i64) -> String {
    let mut out = String::with_capacity(27);
    push_micros(&mut out, micros);
    out
}

/// Appends [`format_micros`]`(micros)` to `out`; years 0..=9999 without allocating (the text
/// writers call it for every timestamp cell).
pub(crate) fn push_micros(out: &mut String, micros: i64) {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    // Civil date from days since 1970-01-01 (H. Hinnant's `civil_from_days`).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    if !(0..=9999).contains(&year) {
        match DateTime::<Utc>::from_timestamp_micros(micros) {
            Some(t) => out.push_str(&t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()),
            None => out.push_str(&format!("{micros}us")),
        }
        return;
    }
    let mut b = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year as u32);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, sod / 3_600);
    put(14, 2, sod / 60 % 60);
    put(17, 2, sod % 60);
    put(20, 6, frac);
    // All ASCII, so this never falls back.
    out.push_str(std::str::from_utf8(&b).unwrap_or("?"));
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::format_micros;

    #[test]
    fn formats_fractional_micros() {
        assert_eq!(format_micros(1_500_000), "1970-01-01T00:00:01.500000Z");
        assert_eq!(format_micros(-1), "1969-12-31T23:59:59.999999Z");
        assert_eq!(format_micros(i64::MAX), format!("{}us", i64::MAX));
    }

    /// The fast path against chrono, across leap days, centuries and negative times.
    #[test]
    fn agrees_with_chrono() {
        let mut t = -62_135_596_800_000_000_i64; // 0001-01-01
        let step = 86_400_000_000 * 7 + 3_723_456_789; // a week, 1 h 2 min 3.456789 s
        while t < 253_402_300_799_000_000 {
            let want = DateTime::<Utc>::from_timestamp_micros(t)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string();
            assert_eq!(format_micros(t), want, "{t}");
            t += step;
        }
        assert_eq!(format_micros(951_782_400_000_000), "2000-02-29T00:00:00.000000Z");
    }
}
