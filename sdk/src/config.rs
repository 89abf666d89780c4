//! The connection's non-secret configuration.

use crate::ConnectorError;

/// A connection config as key/value text: what `validate` receives and
/// [`crate::Connection::config`] returns. Strings are as the client set them; other JSON
/// values are JSON text.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pairs: Vec<(String, String)>,
}

impl Config {
    /// Wraps the pairs the host passed in.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self { pairs }
    }

    /// One value, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// One value, or an `invalid-config` error naming the missing key.
    pub fn require(&self, key: &str) -> Result<&str, ConnectorError> {
        self.get(key)
            .filter(|value| !value.trim().is_empty())
            .ok_or_else(|| ConnectorError::InvalidConfig(format!("config `{key}` is required")))
    }

    /// Every key and value.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// Reads an `https://` origin (scheme, host, optional port) from config, with no path, query or
/// credentials; returns it without a trailing slash.
pub fn require_origin(config: &Config, key: &str) -> Result<String, ConnectorError> {
    let raw = config.require(key)?;
    // Every call reads its origin again (a sandbox keeps nothing between calls), and a full
    // URL parse with IDNA was ~3% of a small call; an origin already in its canonical form
    // is returned as it is, anything else goes through the parser below.
    if let Some(origin) = canonical_origin(raw) {
        return Ok(origin.to_owned());
    }
    let invalid = |why: &str| ConnectorError::InvalidConfig(format!("config `{key}`: {why}"));
    let url = url::Url::parse(raw).map_err(|e| invalid(&format!("not a URL ({e})")))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(invalid("must be an https:// URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not contain credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() || !matches!(url.path(), "" | "/") {
        return Err(invalid(
            "must be an origin such as https://api.example.com, with no path",
        ));
    }
    printed_origin(&url).ok_or_else(|| invalid("has no host"))
}

/// `scheme://host[:port]` of a parsed URL, as the parser normalized it; `None` without a host.
fn printed_origin(url: &url::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    })
}

/// `raw` without its trailing slash when it is an origin exactly as [`url::Url`] would print
/// it: `http` or `https`, a lower-case ASCII DNS name (no punycode, no IP address) and a
/// non-default port, if any. `None` means "ask the parser", never "invalid".
fn canonical_origin(raw: &str) -> Option<&str> {
    let trimmed = raw.strip_suffix('/').unwrap_or(raw);
    let (rest, default_port) = if let Some(rest) = trimmed.strip_prefix("https://") {
        (rest, "443")
    } else if let Some(rest) = trimmed.strip_prefix("http://") {
        (rest, "80")
    } else {
        return None;
    };
    let (host, port) = match rest.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    };
    let label_ok = |label: &str| {
        !label.is_empty()
            && !label.starts_with("xn--")
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    // A last label that starts with a digit may be read as an IPv4 address and rewritten.
    let last = host.rsplit('.').next()?;
    if !host.split('.').all(label_ok) || !last.starts_with(|c: char| c.is_ascii_lowercase()) {
        return None;
    }
    if let Some(port) = port {
        // Digits only (`u16` parsing would also take a `+`), no leading zero, not the default.
        let canonical = port.bytes().all(|b| b.is_ascii_digit())
            && !port.starts_with('0')
            && port.parse::<u16>().is_ok()
            && port != default_port;
        if !canonical {
            return None;
        }
    }
    Some(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(raw: &str) -> Result<String, ConnectorError> {
        let config = Config::from_pairs(vec![("site".into(), raw.into())]);
        require_origin(&config, "site")
    }

    /// What the parser alone answers, for comparison with the fast path.
    fn parsed(raw: &str) -> Option<String> {
        printed_origin(&url::Url::parse(raw).ok()?)
    }

    #[test]
    fn the_fast_path_answers_what_the_parser_answers() {
        let cases = [
            "https://acme.atlassian.net",
            "https://acme.atlassian.net/",
            "http://127.0.0.1:8080",
            "https://api.example.com:8443",
            "https://api.example.com:443",
            "http://api.example.com:80/",
            "https://api.example.com:0443",
            "https://api.example.com:70000",
            "https://API.example.com",
            "https://xn--bcher-kva.example",
            "https://bücher.example",
            "https://a..b",
            "https://example.0x7f",
            "https://my-site.example.com:1",
        ];
        for raw in cases {
            if let Some(fast) = canonical_origin(raw) {
                assert_eq!(Some(fast.to_owned()), parsed(raw), "{raw}");
            }
            if let Ok(answer) = origin(raw) {
                assert_eq!(Some(answer), parsed(raw), "{raw}");
            }
        }
        assert_eq!(
            canonical_origin("https://acme.atlassian.net/"),
            Some("https://acme.atlassian.net")
        );
        assert_eq!(canonical_origin("https://api.example.com:443"), None);
        assert_eq!(canonical_origin("https://API.example.com"), None);
    }

    #[test]
    fn origins_with_more_than_an_origin_are_refused() {
        for raw in [
            "https://acme.atlassian.net/wiki",
            "https://user:pw@acme.atlassian.net",
            "https://acme.atlassian.net?x=1",
            "ftp://acme.atlassian.net",
            "acme.atlassian.net",
        ] {
            assert!(origin(raw).is_err(), "{raw}");
        }
        assert_eq!(
            origin("https://API.Example.com:443/").unwrap(),
            "https://api.example.com"
        );
    }
}
