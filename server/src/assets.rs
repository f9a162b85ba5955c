//! The files of the `/docs` and `/chart` pages, embedded in the binary so the pages work on
//! a machine without network (no CDN). Vendored libraries are named with their version, so
//! they can be cached as immutable; our own files are revalidated on every load.
//! Sources and licences: `server/assets/README.md`.

/// An embedded file served at `/assets/{name}`.
#[derive(Debug)]
pub(crate) struct Asset {
    pub(crate) name: &'static str,
    pub(crate) content_type: &'static str,
    pub(crate) cache_control: &'static str,
    pub(crate) bytes: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
/// The file name carries the version: a changed file is a new URL.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Ours: revalidate every time (small, and must not outlive an upgrade).
const REVALIDATE: &str = "no-cache";

/// Every asset.
pub(crate) const ASSETS: [Asset; 6] = [
    Asset {
        name: "swagger-ui-5.36.0.js",
        content_type: JS,
        cache_control: IMMUTABLE,
        bytes: include_bytes!("../assets/swagger-ui/swagger-ui-bundle.js"),
    },
    Asset {
        name: "swagger-ui-5.36.0.css",
        content_type: CSS,
        cache_control: IMMUTABLE,
        bytes: include_bytes!("../assets/swagger-ui/swagger-ui.css"),
    },
    Asset {
        name: "lightweight-charts-5.3.0.js",
        content_type: JS,
        cache_control: IMMUTABLE,
        bytes: include_bytes!(
            "../assets/lightweight-charts/lightweight-charts.standalone.production.js"
        ),
    },
    Asset {
        name: "docs.js",
        content_type: JS,
        cache_control: REVALIDATE,
        bytes: include_bytes!("../assets/docs.js"),
    },
    Asset {
        name: "chart.js",
        content_type: JS,
        cache_control: REVALIDATE,
        bytes: include_bytes!("../assets/chart.js"),
    },
    Asset {
        name: "chart.css",
        content_type: CSS,
        cache_control: REVALIDATE,
        bytes: include_bytes!("../assets/chart.css"),
    },
];

/// The `/docs` page.
pub(crate) const DOCS_HTML: &str = include_str!("../assets/docs.html");
/// The `/chart/{table}/{symbol}` page (it reads table and symbol from its own URL).
pub(crate) const CHART_HTML: &str = include_str!("../assets/chart.html");

/// The asset called `name`.
pub(crate) fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// `text` with `& < > " '` escaped, for HTML text and attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_reference_only_embedded_assets() {
        for page in [DOCS_HTML, CHART_HTML] {
            let mut rest = page;
            let mut n = 0;
            while let Some(i) = rest.find("/assets/") {
                rest = &rest[i + 8..];
                let end = rest.find('"').unwrap();
                assert!(find(&rest[..end]).is_some(), "{} is not embedded", &rest[..end]);
                n += 1;
            }
            assert!(n >= 2, "{n}");
            // No CDN: every script and style comes from this server.
            assert!(!page.contains("http://") && !page.contains("https://"));
        }
        assert!(ASSETS.iter().all(|a| !a.bytes.is_empty()));
        assert_eq!(escape_html("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
