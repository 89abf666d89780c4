//! A tenant's connections: create (config and credential verified with the vendor before
//! anything is stored), update (re-verified), delete (webhooks and grant revoked, secrets
//! erased), validate, and the connection an OAuth grant completes. The REST API, the console
//! and the OAuth callback run these.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;

use super::App;
use super::audit::audit;
use super::callers::TenantCaller;
use crate::connection::views::PrincipalView;
use crate::connection::{self, CallOptions, call_unsaved};
use crate::credentials::binding::{self, BindingError};
use crate::error::{ApiError, ErrorCode};
use crate::runtime::wit::ConnectorError;
use crate::runtime::{CallError, CredentialKindManifest, Operation, OperationOutput, Plugin};
use crate::store::{
    BoundCredential, ConnectionRecord, ConnectionStatus, StoredCredential, now_rfc3339,
};

/// Longest connection name.
const MAX_NAME: usize = 200;

/// Credentials a client supplies. OAuth connections come from the OAuth flow instead.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CredentialsInput {
    /// An e-mail or username and a password or API token.
    Basic {
        /// The username or e-mail.
        username: String,
        /// The password or API token.
        password: String,
    },
    /// A static bearer token.
    Bearer {
        /// The token.
        token: String,
    },
    /// An API key, placed where the auth method says.
    ApiKey {
        /// The key.
        key: String,
    },
    /// Every secret a multi-part auth method names (`{"api_key": ..., "application_key": ...}`).
    Parts {
        /// Each named part (`{"api_key": ..., "application_key": ...}`), as the auth method
        /// declares them.
        #[schema(value_type = Object)]
        parts: std::collections::BTreeMap<String, String>,
    },
}

impl CredentialsInput {
    fn into_stored(self) -> Result<StoredCredential, ApiError> {
        let empty = |field: &str| {
            ApiError::new(
                ErrorCode::Validation,
                format!("credentials.{field} must not be empty"),
            )
        };
        match self {
            Self::Basic { username, password } => {
                if username.trim().is_empty() {
                    return Err(empty("username"));
                }
                if password.is_empty() {
                    return Err(empty("password"));
                }
                Ok(StoredCredential::Basic { username, password })
            }
            Self::Bearer { token } if token.trim().is_empty() => Err(empty("token")),
            Self::Bearer { token } => Ok(StoredCredential::Bearer { token }),
            Self::ApiKey { key } if key.trim().is_empty() => Err(empty("key")),
            Self::ApiKey { key } => Ok(StoredCredential::ApiKey { key }),
            Self::Parts { parts } => {
                if let Some((name, _)) = parts.iter().find(|(_, secret)| secret.trim().is_empty()) {
                    return Err(empty(&format!("parts.{name}")));
                }
                Ok(StoredCredential::Parts { parts })
            }
        }
    }
}

/// `POST /api/v1/connections` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConnection {
    /// The connector's id (`jira`).
    pub connector: String,
    /// A name for the connection. Default: the connector's display name.
    pub name: Option<String>,
    /// The connector's config (the site, the region), checked against its JSON Schema.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub config: serde_json::Map<String, serde_json::Value>,
    /// The credential, checked with the vendor before anything is stored.
    pub credentials: CredentialsInput,
    /// The auth method the credential is for. Default: the first whose kind takes it.
    pub auth_method: Option<String>,
}

/// `PATCH /api/v1/connections/{id}` body: any of these.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchConnection {
    /// A new name.
    pub name: Option<String>,
    /// A new config; the connection is verified again, and a change of origin needs new
    /// credentials.
    #[schema(value_type = Option<Object>)]
    pub config: Option<serde_json::Map<String, serde_json::Value>>,
    /// A new credential, verified before it replaces the stored one.
    pub credentials: Option<CredentialsInput>,
    /// Another of the connector's auth methods, verified with the credential.
    pub auth_method: Option<String>,
}

/// Refuses a name that is empty or longer than 200 characters.
pub fn check_name(name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() || name.len() > MAX_NAME {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("name must be 1 to {MAX_NAME} characters"),
        ));
    }
    Ok(())
}

