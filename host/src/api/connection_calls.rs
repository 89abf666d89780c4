//! Runs a plugin operation for a stored connection: loads it (tenant-scoped), opens its
//! credential, calls the plugin, records metrics, and keeps the connection's status current.

use std::time::{Duration, Instant};

use super::{ApiError, AppState, ErrorCode, served_by};
use crate::credentials::RefreshError;
use crate::runtime::wit::ConnectorError;
use crate::runtime::{CallContext, CallError, Operation, OperationOutput};
use crate::store::{
    BoundCredential, ConnectionRecord, ConnectionStatus, CredentialType, StoredCredential,
    now_rfc3339,
};

/// A connection that is not the caller's answers exactly like one that does not exist, so ids
/// do not leak across tenants.
pub fn not_found(id: &str) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("connection `{id}` not found"))
}

/// The tenant's connection, or 404.
pub fn load(state: &AppState, tenant: &str, id: &str) -> Result<ConnectionRecord, ApiError> {
    state
        .store
        .connection(tenant, id)?
        .ok_or_else(|| not_found(id))
}

/// Calls the plugin of `record` with an explicit credential (used before anything is stored).
pub async fn call_with(
    state: &AppState,
    record: &ConnectionRecord,
    credential: Option<&BoundCredential>,
    operation: Operation,
) -> Result<OperationOutput, CallError> {
    call_within(state, record, credential, operation, CallOptions::default()).await
}

/// How a call runs, beyond the operation.
#[derive(Clone, Default)]
pub struct CallOptions {
    /// A deadline shorter than the runtime's. Default: none.
    pub timeout: Option<Duration>,
    /// On the background slots (syncs). Default: false.
    pub background: bool,
    /// A secret written in place of its placeholder in the plugin's requests. Default: none.
    pub secret_substitution: Option<crate::egress::SecretSubstitution>,
}

/// [`call_with`] under a deadline shorter than the runtime's, when `timeout` is given.
pub async fn call_within(
    state: &AppState,
    record: &ConnectionRecord,
    credential: Option<&BoundCredential>,
    operation: Operation,
    options: CallOptions,
) -> Result<OperationOutput, CallError> {
    let context = CallContext {
        tenant: record.tenant.clone(),
        connection: record.id.clone(),
        config: record.config_pairs(),
        values: record
            .values
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        credential: credential.map(|bound| bound.credential.to_credential()),
        auth_method: Some(record.auth_method.clone()),
        bound_origin: credential.and_then(|bound| bound.origin.clone()),
        timeout: options.timeout,
        background: options.background,
        secret_substitution: options.secret_substitution,
    };
    let started = Instant::now();
    let operation_name = operation.name();
    // One snapshot of the plugin for the whole call, so the response can say which version
    // answered even while another is being installed.
    let result = match state.runtime.plugin(&record.connector) {
        Some(plugin) => {
            served_by::note(&plugin);
            state.runtime.call_on(&plugin, context, operation).await
        }
        None => Err(CallError::NotLoaded(record.connector.clone())),
    };
    let outcome = match &result {
        Ok(_) => "ok",
        Err(CallError::Fault { .. }) => "fault",
        Err(CallError::EgressDenied(_)) => "egress_denied",
        Err(CallError::Connector(_)) => "connector_error",
        Err(_) => "error",
    };
    metrics::counter!("plugin_calls_total", "plugin" => record.connector.clone(), "operation" => operation_name, "outcome" => outcome)
        .increment(1);
    metrics::histogram!("plugin_call_duration_seconds", "plugin" => record.connector.clone(), "operation" => operation_name)
        .record(started.elapsed().as_secs_f64());
    result
}

/// Calls the plugin for a stored connection of `tenant`, updating its status from the outcome.
pub async fn call(
    state: &AppState,
    tenant: &str,
    id: &str,
    operation: Operation,
) -> Result<(ConnectionRecord, OperationOutput), ApiError> {
    let record = load(state, tenant, id)?;
    call_record(state, record, operation).await
}

/// [`call`] for a connection the caller already loaded (tenant-scoped) from the store.
pub async fn call_record(
    state: &AppState,
    record: ConnectionRecord,
    operation: Operation,
) -> Result<(ConnectionRecord, OperationOutput), ApiError> {
    call_record_as(state, record, operation, false).await
}

/// [`call_record`] on the background slots when `background` (syncs), outside the caps API
/// calls share, so background work never takes a slot a client needs.
pub async fn call_record_as(
    state: &AppState,
    record: ConnectionRecord,
    operation: Operation,
    background: bool,
) -> Result<(ConnectionRecord, OperationOutput), ApiError> {
    let options = CallOptions {
        background,
        ..CallOptions::default()
    };
    call_record_with(state, record, operation, options).await
}

