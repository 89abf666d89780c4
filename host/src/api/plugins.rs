//! `/admin/v1/plugins`: the operator's view of the plugin registry, and hot loading: upload a
//! version, roll back to the previous one, unload.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Serialize;

use super::extract::{ApiPath, ApiQuery};
use super::openapi::{ErrorEnvelope, ErrorResponses, Success};
use super::{ApiError, App, Envelope, ErrorCode};
use crate::app::callers::Admin;
use crate::loader::{ChangeError, LoadFailure, LoadRequest};
use crate::runtime::{CompileSource, Plugin, PluginOrigin, RegistryError};

/// Header with the hex sha256 the uploaded bytes must have.
pub const X_PLUGIN_SHA256_PIN: &str = "x-plugin-sha256";
/// Header with the base64 ed25519 signature over the sha256 digest.
pub const X_PLUGIN_SIGNATURE: &str = "x-plugin-signature";

/// One loaded (or previously loaded) version of a plugin.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PluginVersionView {
    version: String,
    sha256: String,
    size: usize,
    /// The `connector:plugin` contract version it was built against.
    wit_version: String,
    compiled: CompileSource,
    loaded_at: String,
    /// Calls made on this version since it was loaded.
    calls: u64,
    /// Calls on this version that ended in a plugin fault.
    faults: u64,
    origin: PluginOrigin,
}

impl PluginVersionView {
    fn of(plugin: &Plugin) -> Self {
        Self {
            version: plugin.manifest.version.clone(),
            sha256: plugin.sha256.clone(),
            size: plugin.size,
            wit_version: plugin.wit_version.clone(),
            compiled: plugin.compiled,
            loaded_at: humantime::format_rfc3339_seconds(plugin.loaded_at).to_string(),
            calls: plugin.calls(),
            faults: plugin.faults(),
            origin: plugin.origin.clone(),
        }
    }
}

/// A plugin id in the registry.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PluginView {
    id: String,
    /// `loaded`, or `unloaded` (its connections answer `NOT_CONNECTED`).
    status: &'static str,
    /// The version new calls get; absent when unloaded.
    current: Option<PluginVersionView>,
    /// The version a rollback would bring back.
    previous: Option<PluginVersionView>,
    previous_available: bool,
}

impl PluginView {
    fn of(id: &str, current: Option<&Plugin>, previous: Option<&Plugin>) -> Self {
        Self {
            id: id.to_owned(),
            status: if current.is_some() {
                "loaded"
            } else {
                "unloaded"
            },
            current: current.map(PluginVersionView::of),
            previous: previous.map(PluginVersionView::of),
            previous_available: previous.is_some(),
        }
    }

    fn of_slot(state: &App, id: &str) -> Self {
        let slot = state.runtime.slot(id).unwrap_or_default();
        Self::of(id, slot.current.as_deref(), slot.previous.as_deref())
    }
}

/// `GET /admin/v1/plugins`.
#[utoipa::path(get, path = "/admin/v1/plugins", tag = "admin", responses((status = 200, description = "every plugin id with its current and previous versions", body = Success<Vec<PluginView>>), ErrorResponses), security(("admin_token" = [])))]
pub async fn list(State(state): State<App>, _admin: Admin) -> Envelope<Vec<PluginView>> {
    Envelope::ok(
        state
            .runtime
            .slots()
            .iter()
            .map(|(id, slot)| PluginView::of(id, slot.current.as_deref(), slot.previous.as_deref()))
            .collect(),
    )
}

/// `GET /admin/v1/plugins/{id}`.
#[utoipa::path(get, path = "/admin/v1/plugins/{id}", tag = "admin", params(("id" = String, Path, description = "plugin (connector) id")), responses((status = 200, description = "the plugin", body = Success<PluginView>), ErrorResponses), security(("admin_token" = [])))]
pub async fn get(
    State(state): State<App>,
    _admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> Result<Envelope<PluginView>, ApiError> {
    let slot = state.runtime.slot(&id).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("no plugin `{id}` was ever loaded on this host"),
        )
    })?;
    Ok(Envelope::ok(PluginView::of(
        &id,
        slot.current.as_deref(),
        slot.previous.as_deref(),
    )))
}

/// What an upload did.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UploadView {
    #[serde(flatten)]
    plugin: PluginView,
    /// Sha256 of the version this upload replaced, if any.
    replaced_sha256: Option<String>,
}

/// `PUT /admin/v1/plugins/{id}` query.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// Install even if the version changes where the connector sends secrets or requests.
    /// Default: false (such an upgrade is refused with the changes in `details.changes`).
    #[serde(default)]
    accept_manifest_changes: bool,
}

