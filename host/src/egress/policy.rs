//! The operator's egress policy and what one call may reach. One allow-list for everything:
//! a connection's own origin gets no exemption from it.

use std::collections::BTreeMap;
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
    /// Hosts beyond what a connector requests that the operator lets that connector's
    /// connections reach and use as their origin (self-hosted or test sites), by connector id.
    /// Default: none.
    pub connector_hosts: BTreeMap<String, Vec<HostPattern>>,
    /// The only hosts tenant-private connectors may reach or use as their origin, whatever
    /// they request (`tenant_connectors.allowed_hosts`). Default: none.
    pub tenant_connector_hosts: Vec<HostPattern>,
}

impl Default for EgressPolicy {
    fn default() -> Self {
        Self {
            operator_hosts: vec![HostPattern::Any],
            guard: AddressGuard {
                allow_private: false,
            },
            max_redirects: 5,
            connector_hosts: BTreeMap::new(),
            tenant_connector_hosts: Vec::new(),
        }
    }
}

/// What one call on one connection may reach, and with which credential.
#[derive(Debug, Clone, Default)]
pub struct ConnectionScope {
    /// Hosts the plugin requested in its `info()`.
    pub plugin_hosts: Vec<HostPattern>,
    /// Hosts the operator added for this connector (`connector_hosts`).
    pub operator_extra_hosts: Vec<HostPattern>,
    /// The origin the connection's credential was validated against and bound to when it was
    /// stored. It decides where the credential goes, never what may be reached.
    pub origin: Option<url::Origin>,
    /// The connection's credential and where it goes; `None` for calls that must not use it.
    pub credential: Option<Arc<(Credential, CredentialPlacement)>>,
    /// Hosts besides `origin` that the auth method lets the credential go to.
    pub credential_hosts: Vec<HostPattern>,
    /// A secret written into request bodies in place of its placeholder (webhook
    /// registration), only to where the credential may go. Default: none.
    pub substitution: Option<Arc<super::SecretSubstitution>>,
    /// For a tenant-private connector: the only hosts it may reach, on top of every other
    /// rule (the operator's `tenant_connectors.allowed_hosts`). Default: `None`, no extra bound.
    pub confined_to: Option<Arc<[HostPattern]>>,
    /// Who sends, for the request metrics: the plugin id, or `oauth` for the host's token
    /// requests. Default: empty (written `host`).
    pub requester: Arc<str>,
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
        // Checked on every hop: a redirect to `https://user:pass@host/` would otherwise send
        // credentials the host never chose to send.
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "{} carries a user name or password; credentials go only where the host puts them",
                redact(url)
            ));
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

    fn host_allowed(&self, scope: &ConnectionScope, _url: &Url, host: &str) -> bool {
        let confined = scope
            .confined_to
            .as_ref()
            .is_none_or(|allowed| allowed.iter().any(|p| p.matches(host)));
        confined
            && Self::reachable(
                &scope.plugin_hosts,
                &scope.operator_extra_hosts,
                &self.operator_hosts,
                host,
            )
    }

    /// Whether a tenant-private connector may reach `host`.
    pub fn tenant_connector_may_reach(&self, host: &str) -> bool {
        self.tenant_connector_hosts.iter().any(|p| p.matches(host))
    }

    /// One rule for every destination, the connection's origin included: requested by the
    /// plugin and allowed by the operator, or added by the operator for this connector.
    fn reachable(
        plugin_hosts: &[HostPattern],
        extra_hosts: &[HostPattern],
        operator_hosts: &[HostPattern],
        host: &str,
    ) -> bool {
        extra_hosts.iter().any(|p| p.matches(host))
            || (plugin_hosts.iter().any(|p| p.matches(host))
                && operator_hosts.iter().any(|p| p.matches(host)))
    }

    /// The hosts the operator added for `connector`.
    pub fn extra_hosts(&self, connector: &str) -> Vec<HostPattern> {
        self.connector_hosts
            .get(connector)
            .cloned()
            .unwrap_or_default()
    }

    /// Checks a connection's origin before a credential is bound to it: an absolute
    /// `https` URL (`http` only with private egress) whose host passes the same allow-list as
    /// every request. `Err` says why, for the client.
    pub fn check_origin(
        &self,
        connector: &str,
        plugin_hosts: &[HostPattern],
        value: &str,
    ) -> Result<url::Origin, String> {
        let url = self.origin_url(value)?;
        let host = url.host_str().unwrap_or_default();
        let extra = self.extra_hosts(connector);
        if !Self::reachable(plugin_hosts, &extra, &self.operator_hosts, host) {
            return Err(format!(
                "host `{host}` is not allowed for connector `{connector}`: it must match the \
                 connector's requested hosts and the operator's egress_allowed_hosts, or be \
                 listed by the operator in connector_hosts.{connector}"
            ));
        }
        Ok(url.origin())
    }

    /// [`EgressPolicy::check_origin`] for a tenant's own connector: its whole allow-list is
    /// what the operator opened to tenant connectors.
    pub fn check_tenant_origin(&self, value: &str) -> Result<url::Origin, String> {
        let url = self.origin_url(value)?;
        let host = url.host_str().unwrap_or_default();
        if !self.tenant_connector_may_reach(host) {
            return Err(format!(
                "host `{host}` is not among the hosts the operator allows for tenant connectors (tenant_connectors.allowed_hosts)"
            ));
        }
        Ok(url.origin())
    }

    /// An origin a credential may be bound to: absolute, `https` (`http` only with private
    /// egress), no user name or password.
    fn origin_url(&self, value: &str) -> Result<Url, String> {
        let url = Url::parse(value).map_err(|_| format!("`{value}` is not an absolute URL"))?;
        match url.scheme() {
            "https" => {}
            "http" if self.guard.allow_private => {}
            _ => return Err(format!("`{}` must be an https URL", redact(&url))),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("the URL must not carry a user name or password".into());
        }
        Ok(url)
    }
}

