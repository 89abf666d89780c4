//! The one call path from a use case or a worker to a plugin. The plugin is looked up once
//! per call, and that snapshot both runs the call and is named in the answer, so a client
//! sees the exact version that served it even while another is being installed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::status::track_status;
use crate::credentials::RefreshError;
use crate::error::{ApiError, ErrorCode};
use crate::runtime::wit::ConnectorError;
use crate::runtime::{CallContext, CallError, Operation, OperationOutput, Plugin};
use crate::services::Services;
use crate::store::{BoundCredential, ConnectionRecord, ConnectionStatus, StoredCredential};

/// `X-Plugin-Version: <id>@<version>`: which plugin version answered.
pub static X_PLUGIN_VERSION: axum::http::HeaderName =
    axum::http::HeaderName::from_static("x-plugin-version");
/// `X-Plugin-Sha256`: the sha256 of the component that answered.
pub static X_PLUGIN_SHA256: axum::http::HeaderName =
    axum::http::HeaderName::from_static("x-plugin-sha256");

/// The plugin version that served a call: `X-Plugin-Version` (`id@version`) and
/// `X-Plugin-Sha256` on every face's answer (REST and console pages), so a client (or a test)
/// can see answers move to a newly loaded version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedBy {
    /// `id@version` of the plugin.
    pub version: String,
    /// SHA-256 of the component's bytes.
    pub sha256: String,
}

impl ServedBy {
    /// Writes the two headers.
    pub fn annotate(&self, headers: &mut axum::http::HeaderMap) {
        if let Ok(value) = axum::http::HeaderValue::from_str(&self.version) {
            headers.insert(X_PLUGIN_VERSION.clone(), value);
        }
        if let Ok(value) = axum::http::HeaderValue::from_str(&self.sha256) {
            headers.insert(X_PLUGIN_SHA256.clone(), value);
        }
    }

    fn of(plugin: &Plugin) -> Self {
        Self {
            version: format!("{}@{}", plugin.id(), plugin.manifest.version),
            sha256: plugin.sha256.clone(),
        }
    }
}

/// What a call answered, with the plugin version that served it.
#[derive(Debug)]
pub struct Answer<T = OperationOutput> {
    /// What the plugin answered.
    pub value: T,
    /// The plugin version that served it.
    pub served_by: ServedBy,
}

impl<T> Answer<T> {
    /// The value, and the version that served it.
    pub fn into_parts(self) -> (T, ServedBy) {
        (self.value, self.served_by)
    }

    /// The same answer with its value turned into another.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Answer<U> {
        Answer {
            value: f(self.value),
            served_by: self.served_by,
        }
    }

    /// [`Answer::map`] with a conversion that can fail.
    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Answer<U>, E> {
        Ok(Answer {
            value: f(self.value)?,
            served_by: self.served_by,
        })
    }
}

/// A connection that is not the caller's answers exactly like one that does not exist, so ids
/// do not leak across tenants.
pub fn not_found(id: &str) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("connection `{id}` not found"))
}

/// The tenant's connection, or 404.
pub async fn load(
    services: &Services,
    tenant: &str,
    id: &str,
) -> Result<ConnectionRecord, ApiError> {
    services
        .store
        .connection(tenant, id)
        .await?
        .ok_or_else(|| not_found(id))
}

/// How a call runs, beyond the operation.
#[derive(Clone, Default)]
pub struct CallOptions {
    /// A deadline shorter than the runtime's. Default: none.
    pub timeout: Option<Duration>,
    /// On the background slots (syncs), outside the caps API calls share, so background work
    /// never takes a slot a client needs. Default: false.
    pub background: bool,
    /// A secret written in place of its placeholder in the plugin's requests. Default: none.
    pub secret_substitution: Option<crate::egress::SecretSubstitution>,
}