/// The auth method a credential is used with: the one named, or the first that takes it (the
/// runtime's one table, as at call time); a multi-part credential must name its parts.
fn auth_method_for(
    plugin: &Plugin,
    wanted: Option<&str>,
    credential: &StoredCredential,
) -> Result<String, ApiError> {
    let from_grant = matches!(credential, StoredCredential::Oauth2 { .. });
    let method = plugin
        .manifest
        .auth_method_for(wanted, &credential.to_credential(), from_grant)
        .map_err(|mismatch| ApiError::new(ErrorCode::Validation, mismatch.to_string()))?;
    check_parts(&method.kind, credential)?;
    Ok(method.id.clone())
}

/// A multi-part credential must name exactly the parts its auth method declares.
fn check_parts(
    kind: &CredentialKindManifest,
    credential: &StoredCredential,
) -> Result<(), ApiError> {
    let (CredentialKindManifest::MultiPart { parts: declared }, StoredCredential::Parts { parts }) =
        (kind, credential)
    else {
        return Ok(());
    };
    let wanted: Vec<&str> = declared.iter().map(|p| p.name.as_str()).collect();
    let given: Vec<&str> = parts.keys().map(String::as_str).collect();
    let mut sorted = wanted.clone();
    sorted.sort_unstable();
    if sorted != given {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!(
                "credentials.parts must be exactly: {} (given: {})",
                wanted.join(", "),
                if given.is_empty() {
                    "none".to_owned()
                } else {
                    given.join(", ")
                }
            ),
        )
        .with_details(json!({ "field": "credentials.parts", "expected": wanted })));
    }
    Ok(())
}

impl From<BindingError> for ApiError {
    fn from(error: BindingError) -> Self {
        let details = match &error {
            BindingError::Origin { key, .. } => json!({ "field": format!("config.{key}") }),
            BindingError::NeedsCredential { keys } => {
                json!({ "needs": "credentials", "keys": keys })
            }
        };
        ApiError::new(ErrorCode::Validation, error.to_string()).with_details(details)
    }
}

/// Refuses a config over the size quota before anything else looks at it.
/// Checks a config's size, then its keys and values against the connector's schema (422 naming
/// the keys it does not list).
fn check_config(
    state: &App,
    plugin: &Plugin,
    config: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), ApiError> {
    check_config_size(state, config)?;
    crate::runtime::check_config(&plugin.manifest.config_schema, config).map_err(|refusal| {
        let details = match &refusal {
            crate::runtime::ConfigRefusal::UnknownKeys { unknown, known } => {
                json!({ "field": "config", "unknown_keys": unknown, "known_keys": known })
            }
            _ => json!({ "field": "config" }),
        };
        ApiError::new(ErrorCode::Validation, refusal.to_string()).with_details(details)
    })
}

fn check_config_size(
    state: &App,
    config: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), ApiError> {
    let limit = state.settings.quotas.max_config_bytes;
    let size = serde_json::to_vec(config).map_or(usize::MAX, |bytes| bytes.len());
    if size > limit {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("config is {size} bytes as JSON; the limit is {limit}"),
        )
        .with_details(json!({ "field": "config", "limit": limit })));
    }
    Ok(())
}

