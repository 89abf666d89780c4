//! The authorization-code flow: `authorize` opens a single-use session and signs `state`;
//! `callback` checks the state before any lookup, consumes the session, and exchanges the code
//! with the PKCE verifier. Creating the connection from the tokens is the caller's job.

use std::collections::BTreeMap;
use std::time::Duration;

use super::clients::{self, OAuthClientConfig, OAuthEndpoints};
use super::signed_state::{self, StateClaims, StateError};
use super::token_client::{TokenClient, TokenError, TokenStyle, unix_now};
use super::{OAuthClient, pkce};
use crate::runtime::{CallContext, CallError, Operation, Plugin, Runtime};
use crate::store::{OAuthSession, Store, StoreError, StoredCredential};

/// What a client asks `authorize` for.
#[derive(Debug, Default)]
pub struct AuthorizeRequest {
    /// The tenant asking.
    pub tenant: String,
    /// The connector to authorize.
    pub connector: String,
    /// The connection's config (checked against the connector's schema).
    pub config: serde_json::Map<String, serde_json::Value>,
    /// Scopes to ask for beyond the connector's defaults.
    pub scopes: Vec<String>,
    /// Where the vendor sends the user back, when not the host's own callback.
    pub redirect_uri: Option<String>,
    /// Where the browser lands after the callback (one of the tenant's `redirect_origins`).
    pub return_to: Option<String>,
    /// A name for the new connection.
    pub name: Option<String>,
    /// Which of the connector's OAuth methods; its first when `None`.
    pub auth_method: Option<String>,
    /// A connection of the tenant whose credential the grant replaces, instead of creating a
    /// connection (checked by the caller to be the tenant's, of this connector). Default: none.
    pub reconnect: Option<String>,
}

/// Where to send the user: the host's start page, which binds the flow to the browser that
/// opens it and names who is asking before it links on to the vendor.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Authorization {
    /// The host's start page for this flow.
    pub authorization_url: String,
    /// The flow's `state`, signed and single-use.
    pub state: String,
    /// When the flow expires (RFC 3339).
    pub expires_at: String,
}

/// What the start page shows and sets.
pub struct StartPage {
    /// The tenant asking (its display name).
    pub tenant_name: String,
    /// The tenant's id.
    pub tenant_id: String,
    /// The connector's display name.
    pub connector_name: String,
    /// The vendor's authorization URL to continue to.
    pub vendor_url: String,
    /// The cookie that binds the flow to this browser: name and value.
    pub cookie: (String, String),
    /// Seconds until the flow expires (the cookie's max-age).
    pub max_age_secs: u64,
}

/// Tokens from a completed grant, with the session they belong to.
pub struct CallbackOutcome {
    /// The flow the grant completes.
    pub session: OAuthSession,
    /// The auth method the tokens are for.
    pub auth_method: String,
    /// The tokens, to be sealed with the connection.
    pub credential: StoredCredential,
    /// Where the grant is refreshed (recorded with the connection).
    pub refresh_url: String,
    /// Token-response fields the connector asked to keep (`instance_url`).
    pub values: std::collections::BTreeMap<String, String>,
    /// The token-response field the connector names as the connection's origin, as given;
    /// checked against the egress allow-list before anything is bound to it.
    pub origin_from_response: Option<String>,
}

