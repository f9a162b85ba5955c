//! The output formats and their names and media types.

use std::str::FromStr;

use crate::export::error::ExportError;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// F4 exchange CSV: header = field names, null = empty, timestamps
    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, floats as Python `repr`.
    Csv,
    /// A JSON array of objects, one per bar (null as null, timestamps as F4 text).
    Json,
    /// Arrow IPC stream format.
    Arrow,
    /// Parquet (zstd) with the F1 column types.
    Parquet,
}

impl Format {
    /// Every format, in documentation order.
    pub const ALL: [Format; 4] = [Format::Json, Format::Csv, Format::Arrow, Format::Parquet];

    /// The format's name as written in a query string or on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Arrow => "arrow",
            Format::Parquet => "parquet",
        }
    }

    /// The media type of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
            Format::Arrow => "application/vnd.apache.arrow.stream",
            Format::Parquet => "application/vnd.apache.parquet",
        }
    }

    /// Whether the format is binary (never written to a terminal).
    pub fn is_binary(self) -> bool {
        matches!(self, Format::Parquet | Format::Arrow)
    }
}

impl FromStr for Format {
    type Err = ExportError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| ExportError::UnknownFormat { name: s.to_owned() })
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::Format;

    #[test]
    fn names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
        }
        let err = "xml".parse::<Format>().unwrap_err().to_string();
        assert!(err.contains("\"xml\"") && err.contains("parquet"), "{err}");
    }
}