/// Checks the config with the plugin (no network), binds the credential to the connection's
/// origin (which must pass the egress allow-list), then checks the credential with the vendor
/// at that origin; fills in the principal and discovered values. Nothing is stored here. Both
/// calls run under the short `connect_timeout`, since a client is waiting.
async fn verify(
    state: &App,
    plugin: &Arc<Plugin>,
    record: &mut ConnectionRecord,
    credential: BoundCredential,
) -> Result<BoundCredential, ApiError> {
    let options = CallOptions {
        timeout: Some(state.settings.connect_timeout),
        ..CallOptions::default()
    };
    let validate = Operation::Validate {
        config: record.config_pairs(),
    };
    match call_unsaved(state, plugin, record, None, validate, options.clone()).await {
        Ok(_) => {}
        Err(CallError::Connector(error)) => {
            return Err(ApiError::new(
                ErrorCode::Validation,
                format!("the connector rejected the config: {error}"),
            ));
        }
        Err(error) => return Err(ApiError::from_call(error)),
    }
    let mut bound = credential;
    if bound.origin.is_none() {
        bound.origin =
            binding::bound_origin(state.runtime.egress_policy(), plugin, &record.config)?;
    }
    let connected = call_unsaved(
        state,
        plugin,
        record,
        Some(&bound),
        Operation::Connect,
        options,
    );
    match connected.await.map(|answer| answer.value) {
        Ok(OperationOutput::Connected(info)) => {
            record.principal = Some(json!(PrincipalView::from(info.principal)));
            record.values.extend(info.discovered_values);
            record.status = ConnectionStatus::Active;
            record.last_error = None;
            record.last_success_at = Some(now_rfc3339());
            Ok(bound)
        }
        Ok(_) => Err(ApiError::new(
            ErrorCode::PluginFault,
            "connect() returned something else",
        )),
        Err(CallError::Connector(
            ConnectorError::Unauthorized(m) | ConnectorError::Forbidden(m),
        )) => Err(ApiError::new(
            ErrorCode::Validation,
            format!("the vendor rejected the credentials: {m}"),
        )),
        Err(CallError::Connector(ConnectorError::InvalidConfig(m))) => Err(ApiError::new(
            ErrorCode::Validation,
            format!("the connector rejected the config: {m}"),
        )),
        Err(error) => Err(ApiError::from_call(error)),
    }
}

/// Refuses a create over the tenant's connection quota.
async fn check_connection_quota(state: &App, tenant: &str) -> Result<(), ApiError> {
    let limit = state.settings.quotas.max_connections_per_tenant;
    if state.store.connection_count(tenant).await? >= limit {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("this tenant already has {limit} connections, its quota; delete one first"),
        )
        .with_details(json!({ "quota": "max_connections_per_tenant", "limit": limit })));
    }
    Ok(())
}

/// Creates a connection for `caller`: the config checked against the connector's schema, the quota,
/// the credential matched to an auth method and verified with the vendor, then the record and its
/// sealed credential stored together.
pub async fn create(
    state: &App,
    caller: &TenantCaller,
    body: CreateConnection,
) -> Result<ConnectionRecord, ApiError> {
    let plugin = state
        .runtime
        .connector_for(&caller.tenant, &body.connector)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Validation,
                format!("connector `{}` is not installed", body.connector),
            )
        })?;
    check_config(state, &plugin, &body.config)?;
    check_connection_quota(state, &caller.tenant).await?;
    let credential = body.credentials.into_stored()?;
    let auth_method = auth_method_for(&plugin, body.auth_method.as_deref(), &credential)?;
    let name = body
        .name
        .unwrap_or_else(|| plugin.manifest.display_name.clone());
    check_name(&name)?;
    let now = now_rfc3339();
    let mut record = ConnectionRecord {
        id: format!("conn_{}", uuid::Uuid::new_v4().simple()),
        tenant: caller.tenant.clone(),
        connector: plugin.id().to_owned(),
        name,
        auth_method,
        credential_type: credential.credential_type(),
        config: body.config,
        status: ConnectionStatus::Active,
        principal: None,
        values: Default::default(),
        last_error: None,
        last_success_at: None,
        created_at: now.clone(),
        updated_at: now,
    };
    let bound = verify(
        state,
        &plugin,
        &mut record,
        BoundCredential::new(credential, None),
    )
    .await?;
    state.store.create_connection(&record, &bound).await?;
    Ok(record)
}

