//! Page cursors: opaque to clients, they encode the table and the key (symbol, datetime) of
//! the last row of the page; the next page starts after that key.

use crate::error::ApiError;

const VERSION: &str = "c1";

/// The last key of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub(crate) table: String,
    pub(crate) symbol: String,
    pub(crate) datetime: i64,
}

impl Cursor {
    /// Hex of `c1 \x1f table \x1f symbol \x1f datetime` (URL-safe as is).
    pub(crate) fn encode(&self) -> String {
        let text = format!("{VERSION}\x1f{}\x1f{}\x1f{}", self.table, self.symbol, self.datetime);
        text.bytes().map(|b| format!("{b:02x}")).collect()
    }

    /// Decodes a cursor and checks it belongs to `table`.
    pub(crate) fn decode(text: &str, table: &str) -> Result<Self, ApiError> {
        let bad = |why: &str| {
            ApiError::invalid(
                "invalid_cursor",
                "cursor",
                format!("cursor {text:?} {why}: pass the next_cursor of a previous page unchanged"),
            )
        };
        if !text.len().is_multiple_of(2) || text.len() > 512 {
            return Err(bad("is malformed"));
        }
        let bytes: Option<Vec<u8>> = text
            .as_bytes()
            .chunks_exact(2)
            .map(|p| {
                let hi = (p[0] as char).to_digit(16)?;
                let lo = (p[1] as char).to_digit(16)?;
                u8::try_from(hi * 16 + lo).ok()
            })
            .collect();
        let decoded =
            bytes.and_then(|b| String::from_utf8(b).ok()).ok_or_else(|| bad("is malformed"))?;
        let parts: Vec<&str> = decoded.split('\x1f').collect();
        let [VERSION, t, symbol, datetime] = parts.as_slice() else {
            return Err(bad("is malformed"));
        };
        let datetime: i64 = datetime.parse().map_err(|_| bad("is malformed"))?;
        if *t != table {
            return Err(bad(&format!("belongs to table {t:?}, not {table:?}")));
        }
        Ok(Cursor { table: (*t).to_owned(), symbol: (*symbol).to_owned(), datetime })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_others() {
        let c = Cursor { table: "stocks_daily".into(), symbol: "BRK.B".into(), datetime: -5 };
        let text = c.encode();
        assert!(text.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(Cursor::decode(&text, "stocks_daily").unwrap(), c);
        let e = Cursor::decode(&text, "crypto_hourly").unwrap_err();
        assert!(e.message.contains("belongs to table"), "{}", e.message);
        for bad in ["", "zz", "abc", "6331", &"00".repeat(300)] {
            let e = Cursor::decode(bad, "stocks_daily").unwrap_err();
            assert_eq!((e.code, e.param.as_deref()), ("invalid_cursor", Some("cursor")));
        }
    }
}