/// `PUT /admin/v1/plugins/{id}`: the body is the component (`application/wasm`) or a
/// declarative manifest (YAML or JSON, run by the bundled interpreter). Verified,
/// compiled, smoke-tested and swapped in; calls in flight finish on the old version.
#[utoipa::path(put, path = "/admin/v1/plugins/{id}", tag = "admin", params(("id" = String, Path, description = "plugin (connector) id; must equal the component's info().id"), UploadQuery, ("X-Plugin-Sha256" = Option<String>, Header, description = "hex sha256 the body must have"), ("X-Plugin-Signature" = Option<String>, Header, description = "base64 ed25519 signature over the sha256 digest")), request_body(content = Vec<u8>, content_type = "application/wasm", description = "a component, or a declarative manifest (YAML or JSON)"), responses((status = 200, description = "loaded, replacing a version", body = Success<UploadView>), (status = 201, description = "loaded, new id", body = Success<UploadView>), (status = 413, description = "larger than max_plugin_mib", body = ErrorEnvelope), (status = 422, description = "refused; details.stage says which check (and details.pointer where in a manifest)", body = ErrorEnvelope), ErrorResponses), security(("admin_token" = [])))]
pub async fn upload(
    State(state): State<App>,
    _admin: Admin,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Envelope<UploadView>, ApiError> {
    let max = state.loader.settings().max_plugin_bytes;
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    // Refused before reading more than the cap: by the declared length, or while streaming.
    let read = match declared.filter(|size| *size > max) {
        Some(size) => Err(size),
        None => axum::body::to_bytes(body, max).await.map_err(|_| max + 1),
    };
    let wasm = match read {
        Ok(wasm) => wasm,
        Err(size) => {
            let failure = LoadFailure::TooLarge { size, max };
            state
                .loader
                .record_refusal(&id, None, "upload", &failure, "admin")
                .await;
            return Err(crate::app::plugins::load_refusal(failure, &id));
        }
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let loaded = state
        .loader
        .load(LoadRequest {
            wasm: wasm.to_vec(),
            expected_id: Some(id.clone()),
            sha256_pin: header(X_PLUGIN_SHA256_PIN),
            signature: header(X_PLUGIN_SIGNATURE),
            origin: PluginOrigin {
                source: "upload".into(),
                ..PluginOrigin::default()
            },
            actor: "admin".into(),
            accept_manifest_changes: query.accept_manifest_changes,
            shared: true,
        })
        .await
        .map_err(|failure| crate::app::plugins::load_refusal(failure, &id))?;
    let view = UploadView {
        plugin: PluginView::of_slot(&state, &id),
        replaced_sha256: loaded.replaced.as_ref().map(|p| p.sha256.clone()),
    };
    Ok(if loaded.replaced.is_some() {
        Envelope::ok(view)
    } else {
        Envelope::created(view)
    })
}

/// `POST /admin/v1/plugins/{id}/rollback`: serve the previous version again.
#[utoipa::path(post, path = "/admin/v1/plugins/{id}/rollback", tag = "admin", params(("id" = String, Path, description = "plugin (connector) id")), responses((status = 200, description = "the plugin after the rollback", body = Success<PluginView>), ErrorResponses), security(("admin_token" = [])))]
pub async fn rollback(
    State(state): State<App>,
    _admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> Result<Envelope<PluginView>, ApiError> {
    state
        .loader
        .rollback(&id, "admin")
        .await
        .map_err(registry_error)?;
    Ok(Envelope::ok(PluginView::of_slot(&state, &id)))
}

/// `DELETE /admin/v1/plugins/{id}`: stop serving it. Connections stay stored and answer
/// `NOT_CONNECTED` until it is loaded again; a rollback brings the unloaded version back.
#[utoipa::path(delete, path = "/admin/v1/plugins/{id}", tag = "admin", params(("id" = String, Path, description = "plugin (connector) id")), responses((status = 200, description = "the plugin after unloading", body = Success<PluginView>), ErrorResponses), security(("admin_token" = [])))]
pub async fn unload(
    State(state): State<App>,
    _admin: Admin,
    ApiPath(id): ApiPath<String>,
) -> Result<Envelope<PluginView>, ApiError> {
    state
        .loader
        .unload(&id, "admin")
        .await
        .map_err(registry_error)?;
    Ok(Envelope::ok(PluginView::of_slot(&state, &id)))
}

fn registry_error(error: ChangeError) -> ApiError {
    match error {
        ChangeError::Registry(error @ RegistryError::NotLoaded(_)) => {
            ApiError::new(ErrorCode::NotFound, error.to_string())
        }
        ChangeError::Registry(error @ RegistryError::NoPrevious(_)) => {
            ApiError::new(ErrorCode::Conflict, error.to_string())
        }
        ChangeError::Store(error) => ApiError::from(error),
    }
}