/// Why a flow step failed. Messages never include a code, token, verifier or client secret.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The connector is not installed.
    #[error("connector `{0}` is not installed")]
    NotInstalled(String),
    /// The connector has no OAuth 2.0 auth method.
    #[error("connector `{0}` does not support OAuth")]
    NoOAuth(String),
    /// Neither the tenant nor the operator set an OAuth client for the connector.
    #[error(
        "no OAuth client for connector `{0}`: set one with PUT /api/v1/connectors/{0}/oauth-app"
    )]
    NoClient(String),
    /// The request was malformed.
    #[error("{0}")]
    InvalidRequest(String),
    /// The connector refused the config.
    #[error("the connector rejected the config: {0}")]
    ConfigRejected(String),
    /// The `state` is forged, expired or malformed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The flow was completed once already.
    #[error("this authorization was already used; start again")]
    Replayed,
    /// The flow belongs to another tenant.
    #[error("this authorization belongs to another tenant")]
    WrongTenant,
    /// The flow was started in another browser.
    #[error(
        "this authorization was started in another browser; start again from the application \
         that sent you here"
    )]
    OtherBrowser,
    /// The tenant has as many pending flows as its quota allows.
    #[error("{0}")]
    Quota(String),
    /// The vendor refused consent.
    #[error("authorization was refused at the vendor: {error}{}", description_suffix(.description))]
    Denied {
        /// The OAuth error code (`access_denied`).
        error: String,
        /// The vendor's description.
        description: String,
    },
    /// The vendor refused the authorization code.
    #[error("the vendor refused the authorization code: {0}")]
    Exchange(TokenError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The plugin's `connect` failed.
    #[error("{0}")]
    Plugin(CallError),
}

fn description_suffix(description: &str) -> String {
    if description.is_empty() {
        String::new()
    } else {
        format!(" ({description})")
    }
}

/// The OAuth flows of the host.
pub struct OAuthFlow {
    store: Store,
    runtime: Runtime,
    tokens: TokenClient,
    settings: BTreeMap<String, OAuthClientConfig>,
    /// Where the vendor sends the user back: `PUBLIC_URL/api/v1/oauth/callback`.
    default_redirect_uri: String,
    /// How long an authorization may take. Default: 10 minutes.
    state_ttl: Duration,
    /// This host's own origin (`PUBLIC_URL`): always allowed for `return_to`/`redirect_uri`.
    own_origin: Option<url::Origin>,
    /// Where the start page is: `PUBLIC_URL/api/v1/oauth/start`.
    start_url: String,
    /// The start page's cookie carries `Secure` and the `__Host-` prefix (https public URL).
    secure_cookie: bool,
    /// Pending authorizations one tenant may have. Default: 50.
    max_pending_per_tenant: usize,
}

/// Longest `return_to` or `redirect_uri`.
const MAX_URL: usize = 2048;

impl OAuthFlow {
    /// The flow over `store` and `runtime`, exchanging codes through `tokens`, with the operator's
    /// clients, the host's public URL, how long a flow lasts and how many one tenant may have
    /// pending.
    pub fn new(
        store: Store,
        runtime: Runtime,
        tokens: TokenClient,
        settings: BTreeMap<String, OAuthClientConfig>,
        public_url: &str,
        state_ttl: Duration,
        max_pending_per_tenant: usize,
    ) -> Self {
        let base = public_url.trim_end_matches('/');
        let own_origin = url::Url::parse(base).ok().map(|u| u.origin());
        Self {
            store,
            runtime,
            tokens,
            settings,
            default_redirect_uri: format!("{base}/api/v1/oauth/callback"),
            state_ttl,
            own_origin,
            start_url: format!("{base}/api/v1/oauth/start"),
            secure_cookie: base.starts_with("https://"),
            max_pending_per_tenant,
        }
    }

    /// Name of the cookie binding session `id` to a browser: one per flow, so a user running
    /// two authorizations at once finishes both. `__Host-` (Secure, Path=/, no Domain) when the
    /// host is served over https; browsers drop Secure cookies on plain http.
    pub fn cookie_name(&self, session_id: &str) -> String {
        let short = &session_id[..session_id.len().min(16)];
        if self.secure_cookie {
            format!("__Host-chost_oauth_{short}")
        } else {
            format!("chost_oauth_{short}")
        }
    }

    /// Whether the start page's cookie is marked `Secure`.
    pub fn secure_cookie(&self) -> bool {
        self.secure_cookie
    }