/// Changes connection `id` of `caller`: its name as it is; config, credential and auth method
/// verified with the vendor before anything is written.
pub async fn patch(
    state: &App,
    caller: &TenantCaller,
    id: &str,
    body: PatchConnection,
) -> Result<ConnectionRecord, ApiError> {
    let mut record = connection::load(state, &caller.tenant, id).await?;
    if body.name.is_none()
        && body.config.is_none()
        && body.credentials.is_none()
        && body.auth_method.is_none()
    {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "nothing to change: send name, config, credentials or auth_method",
        ));
    }
    if let Some(name) = body.name {
        check_name(&name)?;
        record.name = name;
    }
    if let Some(config) = &body.config {
        check_config_size(state, config)?;
    }
    let credential_given = body.credentials.is_some();
    let new_credential = body
        .credentials
        .map(CredentialsInput::into_stored)
        .transpose()?;
    let reverify = body.config.is_some() || new_credential.is_some() || body.auth_method.is_some();
    let mut bound = None;
    if reverify {
        let plugin = state.runtime.plugin(&record.connector).ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotConnected,
                format!("connector `{}` is not installed", record.connector),
            )
        })?;
        // Before any plugin runs: a stored secret never follows a config change to a new place.
        if let Some(config) = &body.config {
            check_config(state, &plugin, config)?;
            binding::check_change(&plugin, &record.config, config, new_credential.is_some())?;
        }
        // A stored credential keeps what it was bound to (its OAuth token endpoint); its origin
        // is checked again below and cannot have moved (see `check_change`).
        let credential = match new_credential {
            Some(credential) => BoundCredential::new(credential, None),
            None => state.store.credential(&caller.tenant, id).await?,
        };
        record.auth_method = auth_method_for(
            &plugin,
            body.auth_method.as_deref().or(Some(&record.auth_method)),
            &credential.credential,
        )?;
        record.credential_type = credential.credential.credential_type();
        if let Some(config) = body.config {
            record.config = config;
        }
        // What the host learned under the old credential (a Slack team, an Atlassian site)
        // routes vendor deliveries: it must not outlive that credential.
        if credential_given {
            record.values.clear();
        }
        bound = Some(verify(state, &plugin, &mut record, credential).await?);
    }
    record.updated_at = now_rfc3339();
    // The credential is re-sealed with its origin whenever the connection was re-verified.
    state
        .store
        .update_connection(&record, bound.as_ref())
        .await?;
    Ok(record)
}

/// Deletes a connection (the REST handler and the console run it): its webhooks at the vendor
/// first while the credential still works, then the grant revoked where the connector says how,
/// then everything the host keeps of it; audited.
pub async fn remove(state: &App, caller: &TenantCaller, id: &str) -> Result<(), ApiError> {
    let record = connection::load(state, &caller.tenant, id).await?;
    // Remove its webhooks at the vendor while the credential still works.
    crate::vendor_webhooks::unregister_all(&state.vendor_webhooks, &record).await;
    // Revoke the grant at the vendor first (when the connector declares how), then erase.
    if let Ok(bound) = state.store.credential(&caller.tenant, id).await {
        state
            .oauth
            .revoke(
                &caller.tenant,
                &record.connector,
                &record.auth_method,
                &bound.credential,
            )
            .await;
    }
    if !state.store.delete_connection(&caller.tenant, id).await? {
        return Err(connection::not_found(id));
    }
    // A database connection's pool goes with it: no socket outlives the credential.
    state.runtime.sql_pools().close(&caller.tenant, id);
    audit(
        state,
        caller,
        "credential.delete",
        id,
        serde_json::Value::Null,
    )
    .await;
    Ok(())
}

/// Creates the connection for a completed OAuth grant: the same config check and `connect` as
/// any connection, then stored with its tokens sealed.
/// The config to re-authorize connection `id` of `tenant` with: its own (a reconnect may not
/// move it; `config` must be empty). 404 for another tenant's or a missing connection, 422 for
/// one of another connector.
pub async fn reconnectable(
    state: &App,
    tenant: &str,
    connector: &str,
    id: &str,
    config: serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let record = connection::load(state, tenant, id).await?;
    if record.connector != connector {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("connection `{id}` is a `{}` connection", record.connector),
        ));
    }
    if !config.is_empty() {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "a reconnect keeps the connection's config; send no `config`",
        ));
    }
    Ok(record.config)
}