/// [`call_record`] with the given [`CallOptions`].
pub async fn call_record_with(
    state: &AppState,
    record: ConnectionRecord,
    operation: Operation,
    options: CallOptions,
) -> Result<(ConnectionRecord, OperationOutput), ApiError> {
    if state.runtime.plugin(&record.connector).is_none() {
        return Err(ApiError::from_call(CallError::NotLoaded(
            record.connector.clone(),
        )));
    }
    if record.status == ConnectionStatus::NeedsReauth {
        // Fail fast: the grant is known to be dead, and retrying would only loop at the vendor.
        return Err(ApiError::new(
            ErrorCode::ReauthRequired,
            record
                .last_error
                .clone()
                .unwrap_or_else(|| "the connection must be authorized again".into()),
        ));
    }
    let mut stored = state.store.credential(&record.tenant, &record.id)?;
    if stored.origin.is_none() {
        stored.origin = origin_of_unbound(state, &record);
    }
    let credential = state
        .refresher
        .fresh(&record, stored)
        .await
        .map_err(refresh_error)?;
    let mut result = call_within(
        state,
        &record,
        Some(&credential),
        operation.clone(),
        options.clone(),
    )
    .await;
    // A vendor 401 on an OAuth token: refresh once (unless someone already did) and retry once.
    let rejected_token = match (&result, &credential.credential) {
        (
            Err(CallError::Connector(ConnectorError::Unauthorized(_))),
            StoredCredential::Oauth2 { access_token, .. },
        ) => Some(access_token.clone()),
        _ => None,
    };
    if let Some(seen) = rejected_token {
        let refreshed = state
            .refresher
            .refresh(&record, &seen)
            .await
            .map_err(refresh_error)?;
        result = call_within(state, &record, Some(&refreshed), operation, options).await;
    }
    let record = track_status(state, record, &result).await;
    match result {
        Ok(output) => Ok((record, output)),
        Err(error) => Err(ApiError::from_call(error)),
    }
}

/// Moves the connection to `invalid_credentials` when the vendor rejects the credential, back
/// to `active` on success, and records the last error and success. Writes only on change, or
/// at most once a minute for the success time, to keep reads cheap. Only the status fields are
/// written, onto the record as it is in the store at that moment, so a slow call can never
/// revert a PATCH that landed while it ran.
pub async fn track_status(
    state: &AppState,
    record: ConnectionRecord,
    result: &Result<OperationOutput, CallError>,
) -> ConnectionRecord {
    let now = now_rfc3339();
    let update = match result {
        Ok(_) => Some((ConnectionStatus::Active, None)),
        Err(CallError::Connector(ConnectorError::Unauthorized(message))) => {
            let status = if record.credential_type == CredentialType::Oauth2 {
                ConnectionStatus::NeedsReauth
            } else {
                ConnectionStatus::InvalidCredentials
            };
            Some((
                status,
                Some(format!("the vendor rejected the credential: {message}")),
            ))
        }
        Err(_) => None,
    };
    let Some((status, last_error)) = update else {
        return record;
    };
    let success = status == ConnectionStatus::Active;
    let changed = |current: &ConnectionRecord| {
        let stale = success
            && current
                .last_success_at
                .as_deref()
                .is_none_or(|t| seconds_between(t, &now) >= 60);
        current.status != status || current.last_error != last_error || stale
    };
    if !changed(&record) {
        return record;
    }
    let outcome = state
        .store
        .update_status(&record.tenant, &record.id, |current| {
            if !changed(current) {
                return false;
            }
            current.status = status;
            current.last_error = last_error.clone();
            if success {
                current.last_success_at = Some(now.clone());
            }
            current.updated_at = now.clone();
            true
        })
        .await;
    match outcome {
        Ok(Some(current)) => current,
        Ok(None) => record,
        Err(error) => {
            tracing::warn!(connection = %record.id, %error, "could not record the connection status");
            record
        }
    }
}

/// A credential sealed before origins were bound (an older store) is bound to its connection's
/// configured origin, checked against today's allow-list. Safe because every config change
/// that moves the origin now needs the credential again, so that value is the one the
/// credential was verified against.
fn origin_of_unbound(state: &AppState, record: &ConnectionRecord) -> Option<String> {
    let plugin = state.runtime.plugin(&record.connector)?;
    crate::credentials::binding::bound_origin(
        state.runtime.egress_policy(),
        &plugin,
        &record.config,
    )
    .ok()
    .flatten()
}

fn refresh_error(error: RefreshError) -> ApiError {
    match error {
        RefreshError::NeedsReauth(message) => ApiError::new(
            ErrorCode::ReauthRequired,
            format!("the connection must be authorized again: {message}"),
        ),
        RefreshError::Transient(message) => ApiError::new(ErrorCode::VendorError, message)
            .with_status(axum::http::StatusCode::SERVICE_UNAVAILABLE),
        RefreshError::Store(error) => error.into(),
    }
}

fn seconds_between(earlier: &str, later: &str) -> u64 {
    match (
        humantime::parse_rfc3339_weak(earlier),
        humantime::parse_rfc3339_weak(later),
    ) {
        (Ok(a), Ok(b)) => b.duration_since(a).map(|d| d.as_secs()).unwrap_or(0),
        _ => u64::MAX,
    }
}
