use std::net::IpAddr;
use std::sync::Arc;

use url::Url;

use super::{AddressGuard, Credential, CredentialPlacement, HostPattern};

/// The operator's egress policy, shared by every call.
#[derive(Debug, Clone)]
pub struct EgressPolicy {
    /// Hosts the operator lets plugins reach at all; a plugin reaches only the hosts it requested
    /// that are also here. Default: `*` (whatever the plugin requested).
    pub operator_hosts: Vec<HostPattern>,
    /// Address checks after DNS resolution. Default: private ranges refused.
    pub guard: AddressGuard,
    /// Redirect hops followed (each re-checked). Default: 5.
    pub max_redirects: u8,
}

impl Default for EgressPolicy {
    fn default() -> Self {
        Self {
            operator_hosts: vec![HostPattern::Any],
            guard: AddressGuard {
                allow_private: false,
            },
            max_redirects: 5,
        }
    }
}

/// What one call on one connection may reach, and with which credential.
#[derive(Debug, Clone, Default)]
pub struct ConnectionScope {
    /// Hosts the plugin requested in its `info()`.
    pub plugin_hosts: Vec<HostPattern>,
    /// The connection's own configured origin (`site_url`), if the connector names one.
    pub origin: Option<url::Origin>,
    /// The connection's credential and where it goes; `None` for calls that must not use it.
    pub credential: Option<Arc<(Credential, CredentialPlacement)>>,
    /// Hosts besides `origin` that the auth method lets the credential go to.
    pub credential_hosts: Vec<HostPattern>,
}

impl EgressPolicy {
    /// Checks a URL before any connection is made: scheme, host allow-list, literal addresses.
    /// Resolved names are checked again by the client's resolver.
    pub fn check_url(&self, scope: &ConnectionScope, url: &Url) -> Result<(), String> {
        let host = url
            .host_str()
            .ok_or_else(|| format!("{} has no host", redact(url)))?;
        match url.scheme() {
            "https" => {}
            // Plain HTTP only where private egress is on: local fakes and development.
            "http" if self.guard.allow_private => {}
            other => return Err(format!("scheme `{other}` is not allowed; use https")),
        }
        if !self.host_allowed(scope, url, host) {
            return Err(format!(
                "host `{host}` is not in this connector's allowed hosts"
            ));
        }
        if let Ok(literal) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            self.guard.check(literal)?;
        }
        Ok(())
    }

    fn host_allowed(&self, scope: &ConnectionScope, url: &Url, host: &str) -> bool {
        if scope.origin.as_ref() == Some(&url.origin()) {
            return true;
        }
        scope.plugin_hosts.iter().any(|p| p.matches(host))
            && self.operator_hosts.iter().any(|p| p.matches(host))
    }
}

impl ConnectionScope {
    /// Whether the credential may be sent to this URL: its exact origin is the connection's, or
    /// its host is one the auth method names.
    pub fn credential_bound_to(&self, url: &Url) -> bool {
        if self.origin.as_ref() == Some(&url.origin()) {
            return true;
        }
        url.host_str()
            .is_some_and(|host| self.credential_hosts.iter().any(|p| p.matches(host)))
    }
}

/// A URL as it may appear in an error: no query (it may hold an API key), no userinfo.
pub(super) fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> ConnectionScope {
        ConnectionScope {
            plugin_hosts: vec![
                HostPattern::parse("*.atlassian.net").unwrap(),
                HostPattern::parse("api.atlassian.com").unwrap(),
            ],
            origin: Some(Url::parse("https://acme.atlassian.net").unwrap().origin()),
            credential: None,
            credential_hosts: vec![HostPattern::parse("api.atlassian.com").unwrap()],
        }
    }

    fn check(policy: &EgressPolicy, url: &str) -> Result<(), String> {
        policy.check_url(&scope(), &Url::parse(url).unwrap())
    }

    #[test]
    fn only_requested_hosts_within_the_operator_policy_pass() {
        let policy = EgressPolicy::default();
        assert!(check(&policy, "https://other.atlassian.net/rest").is_ok());
        assert!(check(&policy, "https://evil.example/").is_err());
        let narrow = EgressPolicy {
            operator_hosts: vec![HostPattern::parse("api.atlassian.com").unwrap()],
            ..policy
        };
        assert!(check(&narrow, "https://other.atlassian.net/rest").is_err());
        assert!(
            check(&narrow, "https://acme.atlassian.net/rest").is_ok(),
            "the connection's origin stays allowed"
        );
    }

    #[test]
    fn plain_http_and_literal_private_addresses_are_refused() {
        let policy = EgressPolicy::default();
        assert!(check(&policy, "http://acme.atlassian.net/").is_err());
        let mut open = scope();
        open.plugin_hosts.push(HostPattern::Any);
        assert!(
            policy
                .check_url(&open, &Url::parse("https://127.0.0.1/").unwrap())
                .is_err()
        );
        assert!(
            policy
                .check_url(&open, &Url::parse("https://[::1]/").unwrap())
                .is_err()
        );
    }

    #[test]
    fn credential_goes_only_to_bound_origins() {
        let scope = scope();
        assert!(scope.credential_bound_to(&Url::parse("https://acme.atlassian.net/x").unwrap()));
        assert!(
            scope.credential_bound_to(&Url::parse("https://api.atlassian.com/ex/jira/1").unwrap())
        );
        assert!(!scope.credential_bound_to(&Url::parse("https://other.atlassian.net/x").unwrap()));
        assert!(!scope.credential_bound_to(&Url::parse("http://acme.atlassian.net/x").unwrap()));
    }

    #[test]
    fn redacted_urls_drop_queries() {
        assert_eq!(
            redact(&Url::parse("https://u:p@h.io/a?api_key=s").unwrap()),
            "https://h.io/a"
        );
    }
}
