use axum::body::Body;
use axum::extract::State;
use serde::Serialize;

use super::extract::{ApiPath, ApiQuery};
use super::openapi::{ErrorResponses, Success};
use super::{ApiError, App, Envelope, ErrorCode};
use crate::app::callers::TenantCaller;
use crate::runtime::{CompileSource, ConnectorManifest, Plugin};

/// An installed connector as clients see it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ConnectorView {
    #[serde(flatten)]
    manifest: ConnectorManifest,
    plugin: PluginView,
}

#[derive(Serialize, utoipa::ToSchema)]
struct PluginView {
    sha256: String,
    size: usize,
    wit_version: String,
    compiled: CompileSource,
}

impl ConnectorView {
    fn of(plugin: &Plugin) -> Self {
        Self {
            manifest: plugin.manifest.clone(),
            plugin: PluginView {
                sha256: plugin.sha256.clone(),
                size: plugin.size,
                wit_version: plugin.wit_version.clone(),
                compiled: plugin.compiled,
            },
        }
    }
}

/// `GET /api/v1/connectors`.
#[utoipa::path(get, path = "/api/v1/connectors", tag = "connectors", responses((status = 200, description = "installed connectors", body = Success<Vec<ConnectorView>>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn list(State(state): State<App>, caller: TenantCaller) -> Envelope<Vec<ConnectorView>> {
    Envelope::ok(
        state
            .runtime
            .connectors_for(&caller.tenant)
            .iter()
            .map(|p| ConnectorView::of(p))
            .collect(),
    )
}

/// `GET /api/v1/connectors/{connector}`.
#[utoipa::path(get, path = "/api/v1/connectors/{connector}", tag = "connectors", params(("connector" = String, Path)), responses((status = 200, description = "one connector", body = Success<ConnectorView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn get(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(connector): ApiPath<String>,
) -> Result<Envelope<ConnectorView>, ApiError> {
    match state.runtime.connector_for(&caller.tenant, &connector) {
        Some(plugin) => Ok(Envelope::ok(ConnectorView::of(&plugin))),
        None => Err(ApiError::new(
            ErrorCode::NotFound,
            format!("connector `{connector}` is not installed"),
        )),
    }
}

/// `PUT /api/v1/connectors/{connector}` query.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// Install even if the version changes where the connector sends secrets or requests.
    /// Default: false (such a change is refused with the changes in `details.changes`).
    #[serde(default)]
    accept_manifest_changes: bool,
}

/// `PUT /api/v1/connectors/{connector}`: installs or replaces one of the tenant's own
/// connectors from a declarative manifest (YAML or JSON). Only this tenant sees it; it reaches
/// only the hosts the operator opened to tenant connectors.
#[utoipa::path(put, path = "/api/v1/connectors/{connector}", tag = "connectors", params(("connector" = String, Path, description = "the manifest's id; must not be the operator's or another tenant's"), UploadQuery), request_body(content = Vec<u8>, content_type = "application/yaml", description = "a declarative manifest (YAML or JSON)"), responses((status = 200, description = "replaced the tenant's version", body = Success<ConnectorView>), (status = 201, description = "installed", body = Success<ConnectorView>), (status = 403, description = "tenant connectors are off on this host", body = super::openapi::ErrorEnvelope), (status = 409, description = "the id is taken, or the version moves where secrets go", body = super::openapi::ErrorEnvelope), (status = 422, description = "refused; details.stage and details.pointer say where", body = super::openapi::ErrorEnvelope), (status = 429, description = "the tenant keeps as many connectors as it may", body = super::openapi::ErrorEnvelope), ErrorResponses), security(("tenant_key" = [])))]
pub async fn upload(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(connector): ApiPath<String>,
    ApiQuery(query): ApiQuery<UploadQuery>,
    body: Body,
) -> Result<Envelope<ConnectorView>, ApiError> {
    // A manifest is at most MAX_MANIFEST_BYTES: refused while streaming past that.
    let max = connector_declarative::MAX_MANIFEST_BYTES;
    let manifest = axum::body::to_bytes(body, max).await.map_err(|_| {
        ApiError::new(
            ErrorCode::Validation,
            format!("a manifest is at most {max} bytes"),
        )
        .with_status(axum::http::StatusCode::PAYLOAD_TOO_LARGE)
    })?;
    let loaded = crate::app::tenant_connectors::upload(
        &state,
        &caller,
        &connector,
        manifest.to_vec(),
        query.accept_manifest_changes,
    )
    .await?;
    let view = ConnectorView::of(&loaded.plugin);
    Ok(if loaded.replaced.is_some() {
        Envelope::ok(view)
    } else {
        Envelope::created(view)
    })
}

/// `DELETE /api/v1/connectors/{connector}`: stops serving one of the tenant's own connectors.
/// Its connections stay and answer `NOT_CONNECTED` until it is uploaded again.
#[utoipa::path(delete, path = "/api/v1/connectors/{connector}", tag = "connectors", params(("connector" = String, Path)), responses((status = 200, description = "the connector, no longer served", body = Success<ConnectorView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn remove(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(connector): ApiPath<String>,
) -> Result<Envelope<ConnectorView>, ApiError> {
    let removed = crate::app::tenant_connectors::remove(&state, &caller, &connector).await?;
    Ok(Envelope::ok(ConnectorView::of(&removed)))
}