/// Creates the connection of a completed OAuth grant (or replaces the credential of the connection
/// it re-authorizes); a grant no connection holds is revoked at the vendor.
pub async fn create_from_oauth(
    state: &App,
    outcome: crate::credentials::CallbackOutcome,
) -> Result<ConnectionRecord, ApiError> {
    // The vendor granted access already: if no connection holds the grant, it is revoked at
    // the vendor (where the connector says how) rather than left live and unused.
    let grant = (
        outcome.session.tenant.clone(),
        outcome.session.connector.clone(),
        outcome.auth_method.clone(),
        outcome.credential.clone(),
    );
    let result = store_oauth_grant(state, outcome).await;
    if result.is_err() {
        let (tenant, connector, auth_method, credential) = grant;
        state
            .oauth
            .revoke(&tenant, &connector, &auth_method, &credential)
            .await;
    }
    result
}

async fn store_oauth_grant(
    state: &App,
    outcome: crate::credentials::CallbackOutcome,
) -> Result<ConnectionRecord, ApiError> {
    let session = outcome.session;
    let reconnect = match &session.reconnect {
        Some(id) => Some(connection::load(state, &session.tenant, id).await?),
        None => None,
    };
    let plugin = state.runtime.plugin(&session.connector).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("connector `{}` is not installed", session.connector),
        )
    })?;
    if reconnect.is_none() {
        check_connection_quota(state, &session.tenant).await?;
    }
    let now = now_rfc3339();
    let mut record = ConnectionRecord {
        id: format!("conn_{}", uuid::Uuid::new_v4().simple()),
        tenant: session.tenant.clone(),
        connector: session.connector.clone(),
        name: session
            .name
            .clone()
            .unwrap_or_else(|| plugin.manifest.display_name.clone()),
        auth_method: outcome.auth_method,
        credential_type: outcome.credential.credential_type(),
        config: session.config,
        status: ConnectionStatus::Active,
        principal: None,
        values: Default::default(),
        last_error: None,
        last_success_at: None,
        created_at: now.clone(),
        updated_at: now,
    };
    record.values = outcome.values;
    // An origin from the token response (Salesforce's `instance_url`) passes the same
    // allow-list as a configured one before the grant is bound to it.
    let response_origin = match &outcome.origin_from_response {
        Some(value) => Some(binding::checked_origin(
            state.runtime.egress_policy(),
            &plugin,
            "token response",
            value,
        )?),
        None => None,
    };
    let credential = BoundCredential::new(outcome.credential, response_origin)
        .with_refresh_url(Some(outcome.refresh_url));
    if let Some(existing) = &reconnect {
        // The connection keeps its id, name, history and syncs; only the grant is new.
        record.id = existing.id.clone();
        record.name = existing.name.clone();
        record.created_at = existing.created_at.clone();
    }
    let bound = verify(state, &plugin, &mut record, credential).await?;
    let action = if reconnect.is_some() {
        state.store.update_connection(&record, Some(&bound)).await?;
        "oauth.reconnect"
    } else {
        state.store.create_connection(&record, &bound).await?;
        "oauth.grant"
    };
    let caller = TenantCaller {
        tenant: session.tenant,
        actor: "oauth".into(),
    };
    audit(
        state,
        &caller,
        action,
        &record.id,
        json!({ "connector": record.connector, "scopes": session.scopes }),
    )
    .await;
    Ok(record)
}

/// Checks the stored credential of connection `id` with the vendor (`connect`, no refresh:
/// this is the credential as stored) and records the outcome in its status.
pub async fn validate(state: &App, tenant: &str, id: &str) -> Result<ConnectionRecord, ApiError> {
    let record = connection::load(state, tenant, id).await?;
    let plugin = state
        .runtime
        .plugin(&record.connector)
        .ok_or_else(|| ApiError::from_call(CallError::NotLoaded(record.connector.clone())))?;
    let bound = state.store.credential(tenant, id).await?;
    let options = CallOptions::default();
    let result = call_unsaved(
        state,
        &plugin,
        &record,
        Some(&bound),
        Operation::Connect,
        options,
    )
    .await;
    let record = connection::track_status(state, record, &result).await;
    match result {
        Ok(_) => Ok(record),
        Err(error) => Err(ApiError::from_call(error)),
    }
}
