//! Which OAuth client and endpoints a flow uses: the connector's declared endpoints, the
//! operator's overrides and default client, or the tenant's own client.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::runtime::{AuthMethodManifest, CredentialKindManifest, OAuth2Manifest, Plugin};
use crate::secret::ConfigSecret;
use crate::store::{Store, StoreError};

/// Operator settings for one connector's OAuth (`[oauth.<connector>]`).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuthClientConfig {
    /// Default client for tenants that did not set their own.
    pub client_id: Option<String>,
    /// The default client's secret.
    pub client_secret: Option<ConfigSecret>,
    /// Overrides of the connector's declared endpoints (self-hosted vendors, test servers).
    pub authorize_url: Option<String>,
    /// Override of the connector's token endpoint; pins it (refreshes go there too).
    pub token_url: Option<String>,
    /// Where refresh grants go (Figma's separate `/v1/oauth/refresh`). Default: the
    /// connector's declared refresh endpoint, or the token endpoint; once `token_url` is
    /// pinned, that pinned `token_url` (a declared endpoint is never used unpinned).
    pub refresh_url: Option<String>,
    /// Override of the connector's revocation endpoint.
    pub revoke_url: Option<String>,
    /// Scopes tenants using this default client may ask for beyond the connector's declared
    /// ones. Default: none.
    #[serde(default)]
    pub allowed_scopes: Vec<String>,
}

/// The client id and secret a flow authenticates with. `Debug` hides the secret.
#[derive(Clone)]
pub struct OAuthClient {
    /// The OAuth client id.
    pub client_id: String,
    /// The OAuth client secret.
    pub client_secret: String,
    /// Scopes the tenant's app asks for on top of the connector's defaults.
    pub extra_scopes: Vec<String>,
    /// Scopes a request may add beyond the connector's declared ones: the tenant app's own
    /// scopes, or the operator's `allowed_scopes` for its default client.
    pub allowed_scopes: Vec<String>,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// The endpoints in force for a connector's OAuth method.
#[derive(Debug, Clone)]
pub struct OAuthEndpoints {
    /// The auth method these endpoints are for.
    pub method_id: String,
    /// Where the user is sent to consent.
    pub authorize_url: String,
    /// Where codes are exchanged for tokens.
    pub token_url: String,
    /// Where refresh grants go: sealed with each grant, so refreshes never follow a later
    /// declaration.
    pub refresh_url: String,
    /// Where grants are revoked, when the vendor has such an endpoint.
    pub revoke_url: Option<String>,
    /// The endpoints and options as the connector declares them.
    pub declared: OAuth2Manifest,
}

impl OAuthEndpoints {
    /// The connector's declared endpoints (its first OAuth method), without operator
    /// overrides.
    pub fn of(plugin: &Plugin) -> Option<Self> {
        endpoints(plugin, &BTreeMap::new(), None)
    }
}

/// The connector's OAuth method `id`, or its first one when `id` is `None`. A connector may
/// declare several (Slack: one for a bot token, one for a user token).
pub fn oauth_method<'a>(
    plugin: &'a Plugin,
    id: Option<&str>,
) -> Option<(&'a AuthMethodManifest, &'a OAuth2Manifest)> {
    plugin
        .manifest
        .auth_methods
        .iter()
        .filter(|method| id.is_none_or(|id| method.id == id))
        .find_map(|method| match &method.kind {
            CredentialKindManifest::Oauth2 { oauth2 } => Some((method, &**oauth2)),
            _ => None,
        })
}

/// Endpoints of `plugin`'s OAuth method `method` (its first when `None`), with the operator's
/// overrides applied. The operator's overrides are per connector, so they apply to each of
/// its OAuth methods.
pub fn endpoints(
    plugin: &Plugin,
    settings: &BTreeMap<String, OAuthClientConfig>,
    method: Option<&str>,
) -> Option<OAuthEndpoints> {
    let (method, declared) = oauth_method(plugin, method)?;
    let overrides = settings.get(plugin.id());
    let token_url = overrides
        .and_then(|o| o.token_url.clone())
        .unwrap_or_else(|| declared.token_url.clone());
    // A pinned token endpoint means the declared ones were not checked at load: refresh
    // there too unless the operator pinned a refresh endpoint as well.
    let refresh_url = match overrides {
        Some(o) if o.refresh_url.is_some() || o.token_url.is_some() => {
            o.refresh_url.clone().unwrap_or_else(|| token_url.clone())
        }
        _ => declared
            .refresh_url
            .clone()
            .unwrap_or_else(|| token_url.clone()),
    };
    Some(OAuthEndpoints {
        method_id: method.id.clone(),
        authorize_url: overrides
            .and_then(|o| o.authorize_url.clone())
            .unwrap_or_else(|| declared.authorize_url.clone()),
        token_url,
        refresh_url,
        revoke_url: overrides
            .and_then(|o| o.revoke_url.clone())
            .or_else(|| declared.revoke_url.clone()),
        declared: declared.clone(),
    })
}

/// The tenant's own client for the connector, else the operator's default, else none.
pub async fn client_for(
    store: &Store,
    settings: &BTreeMap<String, OAuthClientConfig>,
    tenant: &str,
    connector: &str,
) -> Result<Option<OAuthClient>, StoreError> {
    if let Some(app) = store.oauth_app(tenant, connector).await? {
        return Ok(Some(OAuthClient {
            client_id: app.client_id,
            client_secret: app.client_secret,
            allowed_scopes: app.scopes.clone(),
            extra_scopes: app.scopes,
        }));
    }
    Ok(settings.get(connector).and_then(|o| {
        Some(OAuthClient {
            client_id: o.client_id.clone()?,
            client_secret: o.client_secret.as_ref()?.expose().to_owned(),
            extra_scopes: Vec::new(),
            allowed_scopes: o.allowed_scopes.clone(),
        })
    }))
}
