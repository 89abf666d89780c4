use anyhow::{Context as _, bail};
use serde::Serialize;

use super::action::ActionManifest;
use super::contract::wit::ConnectorError;
use super::contract::wit::connector::plugin::manifest as wit;
use super::operation::Operation;
use super::webhook_support::WebhookManifest;
use crate::egress::{CredentialPlacement, HostPattern};

/// A connector's `info()`, checked and in the shape the REST API shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConnectorManifest {
    /// The connector's id (`jira`).
    pub id: String,
    /// Its name for people.
    pub display_name: String,
    /// Its version (semver).
    pub version: String,
    /// What it connects to.
    pub description: String,
    /// The ways a connection can authenticate.
    pub auth_methods: Vec<AuthMethodManifest>,
    /// The hosts it asks to reach (patterns such as `*.atlassian.net`).
    pub requested_hosts: Vec<String>,
    /// The config key that holds a connection's origin, when its site varies (`site_url`).
    pub origin_config_key: Option<String>,
    /// JSON Schema of a connection's config.
    #[schema(value_type = Object)]
    pub config_schema: serde_json::Value,
    /// The operations it offers (`containers`, `items`, `search`, ...).
    #[schema(value_type = Vec<String>)]
    pub operations: Vec<&'static str>,
    /// Named actions (contract 0.3.0), each invoked with schema-checked input.
    pub actions: Vec<ActionManifest>,
    /// How the vendor's webhooks are verified and handled (contract 0.3.0), if at all.
    pub webhooks: Option<WebhookManifest>,
}

/// One way to authenticate a connection.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuthMethodManifest {
    /// The method's id.
    pub id: String,
    /// Its name for people.
    pub label: String,
    /// What a client supplies for it.
    #[serde(flatten)]
    pub kind: CredentialKindManifest,
    /// Where the host puts the credential: `basic`, `bearer`, `header:NAME` or `query:NAME`.
    pub placement: String,
    /// Hosts besides the connection's origin the credential may be sent to.
    pub credential_hosts: Vec<String>,
    #[serde(skip)]
    #[schema(ignore)]
    pub(crate) placement_rule: CredentialPlacement,
    /// `credential_hosts`, parsed once at load rather than on every call.
    #[serde(skip)]
    #[schema(ignore)]
    pub(crate) credential_patterns: Vec<HostPattern>,
}

/// What a client supplies for an auth method.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CredentialKindManifest {
    /// A username and password or API token.
    Basic,
    /// A bearer token.
    Bearer,
    /// An API key.
    ApiKey,
    /// OAuth 2.0, through the host's flow.
    Oauth2 {
        /// Its endpoints and options.
        oauth2: Box<OAuth2Manifest>,
    },
    /// Several named secrets, each placed on its own (contract 0.3.0).
    MultiPart {
        /// The parts, each with its placement.
        parts: Vec<CredentialPartManifest>,
    },
}

/// One secret of a multi-part credential.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CredentialPartManifest {
    /// The name a client gives it under in `credentials.parts`.
    pub name: String,
    /// Its name for people.
    pub label: String,
    /// `header:NAME` or `query:NAME`.
    pub placement: String,
}

/// OAuth 2.0 endpoints of an auth method.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OAuth2Manifest {
    /// Where the user consents.
    pub authorize_url: String,
    /// Where codes are exchanged for tokens.
    pub token_url: String,
    /// Where refresh grants go, when not `token_url`.
    pub refresh_url: Option<String>,
    /// Where grants are revoked.
    pub revoke_url: Option<String>,
    /// Scopes asked for by default.
    pub default_scopes: Vec<String>,
    /// How scopes are joined in the authorize URL (`" "` or `","`).
    pub scope_separator: String,
    /// Extra parameters of the authorization request.
    #[schema(value_type = Vec<Vec<String>>)]
    pub extra_authorize_params: Vec<(String, String)>,
    /// Whether the flow uses PKCE (S256).
    pub pkce: bool,
    /// `body` or `basic`.
    #[schema(value_type = String)]
    pub client_auth: &'static str,
    /// `form` or `json`.
    #[schema(value_type = String)]
    pub token_request_format: &'static str,
    /// JSON pointer to the token set inside the token response, when not at the top.
    pub token_pointer: Option<String>,
    /// Token-response fields kept as connection values.
    pub response_values: Vec<String>,
    /// The token-response field that becomes the connection's origin.
    pub origin_from_response: Option<String>,
}