/// Runs `operation` for a connection that is not (or not yet) called as a stored one, with the
/// credential the caller holds (none for work that needs no vendor call): verifying a
/// credential before it is stored, parsing a vendor delivery. Nothing is written.
pub async fn call_unsaved(
    services: &Services,
    plugin: &Arc<Plugin>,
    record: &ConnectionRecord,
    credential: Option<&BoundCredential>,
    operation: Operation,
    options: CallOptions,
) -> Result<Answer, CallError> {
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
        credential_from_grant: credential
            .is_some_and(|bound| matches!(bound.credential, StoredCredential::Oauth2 { .. })),
        bound_origin: credential.and_then(|bound| bound.origin.clone()),
        timeout: options.timeout,
        background: options.background,
        secret_substitution: options.secret_substitution,
    };
    let started = Instant::now();
    let operation_name = operation.name();
    let span = crate::otel_span!(
        "plugin call",
        otel.name = format!("{} {operation_name}", record.connector),
        connector = record.connector.as_str(),
        plugin.version = plugin.manifest.version.as_str(),
        plugin.contract = plugin.wit_version.as_str(),
        operation = operation_name,
        tenant.id = record.tenant.as_str(),
        connection.id = record.id.as_str(),
        outcome = tracing::field::Empty,
        error.type = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        wasm.memory.bytes = tracing::field::Empty,
        egress.requests = tracing::field::Empty,
        egress.response.bytes = tracing::field::Empty,
    );
    let (result, usage) = tracing::Instrument::instrument(
        services.runtime.call_on_metered(plugin, context, operation),
        span.clone(),
    )
    .await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(CallError::Fault { .. }) => "fault",
        Err(CallError::EgressDenied(_)) => "egress_denied",
        Err(CallError::Connector(_)) => "connector_error",
        Err(_) => "error",
    };
    metrics::counter!("plugin_calls_total", "plugin" => record.connector.clone(), "operation" => operation_name, "outcome" => outcome)
        .increment(1);
    metrics::histogram!("plugin_call_duration_seconds", "plugin" => record.connector.clone(), "operation" => operation_name, "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
    services
        .usage
        .call(&record.tenant, &record.id, operation_name, outcome, &usage);
    if !span.is_disabled() {
        span.record("outcome", outcome);
        span.record("wasm.memory.bytes", usage.memory_bytes);
        span.record("egress.requests", usage.egress_requests);
        span.record("egress.response.bytes", usage.egress_bytes);
        if let Err(error) = &result {
            span.record("otel.status_code", "error");
            span.record("error.type", error.kind());
        }
    }
    result.map(|value| Answer {
        value,
        served_by: ServedBy::of(plugin),
    })
}

/// Runs `operation` on a stored connection the caller loaded (tenant-scoped): its sealed
/// credential opened and refreshed when due, one refresh and retry on a vendor 401 for an
/// OAuth token, and its status updated from the outcome. Answers with the connection as it is
/// after the call.
pub async fn call(
    services: &Services,
    record: ConnectionRecord,
    operation: Operation,
    options: CallOptions,
) -> Result<(ConnectionRecord, Answer), ApiError> {
    let plugin = services
        .runtime
        .plugin(&record.connector)
        .ok_or_else(|| ApiError::from_call(CallError::NotLoaded(record.connector.clone())))?;
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
    services.usage.admit_call(&record.tenant).await?;
    let mut stored = services
        .store
        .credential(&record.tenant, &record.id)
        .await?;
    if stored.origin.is_none() {
        stored.origin = origin_of_unbound(services, &plugin, &record);
    }
    let credential = services
        .refresher
        .fresh(&record, stored)
        .await
        .map_err(refresh_error)?;
    let mut result = call_unsaved(
        services,
        &plugin,
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
        let refreshed = services
            .refresher
            .refresh(&record, &seen)
            .await
            .map_err(refresh_error)?;
        result = call_unsaved(
            services,
            &plugin,
            &record,
            Some(&refreshed),
            operation,
            options,
        )
        .await;
    }
    let record = track_status(services, record, &result).await;
    match result {
        Ok(answer) => Ok((record, answer)),
        Err(error) => Err(ApiError::from_call(error)),
    }
}

/// A credential sealed before origins were bound (an older store) is bound to its connection's
/// configured origin, checked against today's allow-list. Safe because every config change
/// that moves the origin now needs the credential again, so that value is the one the
/// credential was verified against.
fn origin_of_unbound(
    services: &Services,
    plugin: &Plugin,
    record: &ConnectionRecord,
) -> Option<String> {
    crate::credentials::binding::bound_origin(
        services.runtime.egress_policy(),
        plugin,
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