    /// The tenant a `state` names, if its signature holds (for auditing a failed callback).
    pub async fn state_tenant(&self, state: &str) -> Option<String> {
        let key = self.store.oauth_state_key().await.ok()?;
        signed_state::verify(&key, state, unix_now())
            .ok()
            .map(|claims| claims.tenant)
    }

    /// `return_to` and `redirect_uri` must be on this host's origin or one the tenant
    /// registered (`PUT /api/v1/settings`), so the flow cannot be turned into an open redirect.
    async fn check_registered(
        &self,
        tenant: &str,
        field: &str,
        value: String,
    ) -> Result<String, OAuthError> {
        let value = checked_url(field, value)?;
        let origin = url::Url::parse(&value).map(|u| u.origin()).map_err(|_| {
            OAuthError::InvalidRequest(format!("{field} must be an absolute http(s) URL"))
        })?;
        if self.own_origin.as_ref() == Some(&origin) {
            return Ok(value);
        }
        let registered = self
            .store
            .tenant(tenant)
            .await?
            .map(|t| t.redirect_origins)
            .unwrap_or_default();
        if registered
            .iter()
            .filter_map(|o| url::Url::parse(o).ok())
            .any(|o| o.origin() == origin)
        {
            return Ok(value);
        }
        Err(OAuthError::InvalidRequest(format!(
            "{field} must be on this host's origin or one the tenant registered with \
             PUT /api/v1/settings (redirect_origins); `{}` is not",
            origin.ascii_serialization()
        )))
    }

    /// The connector and the endpoints of its OAuth method `method` (its first when `None`).
    fn plugin(
        &self,
        connector: &str,
        method: Option<&str>,
    ) -> Result<(std::sync::Arc<Plugin>, OAuthEndpoints), OAuthError> {
        let plugin = self
            .runtime
            .plugin(connector)
            .ok_or_else(|| OAuthError::NotInstalled(connector.to_owned()))?;
        let endpoints =
            clients::endpoints(&plugin, &self.settings, method).ok_or_else(|| match method {
                Some(method) => OAuthError::InvalidRequest(format!(
                    "connector `{connector}` has no OAuth method `{method}`"
                )),
                None => OAuthError::NoOAuth(connector.to_owned()),
            })?;
        Ok((plugin, endpoints))
    }

    async fn client(&self, tenant: &str, connector: &str) -> Result<OAuthClient, OAuthError> {
        clients::client_for(&self.store, &self.settings, tenant, connector)
            .await?
            .ok_or_else(|| OAuthError::NoClient(connector.to_owned()))
    }

