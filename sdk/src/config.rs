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
    let host = url.host_str().ok_or_else(|| invalid("has no host"))?;
    Ok(match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    })
}
