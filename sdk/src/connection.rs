//! [`Connection`]: the connection a call is for, as the host passes it with every call.

use crate::config::{self, Config};
use crate::{ConnectionContext, ConnectorError};

/// The connection a call is for: its config, the auth method of its credential, the origin
/// the credential is bound to, and the values the host learned for it. Built by the SDK from
/// what the host passes with each call; a connector reads it in [`crate::Connector::new`].
///
/// The credential itself is never here: requests made with [`crate::http::Auth::Connection`]
/// (the default) get it from the host.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    config: Config,
    auth_method: Option<String>,
    origin: Option<String>,
    values: Vec<(String, String)>,
}

impl Connection {
    pub(crate) fn from_context(context: ConnectionContext) -> Self {
        Self {
            config: Config::from_pairs(context.config),
            auth_method: context.auth_method,
            origin: context.origin,
            values: context.values,
        }
    }

    /// A connection for unit tests of a connector's own logic.
    pub fn for_tests(config: &[(&str, &str)], auth_method: Option<&str>) -> Self {
        Self {
            config: Config::from_pairs(
                config
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            auth_method: auth_method.map(str::to_owned),
            ..Self::default()
        }
    }

    /// The connection's config, as the client set it.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// One config value, or an `invalid-config` error naming the missing key.
    pub fn require(&self, key: &str) -> Result<&str, ConnectorError> {
        self.config.require(key)
    }

    /// An `https://` origin from config key `key` (no path, query or credentials), without a
    /// trailing slash.
    pub fn require_origin(&self, key: &str) -> Result<String, ConnectorError> {
        config::require_origin(&self.config, key)
    }

    /// The origin in config key `key` when the client set one (GitHub Enterprise, GovSlack, a
    /// test fake), checked like [`Connection::require_origin`]; `default` otherwise.
    pub fn origin_or(&self, key: &str, default: &str) -> Result<String, ConnectorError> {
        match self.config.get(key) {
            Some(_) => self.require_origin(key),
            None => Ok(default.to_owned()),
        }
    }

    /// Id of the auth method the connection's credential is for (`api_token`, `oauth`).
    pub fn auth_method(&self) -> Option<&str> {
        self.auth_method.as_deref()
    }

    /// The origin the credential is bound to (`https://acme.atlassian.net`, or a token
    /// response's `instance_url`), when the connector has one.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// A value the host learned for the connection: discovered by `connect` (`cloud_id`) or
    /// kept from the OAuth token response (`instance_url`). Connections made before contract
    /// 0.3.0 kept discovered values in their config, which is read as a fallback.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .or_else(|| self.config.get(key))
    }

    /// [`Connection::value`], or an `invalid-config` error naming it.
    pub fn require_value(&self, key: &str) -> Result<&str, ConnectorError> {
        self.value(key)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| {
                ConnectorError::InvalidConfig(format!(
                    "connection value `{key}` is missing; connect again to discover it"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_from_config_is_checked_and_its_absence_gives_the_default() {
        let plain = Connection::for_tests(&[], None);
        assert_eq!(
            plain
                .origin_or("api_url", "https://api.example.com")
                .unwrap(),
            "https://api.example.com"
        );
        let own = Connection::for_tests(&[("api_url", "https://ghe.acme.test/")], None);
        assert_eq!(
            own.origin_or("api_url", "https://api.example.com").unwrap(),
            "https://ghe.acme.test"
        );
        let with_path = Connection::for_tests(&[("api_url", "https://ghe.acme.test/api")], None);
        assert!(matches!(
            with_path.origin_or("api_url", "https://api.example.com"),
            Err(ConnectorError::InvalidConfig(_))
        ));
    }
}