    /// Starts a flow: checks the config with the plugin, opens a sealed session holding the
    /// PKCE verifier, and returns the vendor URL to send the user to.
    pub async fn authorize(&self, request: AuthorizeRequest) -> Result<Authorization, OAuthError> {
        let (plugin, endpoints) =
            self.plugin(&request.connector, request.auth_method.as_deref())?;
        let client = self.client(&request.tenant, &request.connector).await?;
        let pending = self
            .store
            .pending_oauth_sessions(&request.tenant, unix_now())
            .await?;
        if pending >= self.max_pending_per_tenant {
            return Err(OAuthError::Quota(format!(
                "this tenant already has {} authorizations pending, its quota; finish one or \
                 wait for them to expire",
                self.max_pending_per_tenant
            )));
        }
        let redirect_uri = match request.redirect_uri {
            Some(uri) => {
                self.check_registered(&request.tenant, "redirect_uri", uri)
                    .await?
            }
            None => self.default_redirect_uri.clone(),
        };
        let return_to = match request.return_to {
            Some(uri) => Some(
                self.check_registered(&request.tenant, "return_to", uri)
                    .await?,
            ),
            None => None,
        };
        // A tenant may ask only for scopes the connector declares or its own app allows.
        let allowed: Vec<&String> = endpoints
            .declared
            .default_scopes
            .iter()
            .chain(&client.allowed_scopes)
            .collect();
        let refused: Vec<&String> = request
            .scopes
            .iter()
            .filter(|scope| !scope.trim().is_empty() && !allowed.contains(scope))
            .collect();
        if !refused.is_empty() {
            return Err(OAuthError::InvalidRequest(format!(
                "scopes {refused:?} are neither declared by the connector nor allowed for its \
                 OAuth client (the tenant's app: PUT /api/v1/connectors/{}/oauth-app with \
                 `scopes`; the operator's: `allowed_scopes`)",
                request.connector
            )));
        }

        crate::runtime::check_config(&plugin.manifest.config_schema, &request.config)
            .map_err(|refusal| OAuthError::ConfigRejected(refusal.to_string()))?;
        let pairs: Vec<(String, String)> = request
            .config
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect();
        let context = CallContext {
            tenant: request.tenant.clone(),
            connection: "(authorize)".into(),
            ..CallContext::default()
        };
        match self
            .runtime
            .call(plugin.id(), context, Operation::Validate { config: pairs })
            .await
        {
            Ok(_) => {}
            Err(CallError::Connector(error)) => {
                return Err(OAuthError::ConfigRejected(
                    crate::runtime::connector_error_message(&error),
                ));
            }
            Err(error) => return Err(OAuthError::Plugin(error)),
        }

        let mut scopes: Vec<String> = Vec::new();
        for scope in endpoints
            .declared
            .default_scopes
            .iter()
            .chain(&client.extra_scopes)
            .chain(&request.scopes)
        {
            if !scope.trim().is_empty() && !scopes.contains(scope) {
                scopes.push(scope.clone());
            }
        }
        let verifier = if endpoints.declared.pkce {
            Some(
                pkce::verifier()
                    .map_err(|_| OAuthError::InvalidRequest("no randomness available".into()))?,
            )
        } else {
            None
        };
        let expires_at = unix_now() + self.state_ttl.as_secs();
        let mut session = OAuthSession {
            id: uuid::Uuid::new_v4().simple().to_string(),
            tenant: request.tenant.clone(),
            connector: plugin.id().to_owned(),
            auth_method: endpoints.method_id.clone(),
            redirect_uri: redirect_uri.clone(),
            return_to,
            name: request.name,
            config: request.config,
            scopes: scopes.clone(),
            verifier: verifier.clone(),
            expires_at,
            browser_binding: None,
            vendor_url: String::new(),
            reconnect: request.reconnect,
        };
        let key = self.store.oauth_state_key().await?;
        let state = signed_state::sign(
            &key,
            &StateClaims {
                session: session.id.clone(),
                tenant: request.tenant,
                expires_at,
            },
        )?;

        let mut url = url::Url::parse(&endpoints.authorize_url).map_err(|e| {
            OAuthError::InvalidRequest(format!("the connector's authorize URL is invalid: {e}"))
        })?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &client.client_id)
                .append_pair("redirect_uri", &redirect_uri)
                .append_pair("state", &state);
            if !scopes.is_empty() {
                query.append_pair("scope", &scopes.join(&endpoints.declared.scope_separator));
            }
            if let Some(verifier) = &verifier {
                query
                    .append_pair("code_challenge", &pkce::challenge(verifier))
                    .append_pair("code_challenge_method", "S256");
            }
            for (name, value) in &endpoints.declared.extra_authorize_params {
                query.append_pair(name, value);
            }
        }
        // The vendor URL stays in the sealed session: only the start page hands it to a
        // browser, after binding the flow to it.
        session.vendor_url = url.to_string();
        self.store.put_oauth_session(&session).await?;
        let mut start = url::Url::parse(&self.start_url).map_err(|e| {
            OAuthError::InvalidRequest(format!("public_url does not make a valid URL: {e}"))
        })?;
        start.query_pairs_mut().append_pair("state", &state);
        Ok(Authorization {
            authorization_url: start.to_string(),
            state,
            expires_at: humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + Duration::from_secs(expires_at),
            )
            .to_string(),
        })
    }

    /// The start page: checks the state, binds the flow to this browser (the first to open it;
    /// the same browser may open it again), and says who is asking.
    pub async fn start(
        &self,
        state: &str,
        cookies: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<StartPage, OAuthError> {
        let key = self.store.oauth_state_key().await?;
        let claims = signed_state::verify(&key, state, unix_now())?;
        let mut session = self
            .store
            .oauth_session(&claims.session)
            .await?
            .ok_or(OAuthError::Replayed)?;
        if session.tenant != claims.tenant {
            return Err(OAuthError::State(StateError::Forged));
        }
        let name = self.cookie_name(&session.id);
        let value = match (&session.browser_binding, cookies(&name)) {
            (None, _) => {
                let value = pkce::verifier()
                    .map_err(|_| OAuthError::InvalidRequest("no randomness available".into()))?;
                session.browser_binding = Some(binding_digest(&value));
                self.store.put_oauth_session(&session).await?;
                value
            }
            (Some(bound), Some(value)) if *bound == binding_digest(&value) => value,
            (Some(_), _) => return Err(OAuthError::OtherBrowser),
        };
        let tenant = self.store.tenant(&session.tenant).await?;
        let connector_name = self.runtime.plugin(&session.connector).map_or_else(
            || session.connector.clone(),
            |p| p.manifest.display_name.clone(),
        );
        Ok(StartPage {
            tenant_name: tenant.map_or_else(|| session.tenant.clone(), |t| t.name),
            tenant_id: session.tenant.clone(),
            connector_name,
            vendor_url: session.vendor_url.clone(),
            cookie: (name, value),
            max_age_secs: session.expires_at.saturating_sub(unix_now()),
        })
    }

    /// Completes a flow. The state's signature and expiry are checked before any lookup; a
    /// caller that is a tenant must be the state's tenant; the session is consumed, so a state
    /// works once.
    pub async fn callback(
        &self,
        state: Option<&str>,
        code: Option<&str>,
        vendor_error: Option<(&str, &str)>,
        caller: CallbackCaller<'_>,
    ) -> Result<CallbackOutcome, OAuthError> {
        let state = state
            .filter(|s| !s.is_empty())
            .ok_or_else(|| OAuthError::InvalidRequest("`state` is required".into()))?;
        let key = self.store.oauth_state_key().await?;
        let claims = signed_state::verify(&key, state, unix_now())?;
        if let CallbackCaller::Tenant(tenant) = caller
            && tenant != claims.tenant
        {
            return Err(OAuthError::WrongTenant);
        }
        let session = self
            .store
            .take_oauth_session(&claims.session)
            .await?
            .ok_or(OAuthError::Replayed)?;
        if session.tenant != claims.tenant {
            return Err(OAuthError::State(StateError::Forged));
        }
        // A browser must be the one the start page bound: otherwise a genuine consent page
        // mailed to someone else would land their account in the sender's tenant.
        if let CallbackCaller::Browser(cookies) = caller {
            let presented = cookies(&self.cookie_name(&session.id));
            let bound = session.browser_binding.as_deref();
            if bound.is_none() || presented.map(|v| binding_digest(&v)).as_deref() != bound {
                return Err(OAuthError::OtherBrowser);
            }
        }
        if let Some((error, description)) = vendor_error {
            return Err(OAuthError::Denied {
                error: error.to_owned(),
                description: description.to_owned(),
            });
        }
        let code = code
            .filter(|c| !c.is_empty())
            .ok_or_else(|| OAuthError::InvalidRequest("`code` is required".into()))?;
        let (_, endpoints) = self.plugin(&session.connector, Some(&session.auth_method))?;
        let client = self.client(&session.tenant, &session.connector).await?;
        let basic = endpoints.declared.client_auth == "basic";
        let tokens = self
            .tokens
            .exchange_code(
                &endpoints.token_url,
                &client,
                basic,
                &TokenStyle::of(&endpoints.declared),
                code,
                &session.redirect_uri,
                session.verifier.as_deref(),
            )
            .await
            .map_err(OAuthError::Exchange)?;
        let values = response_values(&tokens.fields, &endpoints.declared.response_values);
        let origin_from_response = endpoints
            .declared
            .origin_from_response
            .as_ref()
            .and_then(|field| values.get(field).cloned());
        Ok(CallbackOutcome {
            values,
            origin_from_response,
            refresh_url: endpoints.refresh_url.clone(),
            auth_method: endpoints.method_id,
            credential: StoredCredential::Oauth2 {
                expires_at: tokens.expires_at(),
                refresh_token: tokens.refresh_token.clone(),
                scope: tokens.scope.clone(),
                access_token: tokens.access_token,
            },
            session,
        })
    }

    /// Revokes a connection's grant at the vendor, when the connector declares a revocation
    /// endpoint. Failures are logged: deleting the connection goes ahead regardless.
    pub async fn revoke(
        &self,
        tenant: &str,
        connector: &str,
        auth_method: &str,
        credential: &StoredCredential,
    ) {
        let StoredCredential::Oauth2 {
            access_token,
            refresh_token,
            ..
        } = credential
        else {
            return;
        };
        let Ok((_, endpoints)) = self.plugin(connector, Some(auth_method)) else {
            return;
        };
        let Some(revoke_url) = &endpoints.revoke_url else {
            return;
        };
        let Ok(client) = self.client(tenant, connector).await else {
            return;
        };
        let basic = endpoints.declared.client_auth == "basic";
        match refresh_token {
            // Revoking the refresh token ends the whole grant (RFC 7009 §2.1).
            Some(token) => {
                self.tokens
                    .revoke(revoke_url, &client, basic, token, "refresh_token")
                    .await
            }
            None => {
                self.tokens
                    .revoke(revoke_url, &client, basic, access_token, "access_token")
                    .await
            }
        }
    }
}

