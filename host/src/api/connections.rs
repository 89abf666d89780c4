//! `/api/v1/connections`: create (validated by the plugin), list, get, patch (re-validated),
//! delete (secrets erased), validate.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;

use super::auth::TenantCaller;
use super::connection_calls::{self, call_with, track_status};
use super::extract::{ApiJson, ApiPath};
use super::openapi::{ErrorEnvelope, Success};
use super::views::{ConnectionView, PrincipalView};
use super::{ApiError, AppState, Envelope, ErrorCode};
use crate::runtime::wit::ConnectorError;
use crate::runtime::{CallError, CredentialKindManifest, Operation, OperationOutput, Plugin};
use crate::store::{ConnectionRecord, ConnectionStatus, StoredCredential, now_rfc3339};

/// Longest connection name.
const MAX_NAME: usize = 200;

/// Credentials a client supplies. OAuth connections come from the OAuth flow instead.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CredentialsInput {
    Basic { username: String, password: String },
    Bearer { token: String },
    ApiKey { key: String },
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
        }
    }
}

/// `POST /api/v1/connections` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConnection {
    connector: String,
    name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    config: serde_json::Map<String, serde_json::Value>,
    credentials: CredentialsInput,
    auth_method: Option<String>,
}

/// `PATCH /api/v1/connections/{id}` body: any of these.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchConnection {
    name: Option<String>,
    #[schema(value_type = Option<Object>)]
    config: Option<serde_json::Map<String, serde_json::Value>>,
    credentials: Option<CredentialsInput>,
    auth_method: Option<String>,
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() || name.len() > MAX_NAME {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("name must be 1 to {MAX_NAME} characters"),
        ));
    }
    Ok(())
}

/// The auth method to use: the one named, or the first whose kind fits the credential.
fn auth_method_for(
    plugin: &Plugin,
    wanted: Option<&str>,
    credential: &StoredCredential,
) -> Result<String, ApiError> {
    let fits = |kind: &CredentialKindManifest| {
        matches!(
            (kind, credential),
            (
                CredentialKindManifest::Basic,
                StoredCredential::Basic { .. }
            ) | (
                CredentialKindManifest::Bearer,
                StoredCredential::Bearer { .. }
            ) | (
                CredentialKindManifest::ApiKey,
                StoredCredential::ApiKey { .. }
            )
        )
    };
    let manifest = &plugin.manifest;
    match wanted {
        Some(id) => {
            let method = manifest.auth_method(id).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Validation,
                    format!("connector `{}` has no auth method `{id}`", manifest.id),
                )
            })?;
            if !fits(&method.kind) {
                return Err(ApiError::new(
                    ErrorCode::Validation,
                    format!(
                        "auth method `{id}` does not take `{:?}` credentials",
                        credential.credential_type()
                    ),
                ));
            }
            Ok(method.id.clone())
        }
        None => manifest
            .auth_methods
            .iter()
            .find(|m| fits(&m.kind))
            .map(|m| m.id.clone())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Validation,
                    format!(
                        "connector `{}` takes no credentials of this type; see its auth_methods",
                        manifest.id
                    ),
                )
            }),
    }
}

/// Checks the config with the plugin (no network), then the credential with the vendor;
/// fills in the principal and discovered config. Nothing is stored here.
async fn verify(
    state: &AppState,
    record: &mut ConnectionRecord,
    credential: &StoredCredential,
) -> Result<(), ApiError> {
    let validate = Operation::Validate {
        config: record.config_pairs(),
    };
    match call_with(state, record, None, validate).await {
        Ok(_) => {}
        Err(CallError::Connector(error)) => {
            return Err(ApiError::new(
                ErrorCode::Validation,
                format!("the connector rejected the config: {error}"),
            ));
        }
        Err(error) => return Err(ApiError::from_call(error)),
    }
    match call_with(state, record, Some(credential), Operation::Connect).await {
        Ok(OperationOutput::Connected(info)) => {
            record.principal = Some(json!(PrincipalView::from(info.principal)));
            for (key, value) in info.discovered_config {
                record.config.insert(key, serde_json::Value::String(value));
            }
            record.status = ConnectionStatus::Active;
            record.last_error = None;
            record.last_success_at = Some(now_rfc3339());
            Ok(())
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

/// `POST /api/v1/connections`.
#[utoipa::path(post, path = "/api/v1/connections", tag = "connections", request_body = CreateConnection, responses((status = 201, description = "verified and stored", body = Success<ConnectionView>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("tenant_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: TenantCaller,
    ApiJson(body): ApiJson<CreateConnection>,
) -> Result<Envelope<ConnectionView>, ApiError> {
    let plugin = state.runtime.plugin(&body.connector).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Validation,
            format!("connector `{}` is not installed", body.connector),
        )
    })?;
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
        last_error: None,
        last_success_at: None,
        created_at: now.clone(),
        updated_at: now,
    };
    verify(&state, &mut record, &credential).await?;
    state.store.create_connection(&record, &credential).await?;
    audit(
        &state,
        &caller,
        "credential.create",
        &record.id,
        json!({"connector": record.connector}),
    )
    .await;
    Ok(Envelope::created(record.into()))
}

/// `GET /api/v1/connections`.
#[utoipa::path(get, path = "/api/v1/connections", tag = "connections", responses((status = 200, description = "the tenant's connections", body = Success<Vec<ConnectionView>>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("tenant_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: TenantCaller,
) -> Result<Envelope<Vec<ConnectionView>>, ApiError> {
    let records = state.store.connections(&caller.tenant)?;
    Ok(Envelope::ok(records.into_iter().map(Into::into).collect()))
}

