//! Code tables of the reference files: listing-exchange codes → (name, ISO 10383 MIC), and
//! country names → ISO 3166-1 alpha-2.

/// An exchange as the symbol master records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Venue {
    pub(crate) name: &'static str,
    pub(crate) mic: &'static str,
}

pub(crate) const NASDAQ: Venue = Venue { name: "NASDAQ", mic: "XNAS" };
pub(crate) const NYSE: Venue = Venue { name: "NYSE", mic: "XNYS" };
pub(crate) const NYSE_AMERICAN: Venue = Venue { name: "NYSE American", mic: "XASE" };
pub(crate) const NYSE_ARCA: Venue = Venue { name: "NYSE Arca", mic: "ARCX" };
pub(crate) const CBOE_BZX: Venue = Venue { name: "Cboe BZX", mic: "BATS" };
pub(crate) const IEX: Venue = Venue { name: "IEX", mic: "IEXG" };

/// The one-letter `Exchange` code of Nasdaq Trader's `otherlisted.txt` (and of
/// `other-listed.csv`): A = NYSE American, N = NYSE, P = NYSE Arca, Z = Cboe BZX, V = IEX;
/// Q = Nasdaq (used in the same code set by `nasdaqtraded.txt`).
pub(crate) fn venue_of_code(code: &str) -> Option<Venue> {
    Some(match code.trim() {
        "A" => NYSE_AMERICAN,
        "N" => NYSE,
        "P" => NYSE_ARCA,
        "Z" => CBOE_BZX,
        "V" => IEX,
        "Q" => NASDAQ,
        _ => return None,
    })
}

/// A venue named in words or by MIC (`metadata.csv` writes `NASDAQ`, `NYSE`, ...).
pub(crate) fn venue_of_name(name: &str) -> Option<Venue> {
    let n: String =
        name.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_uppercase();
    Some(match n.as_str() {
        "NASDAQ" | "XNAS" | "NASDAQGS" | "NASDAQGM" | "NASDAQCM" => NASDAQ,
        "NYSE" | "XNYS" => NYSE,
        "NYSEAMERICAN" | "AMEX" | "NYSEMKT" | "XASE" => NYSE_AMERICAN,
        "NYSEARCA" | "ARCA" | "ARCX" => NYSE_ARCA,
        "CBOEBZX" | "BZX" | "BATS" => CBOE_BZX,
        "IEX" | "IEXG" => IEX,
        _ => return None,
    })
}

/// Country names as the Nasdaq screener writes them (`us-stock-symbols/*.json`).
const COUNTRIES: &[(&str, &str)] = &[
    ("Argentina", "AR"),
    ("Australia", "AU"),
    ("Bahamas", "BS"),
    ("Belgium", "BE"),
    ("Bermuda", "BM"),
    ("Brazil", "BR"),
    ("British Virgin Islands", "VG"),
    ("Cambodia", "KH"),
    ("Canada", "CA"),
    ("Cayman Islands", "KY"),
    ("Chile", "CL"),
    ("China", "CN"),
    ("Colombia", "CO"),
    ("Costa Rica", "CR"),
    ("Curacao", "CW"),
    ("Cyprus", "CY"),
    ("Denmark", "DK"),
    ("Finland", "FI"),
    ("France", "FR"),
    ("Germany", "DE"),
    ("Gibraltar", "GI"),
    ("Greece", "GR"),
    ("Guernsey", "GG"),
    ("Hong Kong", "HK"),
    ("India", "IN"),
    ("Indonesia", "ID"),
    ("Ireland", "IE"),
    ("Isle of Man", "IM"),
    ("Israel", "IL"),
    ("Italy", "IT"),
    ("Japan", "JP"),
    ("Jersey", "JE"),
    ("Jordan", "JO"),
    ("Kazakhstan", "KZ"),
    ("Luxembourg", "LU"),
    ("Macau", "MO"),
    ("Malaysia", "MY"),
    ("Marshall Islands", "MH"),
    ("Mexico", "MX"),
    ("Monaco", "MC"),
    ("Netherlands", "NL"),
    ("New Zealand", "NZ"),
    ("Norway", "NO"),
    ("Panama", "PA"),
    ("Peru", "PE"),
    ("Philippines", "PH"),
    ("Puerto Rico", "PR"),
    ("Singapore", "SG"),
    ("South Africa", "ZA"),
    ("South Korea", "KR"),
    ("Spain", "ES"),
    ("Sweden", "SE"),
    ("Switzerland", "CH"),
    ("Taiwan", "TW"),
    ("Turkey", "TR"),
    ("U.S. Virgin Islands", "VI"),
    ("United Arab Emirates", "AE"),
    ("United Kingdom", "GB"),
    ("United States", "US"),
    ("Uruguay", "UY"),
];

/// ISO 3166-1 alpha-2 code of a country name (case-insensitive), or of a code already in
/// that form.
pub(crate) fn country_code(name: &str) -> Option<&'static str> {
    let n = name.trim();
    COUNTRIES
        .iter()
        .find(|(full, code)| full.eq_ignore_ascii_case(n) || *code == n)
        .map(|&(_, code)| code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(venue_of_code("P"), Some(NYSE_ARCA));
        assert_eq!(venue_of_code("Z").map(|v| v.mic), Some("BATS"));
        assert_eq!(venue_of_code("X"), None);
        assert_eq!(venue_of_name("NYSE Arca"), Some(NYSE_ARCA));
        assert_eq!(venue_of_name("nasdaq"), Some(NASDAQ));
        assert_eq!(venue_of_name("LSE"), None);
        assert_eq!(country_code("united states"), Some("US"));
        assert_eq!(country_code("GB"), Some("GB"));
        assert_eq!(country_code("Atlantis"), None);
    }
}