impl EgressPolicy {
    /// Whether a database connector may reach `host` (the same allow-list as HTTP: the
    /// connector's requested hosts within the operator's list, or the operator's
    /// `connector_hosts`). Addresses are checked by the guard after resolution.
    pub fn check_database_host(
        &self,
        connector: &str,
        plugin_hosts: &[HostPattern],
        host: &str,
    ) -> Result<(), String> {
        let extra = self.extra_hosts(connector);
        if Self::reachable(plugin_hosts, &extra, &self.operator_hosts, host) {
            Ok(())
        } else {
            Err(format!(
                "database host `{host}` is not allowed for connector `{connector}`: it must match \
                 the connector's requested hosts and the operator's egress_allowed_hosts, or be \
                 listed by the operator in connector_hosts.{connector}"
            ))
        }
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
            operator_extra_hosts: Vec::new(),
            origin: Some(Url::parse("https://acme.atlassian.net").unwrap().origin()),
            credential: None,
            credential_hosts: vec![HostPattern::parse("api.atlassian.com").unwrap()],
            substitution: None,
            requester: Arc::from("jira"),
            confined_to: None,
        }
    }

    #[test]
    fn a_confined_scope_reaches_only_its_hosts_on_top_of_every_other_rule() {
        let policy = EgressPolicy::default();
        let confined = ConnectionScope {
            confined_to: Some(Arc::from(vec![
                HostPattern::parse("acme.atlassian.net").unwrap(),
            ])),
            ..scope()
        };
        assert!(
            policy
                .check_url(
                    &confined,
                    &Url::parse("https://acme.atlassian.net/x").unwrap()
                )
                .is_ok()
        );
        assert!(
            policy
                .check_url(
                    &confined,
                    &Url::parse("https://api.atlassian.com/x").unwrap()
                )
                .is_err()
        );
        let nowhere = ConnectionScope {
            confined_to: Some(Arc::from(Vec::new())),
            ..scope()
        };
        assert!(
            policy
                .check_url(
                    &nowhere,
                    &Url::parse("https://acme.atlassian.net/x").unwrap()
                )
                .is_err()
        );
    }

    fn check(policy: &EgressPolicy, url: &str) -> Result<(), String> {
        policy.check_url(&scope(), &Url::parse(url).unwrap())
    }

    #[test]
    fn only_requested_hosts_within_the_operator_policy_pass() {
        let policy = EgressPolicy::default();
        assert!(check(&policy, "https://other.atlassian.net/rest").is_ok());
        assert!(check(&policy, "https://evil.example/").is_err());
        assert!(check(&policy, "https://user:pass@other.atlassian.net/").is_err());
        assert!(check(&policy, "https://user@other.atlassian.net/").is_err());
        let narrow = EgressPolicy {
            operator_hosts: vec![HostPattern::parse("api.atlassian.com").unwrap()],
            ..policy
        };
        assert!(check(&narrow, "https://other.atlassian.net/rest").is_err());
        assert!(
            check(&narrow, "https://acme.atlassian.net/rest").is_err(),
            "the connection's own origin gets no exemption from the operator's list"
        );
    }

    #[test]
    fn origins_pass_the_same_allow_list_or_the_operators_connector_hosts() {
        let mut policy = EgressPolicy::default();
        let hosts = scope().plugin_hosts;
        assert!(
            policy
                .check_origin("jira", &hosts, "https://acme.atlassian.net")
                .is_ok()
        );
        assert!(
            policy
                .check_origin("jira", &hosts, "https://collector.example")
                .is_err()
        );
        assert!(
            policy
                .check_origin("jira", &hosts, "http://acme.atlassian.net")
                .is_err()
        );
        assert!(
            policy
                .check_origin("jira", &hosts, "https://u:p@acme.atlassian.net")
                .is_err()
        );
        policy.connector_hosts.insert(
            "jira".into(),
            vec![HostPattern::parse("jira.corp.example").unwrap()],
        );
        assert!(
            policy
                .check_origin("jira", &hosts, "https://jira.corp.example")
                .is_ok()
        );
        assert!(
            policy
                .check_origin("confluence", &hosts, "https://jira.corp.example")
                .is_err()
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