/// `GET /api/v1/connections/{id}`.
#[utoipa::path(get, path = "/api/v1/connections/{id}", tag = "connections", params(("id" = String, Path, description = "connection id")), responses((status = 200, description = "one connection", body = Success<ConnectionView>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("tenant_key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: TenantCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Envelope<ConnectionView>, ApiError> {
    Ok(Envelope::ok(
        connection_calls::load(&state, &caller.tenant, &id)?.into(),
    ))
}

/// `PATCH /api/v1/connections/{id}`: new name, config or credentials; config and credential
/// changes are verified with the vendor before anything is written.
#[utoipa::path(patch, path = "/api/v1/connections/{id}", tag = "connections", params(("id" = String, Path, description = "connection id")), request_body = PatchConnection, responses((status = 200, description = "updated and re-verified", body = Success<ConnectionView>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("tenant_key" = [])))]
pub async fn patch(
    State(state): State<AppState>,
    caller: TenantCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PatchConnection>,
) -> Result<Envelope<ConnectionView>, ApiError> {
    let mut record = connection_calls::load(&state, &caller.tenant, &id)?;
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
    let new_credential = body
        .credentials
        .map(CredentialsInput::into_stored)
        .transpose()?;
    let reverify = body.config.is_some() || new_credential.is_some() || body.auth_method.is_some();
    if reverify {
        let plugin = state.runtime.plugin(&record.connector).ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotConnected,
                format!("connector `{}` is not installed", record.connector),
            )
        })?;
        let credential = match &new_credential {
            Some(credential) => credential.clone(),
            None => state.store.credential(&caller.tenant, &id)?,
        };
        record.auth_method = auth_method_for(
            &plugin,
            body.auth_method.as_deref().or(Some(&record.auth_method)),
            &credential,
        )?;
        record.credential_type = credential.credential_type();
        if let Some(config) = body.config {
            record.config = config;
        }
        verify(&state, &mut record, &credential).await?;
    }
    record.updated_at = now_rfc3339();
    state
        .store
        .update_connection(&record, new_credential.as_ref())
        .await?;
    let action = if new_credential.is_some() {
        "credential.rotate"
    } else {
        "connection.update"
    };
    audit(&state, &caller, action, &record.id, serde_json::Value::Null).await;
    Ok(Envelope::ok(record.into()))
}

/// `DELETE /api/v1/connections/{id}`: the record, its credential and its cursors go together.
#[utoipa::path(delete, path = "/api/v1/connections/{id}", tag = "connections", params(("id" = String, Path, description = "connection id")), responses((status = 200, description = "deleted with its secrets", body = Success<serde_json::Value>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("tenant_key" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    caller: TenantCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    let record = connection_calls::load(&state, &caller.tenant, &id)?;
    // Revoke the grant at the vendor first (when the connector declares how), then erase.
    if let Ok(credential) = state.store.credential(&caller.tenant, &id) {
        state
            .oauth
            .revoke(&caller.tenant, &record.connector, &credential)
            .await;
    }
    if !state.store.delete_connection(&caller.tenant, &id).await? {
        return Err(connection_calls::not_found(&id));
    }
    audit(
        &state,
        &caller,
        "credential.delete",
        &id,
        serde_json::Value::Null,
    )
    .await;
    Ok(Envelope::ok(json!({ "id": id, "deleted": true })))
}

/// `POST /api/v1/connections/{id}/validate`: checks the stored credential with the vendor.
#[utoipa::path(post, path = "/api/v1/connections/{id}/validate", tag = "connections", params(("id" = String, Path, description = "connection id")), responses((status = 200, description = "the vendor accepted the credential", body = Success<ConnectionView>), (status = "4XX", description = "error envelope", body = ErrorEnvelope), (status = "5XX", description = "error envelope", body = ErrorEnvelope)), security(("tenant_key" = [])))]
pub async fn validate(
    State(state): State<AppState>,
    caller: TenantCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Envelope<ConnectionView>, ApiError> {
    let record = connection_calls::load(&state, &caller.tenant, &id)?;
    let credential = state.store.credential(&caller.tenant, &id)?;
    let result = call_with(&state, &record, Some(&credential), Operation::Connect).await;
    let record = track_status(&state, record, &result).await;
    match result {
        Ok(_) => Ok(Envelope::ok(record.into())),
        Err(error) => Err(ApiError::from_call(error)),
    }
}

/// Creates the connection for a completed OAuth grant: the same config check and `connect` as
/// any connection, then stored with its tokens sealed.
pub async fn create_from_oauth(
    state: &AppState,
    outcome: crate::credentials::CallbackOutcome,
) -> Result<ConnectionRecord, ApiError> {
    let session = outcome.session;
    let plugin = state.runtime.plugin(&session.connector).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("connector `{}` is not installed", session.connector),
        )
    })?;
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
        last_error: None,
        last_success_at: None,
        created_at: now.clone(),
        updated_at: now,
    };
    verify(state, &mut record, &outcome.credential).await?;
    state
        .store
        .create_connection(&record, &outcome.credential)
        .await?;
    let caller = TenantCaller {
        tenant: session.tenant,
        actor: "oauth".into(),
    };
    audit(
        state,
        &caller,
        "oauth.grant",
        &record.id,
        json!({ "connector": record.connector, "scopes": session.scopes }),
    )
    .await;
    Ok(record)
}

/// Records an audit event; a failure to audit is logged, not turned into a failed request,
/// since the change itself is already durable.
pub async fn audit(
    state: &AppState,
    caller: &TenantCaller,
    action: &str,
    target: &str,
    details: serde_json::Value,
) {
    if let Err(error) = state
        .store
        .audit(Some(&caller.tenant), &caller.actor, action, target, details)
        .await
    {
        tracing::error!(%error, action, target, "could not write the audit log");
    }
}