impl ConnectorManifest {
    /// Checks what a plugin declared; a plugin with a malformed manifest is not loaded.
    pub(crate) fn from_wit(info: wit::ConnectorInfo) -> anyhow::Result<Self> {
        if info.id.is_empty()
            || info.id.len() > 64
            || !info
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            bail!(
                "connector id `{}` must be 1-64 characters of a-z, 0-9, `-` or `_`",
                info.id
            );
        }
        for host in &info.requested_hosts {
            HostPattern::parse(host)
                .map_err(anyhow::Error::msg)
                .context("requested host")?;
        }
        let config_schema: serde_json::Value =
            serde_json::from_str(&info.config_schema).context("config schema is not JSON")?;
        let auth_methods = info
            .auth_methods
            .into_iter()
            .map(AuthMethodManifest::from_wit)
            .collect::<anyhow::Result<Vec<_>>>()?;
        let actions = ActionManifest::from_wit_list(info.actions)?;
        let webhooks = info.webhooks.map(WebhookManifest::from_wit).transpose()?;
        Ok(Self {
            id: info.id,
            display_name: info.display_name,
            version: info.version,
            description: info.description,
            auth_methods,
            requested_hosts: info.requested_hosts,
            origin_config_key: info.origin_config_key,
            config_schema,
            operations: info.operations.into_iter().map(operation_name).collect(),
            actions,
            webhooks,
        })
    }

    /// Why this connector cannot run `operation`, when it cannot: an operation it does not
    /// list, an action it does not declare, webhooks it does not handle. The host answers
    /// with this without running the plugin.
    pub(crate) fn refuses(&self, operation: &Operation) -> Option<ConnectorError> {
        let unsupported = |what: String| {
            Some(ConnectorError::Unsupported(format!(
                "connector `{}` does not offer {what}",
                self.id
            )))
        };
        if let Some(name) = operation.manifest_name() {
            return if self.operations.contains(&name) {
                None
            } else {
                unsupported(format!("`{name}`"))
            };
        }
        match operation {
            Operation::InvokeAction { name, .. } if self.action(name).is_none() => {
                unsupported(format!("an action `{name}`"))
            }
            Operation::WebhookEvent { .. } if self.webhooks.is_none() => {
                unsupported("webhooks".into())
            }
            Operation::RegisterWebhook { .. } | Operation::UnregisterWebhook { .. }
                if !self.webhooks.as_ref().is_some_and(|w| w.registration) =>
            {
                unsupported("webhook registration".into())
            }
            _ => None,
        }
    }

    /// The action named `name`.
    pub fn action(&self, name: &str) -> Option<&ActionManifest> {
        self.actions.iter().find(|a| a.name == name)
    }

    /// Parsed requested hosts (validated at load).
    pub(crate) fn host_patterns(&self) -> Vec<HostPattern> {
        self.requested_hosts
            .iter()
            .filter_map(|h| HostPattern::parse(h).ok())
            .collect()
    }

    /// Refuses a manifest that would send a secret somewhere the operator did not agree to:
    /// credential hosts must be neither `*` nor a bare-TLD wildcard, and lie within the
    /// requested hosts and the operator's list; OAuth token and revocation endpoints (which
    /// receive the client secret and every refresh token) must be on such hosts too, unless
    /// the operator pinned this connector's endpoints in `[oauth.<id>]` (`oauth_pinned`).
    pub(crate) fn check_secret_destinations(
        &self,
        operator: &[HostPattern],
        oauth_pinned: bool,
    ) -> anyhow::Result<()> {
        let requested = self.host_patterns();
        let within = |pattern: &HostPattern| {
            requested.iter().any(|r| r.covers(pattern))
                && operator.iter().any(|o| o.covers(pattern))
        };
        for method in &self.auth_methods {
            for pattern in &method.credential_patterns {
                if pattern.is_too_wide() {
                    bail!(
                        "auth method `{}`: credential host `{pattern}` is too wide; name the \
                         vendor's hosts",
                        method.id
                    );
                }
                if !within(pattern) {
                    bail!(
                        "auth method `{}`: credential host `{pattern}` is not within the \
                         requested hosts and the operator's egress_allowed_hosts",
                        method.id
                    );
                }
            }
            let CredentialKindManifest::Oauth2 { oauth2 } = &method.kind else {
                continue;
            };
            if oauth_pinned {
                continue;
            }
            let endpoints = [
                ("token_url", Some(&oauth2.token_url)),
                ("refresh_url", oauth2.refresh_url.as_ref()),
                ("revoke_url", oauth2.revoke_url.as_ref()),
            ];
            for (field, url) in endpoints {
                let Some(url) = url else { continue };
                let host = url::Url::parse(url)
                    .ok()
                    .filter(|u| u.scheme() == "https")
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .with_context(|| {
                        format!("auth method `{}`: {field} must be an https URL", method.id)
                    })?;
                let exact = HostPattern::Exact(host.to_ascii_lowercase());
                if !within(&exact) {
                    bail!(
                        "auth method `{}`: {field} is on `{host}`, which is not within the \
                         requested hosts and the operator's egress_allowed_hosts (an operator \
                         can pin the endpoints in [oauth.{}])",
                        method.id,
                        self.id
                    );
                }
            }
        }
        Ok(())
    }

    /// The fields that decide where the host sends secrets and requests, flattened to
    /// `name -> value`, for comparing two versions of one connector.
    pub fn security_profile(&self) -> std::collections::BTreeMap<String, serde_json::Value> {
        use serde_json::json;
        let mut profile = std::collections::BTreeMap::new();
        let mut hosts = self.requested_hosts.clone();
        hosts.sort();
        profile.insert("requested_hosts".to_owned(), json!(hosts));
        profile.insert(
            "origin_config_key".to_owned(),
            json!(self.origin_config_key),
        );
        for method in &self.auth_methods {
            let key = |field: &str| format!("auth_methods.{}.{field}", method.id);
            let mut credential_hosts = method.credential_hosts.clone();
            credential_hosts.sort();
            profile.insert(key("placement"), json!(method.placement));
            profile.insert(key("credential_hosts"), json!(credential_hosts));
            if let CredentialKindManifest::Oauth2 { oauth2 } = &method.kind {
                profile.insert(key("authorize_url"), json!(oauth2.authorize_url));
                profile.insert(key("token_url"), json!(oauth2.token_url));
                profile.insert(key("refresh_url"), json!(oauth2.refresh_url));
                profile.insert(
                    key("origin_from_response"),
                    json!(oauth2.origin_from_response),
                );
                profile.insert(key("revoke_url"), json!(oauth2.revoke_url));
                profile.insert(key("client_auth"), json!(oauth2.client_auth));
            }
        }
        profile
    }

    /// What changed in [`ConnectorManifest::security_profile`] from `before` to `self`: one
    /// `{field, before, after}` per difference, an auth method added or removed included.
    pub fn security_changes(&self, before: &ConnectorManifest) -> Vec<serde_json::Value> {
        let old = before.security_profile();
        let new = self.security_profile();
        let fields: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        fields
            .into_iter()
            .filter(|field| old.get(*field) != new.get(*field))
            .map(|field| {
                serde_json::json!({
                    "field": field,
                    "before": old.get(field),
                    "after": new.get(field),
                })
            })
            .collect()
    }

    /// The auth method named `id`.
    pub fn auth_method(&self, id: &str) -> Option<&AuthMethodManifest> {
        self.auth_methods.iter().find(|m| m.id == id)
    }
}