/// Who completes a flow: a browser (with its cookies) or a tenant's server (with its API key).
#[derive(Clone, Copy)]
pub enum CallbackCaller<'a> {
    /// A browser, with a lookup of its cookies.
    Browser(&'a (dyn Fn(&str) -> Option<String> + Sync)),
    /// A tenant's server, with the tenant's id.
    Tenant(&'a str),
}

/// What a session keeps of its browser cookie: the SHA-256, hex.
/// The fields a connector keeps from the token response: strings as they are, other JSON
/// values as JSON text, absent fields left out.
fn response_values(
    fields: &serde_json::Map<String, serde_json::Value>,
    wanted: &[String],
) -> std::collections::BTreeMap<String, String> {
    wanted
        .iter()
        .filter_map(|name| {
            let value = fields.get(name)?;
            let text = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            Some((name.clone(), text))
        })
        .collect()
}

fn binding_digest(value: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(value.as_bytes()))
}

/// An absolute http(s) URL without credentials, as `return_to` and `redirect_uri` must be.
fn checked_url(field: &str, value: String) -> Result<String, OAuthError> {
    let invalid = || OAuthError::InvalidRequest(format!("{field} must be an absolute http(s) URL"));
    if value.len() > MAX_URL {
        return Err(invalid());
    }
    let url = url::Url::parse(&value).map_err(|_| invalid())?;
    if !matches!(url.scheme(), "https" | "http")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(invalid());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::response_values;

    #[test]
    fn only_the_declared_token_response_fields_are_kept() {
        let fields = serde_json::json!({
            "access_token": "secret",
            "instance_url": "https://acme.my.salesforce.com",
            "team": {"id": "T1"},
        });
        let kept = response_values(
            fields.as_object().unwrap(),
            &["instance_url".into(), "team".into(), "absent".into()],
        );
        assert_eq!(kept["instance_url"], "https://acme.my.salesforce.com");
        assert_eq!(kept["team"], r#"{"id":"T1"}"#);
        assert_eq!(
            kept.len(),
            2,
            "absent fields are left out, tokens never kept: {kept:?}"
        );
    }
}