impl AuthMethodManifest {
    fn from_wit(method: wit::AuthMethod) -> anyhow::Result<Self> {
        let credential_patterns = method
            .credential_hosts
            .iter()
            .map(|host| {
                HostPattern::parse(host)
                    .map_err(anyhow::Error::msg)
                    .context("credential host")
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let (mut placement, mut placement_rule) = placement_of(method.placement);
        let kind = match method.kind {
            wit::CredentialKind::Basic => CredentialKindManifest::Basic,
            wit::CredentialKind::Bearer => CredentialKindManifest::Bearer,
            wit::CredentialKind::ApiKey => CredentialKindManifest::ApiKey,
            wit::CredentialKind::Oauth2(o) => CredentialKindManifest::Oauth2 {
                oauth2: Box::new(OAuth2Manifest::from_wit(o)?),
            },
            wit::CredentialKind::MultiPart(parts) => {
                let (manifests, rules) = multi_part(&method.id, parts)?;
                placement = "parts".to_owned();
                placement_rule = CredentialPlacement::Parts(rules);
                CredentialKindManifest::MultiPart { parts: manifests }
            }
        };
        Ok(Self {
            id: method.id,
            label: method.label,
            kind,
            placement,
            credential_hosts: method.credential_hosts,
            placement_rule,
            credential_patterns,
        })
    }
}

fn placement_of(placement: wit::CredentialPlacement) -> (String, CredentialPlacement) {
    match placement {
        wit::CredentialPlacement::Basic => ("basic".to_owned(), CredentialPlacement::Basic),
        wit::CredentialPlacement::Bearer => ("bearer".to_owned(), CredentialPlacement::Bearer),
        wit::CredentialPlacement::Header(name) => (
            format!("header:{name}"),
            CredentialPlacement::Header(name.to_ascii_lowercase()),
        ),
        wit::CredentialPlacement::Query(name) => {
            (format!("query:{name}"), CredentialPlacement::Query(name))
        }
    }
}

/// Checked parts: what the API shows, and where the host places each one.
type CheckedParts = (
    Vec<CredentialPartManifest>,
    Vec<(String, CredentialPlacement)>,
);

/// Longest list of parts one credential may have.
const MAX_CREDENTIAL_PARTS: usize = 8;

/// Checks a multi-part credential's parts: 1 to 8 of them, unique names of `a-z0-9_`, each
/// placed in a header or the query (a part cannot be Basic or Bearer: those take one secret
/// for the whole `authorization` header).
fn multi_part(method: &str, parts: Vec<wit::CredentialPart>) -> anyhow::Result<CheckedParts> {
    if parts.is_empty() || parts.len() > MAX_CREDENTIAL_PARTS {
        bail!(
            "auth method `{method}`: a multi-part credential has 1 to {MAX_CREDENTIAL_PARTS} parts"
        );
    }
    let mut manifests = Vec::new();
    let mut rules: Vec<(String, CredentialPlacement)> = Vec::new();
    for part in parts {
        let valid_name = !part.name.is_empty()
            && part.name.len() <= 64
            && part
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid_name || rules.iter().any(|(name, _)| *name == part.name) {
            bail!(
                "auth method `{method}`: part name `{}` must be unique, 1-64 characters of a-z, 0-9 or `_`",
                part.name
            );
        }
        let (shown, rule) = placement_of(part.placement);
        if !matches!(
            rule,
            CredentialPlacement::Header(_) | CredentialPlacement::Query(_)
        ) {
            bail!(
                "auth method `{method}`: part `{}` must be placed in a header or the query",
                part.name
            );
        }
        if rules.iter().any(|(_, other)| *other == rule) {
            bail!("auth method `{method}`: two parts are placed at `{shown}`");
        }
        manifests.push(CredentialPartManifest {
            name: part.name.clone(),
            label: part.label,
            placement: shown,
        });
        rules.push((part.name, rule));
    }
    Ok((manifests, rules))
}

impl OAuth2Manifest {
    fn from_wit(o: wit::Oauth2) -> anyhow::Result<Self> {
        if !matches!(o.scope_separator.as_str(), " " | ",") {
            bail!("oauth2 scope-separator must be \" \" or \",\"");
        }
        if let Some(pointer) = &o.token_pointer
            && !pointer.starts_with('/')
        {
            bail!("oauth2 token-pointer `{pointer}` must be a JSON pointer starting with `/`");
        }
        if let Some(field) = &o.origin_from_response
            && !o.response_values.contains(field)
        {
            bail!("oauth2 origin-from-response `{field}` must be one of response-values");
        }
        Ok(Self {
            authorize_url: o.authorize_url,
            token_url: o.token_url,
            refresh_url: o.refresh_url,
            revoke_url: o.revoke_url,
            default_scopes: o.default_scopes,
            scope_separator: o.scope_separator,
            extra_authorize_params: o.extra_authorize_params,
            pkce: o.pkce,
            client_auth: match o.client_auth {
                wit::ClientAuth::Body => "body",
                wit::ClientAuth::Basic => "basic",
            },
            token_request_format: match o.token_request_format {
                wit::TokenRequestFormat::Form => "form",
                wit::TokenRequestFormat::Json => "json",
            },
            token_pointer: o.token_pointer,
            response_values: o.response_values,
            origin_from_response: o.origin_from_response,
        })
    }
}

fn operation_name(operation: wit::Operation) -> &'static str {
    match operation {
        wit::Operation::Containers => "containers",
        wit::Operation::Items => "items",
        wit::Operation::Item => "item",
        wit::Operation::Comments => "comments",
        wit::Operation::Search => "search",
        wit::Operation::CreateItem => "create_item",
        wit::Operation::CreateComment => "create_comment",
        wit::Operation::UpdateItem => "update_item",
    }
}

/// An OAuth 2.0 auth method kind with `token_url` and plain defaults, for tests.
#[cfg(test)]
pub(crate) fn oauth2_kind(token_url: &str) -> CredentialKindManifest {
    CredentialKindManifest::Oauth2 {
        oauth2: Box::new(OAuth2Manifest {
            authorize_url: "https://auth.vendor.example/authorize".into(),
            token_url: token_url.into(),
            refresh_url: None,
            revoke_url: None,
            default_scopes: Vec::new(),
            scope_separator: " ".into(),
            extra_authorize_params: Vec::new(),
            pkce: true,
            client_auth: "body",
            token_request_format: "form",
            token_pointer: None,
            response_values: Vec::new(),
            origin_from_response: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(credential_hosts: &[&str], token_url: Option<&str>) -> AuthMethodManifest {
        let kind = match token_url {
            Some(url) => oauth2_kind(url),
            None => CredentialKindManifest::Bearer,
        };
        AuthMethodManifest {
            id: "m".into(),
            label: "m".into(),
            kind,
            placement: "bearer".into(),
            credential_hosts: credential_hosts.iter().map(|h| (*h).to_owned()).collect(),
            placement_rule: CredentialPlacement::Bearer,
            credential_patterns: credential_hosts
                .iter()
                .map(|h| HostPattern::parse(h).unwrap())
                .collect(),
        }
    }

    fn manifest(method: AuthMethodManifest) -> ConnectorManifest {
        ConnectorManifest {
            id: "vendor".into(),
            display_name: "Vendor".into(),
            version: "1".into(),
            description: String::new(),
            auth_methods: vec![method],
            requested_hosts: vec!["*.vendor.example".into(), "api.vendor.example".into()],
            origin_config_key: None,
            config_schema: serde_json::json!({}),
            operations: Vec::new(),
            actions: Vec::new(),
            webhooks: None,
        }
    }

    fn check(m: &ConnectorManifest, operator: &[&str], pinned: bool) -> Result<(), String> {
        let operator: Vec<HostPattern> = operator
            .iter()
            .map(|h| HostPattern::parse(h).unwrap())
            .collect();
        m.check_secret_destinations(&operator, pinned)
            .map_err(|e| format!("{e:#}"))
    }

    #[test]
    fn credential_hosts_must_be_narrow_and_within_both_lists() {
        let any = ["*"];
        assert!(
            check(
                &manifest(method(&["api.vendor.example"], None)),
                &any,
                false
            )
            .is_ok()
        );
        for wide in ["*", "*.example", "*.com"] {
            let error = check(&manifest(method(&[wide], None)), &any, false).unwrap_err();
            assert!(error.contains("too wide"), "{wide}: {error}");
        }
        let error = check(&manifest(method(&["collector.evil"], None)), &any, false).unwrap_err();
        assert!(error.contains("not within"), "{error}");
        let narrow = ["api.vendor.example"];
        assert!(
            check(
                &manifest(method(&["eu.vendor.example"], None)),
                &narrow,
                false
            )
            .is_err()
        );
    }

    #[test]
    fn oauth_endpoints_must_be_on_allowed_hosts_unless_pinned() {
        let any = ["*"];
        let own = manifest(method(&[], Some("https://auth.vendor.example/token")));
        assert!(check(&own, &any, false).is_ok());
        let elsewhere = manifest(method(&[], Some("https://collector.evil/token")));
        assert!(
            check(&elsewhere, &any, false)
                .unwrap_err()
                .contains("token_url")
        );
        assert!(
            check(&elsewhere, &any, true).is_ok(),
            "the operator pinned the endpoints"
        );
        let plain = manifest(method(&[], Some("http://auth.vendor.example/token")));
        assert!(check(&plain, &any, false).unwrap_err().contains("https"));
        assert!(check(&own, &["api.vendor.example"], false).is_err());
    }

    #[test]
    fn security_changes_name_each_moved_field() {
        let before = manifest(method(&[], Some("https://auth.vendor.example/token")));
        let after = manifest(method(&[], Some("https://auth2.vendor.example/token")));
        let changes = after.security_changes(&before);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0]["field"], "auth_methods.m.token_url");
        assert!(before.security_changes(&before).is_empty());
    }
}
