use axum::extract::State;
use serde::Serialize;

use super::extract::ApiPath;
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
pub async fn list(State(state): State<App>, _caller: TenantCaller) -> Envelope<Vec<ConnectorView>> {
    Envelope::ok(
        state
            .runtime
            .connectors()
            .iter()
            .map(|p| ConnectorView::of(p))
            .collect(),
    )
}

/// `GET /api/v1/connectors/{connector}`.
#[utoipa::path(get, path = "/api/v1/connectors/{connector}", tag = "connectors", params(("connector" = String, Path)), responses((status = 200, description = "one connector", body = Success<ConnectorView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn get(
    State(state): State<App>,
    _caller: TenantCaller,
    ApiPath(connector): ApiPath<String>,
) -> Result<Envelope<ConnectorView>, ApiError> {
    match state.runtime.connector(&connector) {
        Some(plugin) => Ok(Envelope::ok(ConnectorView::of(&plugin))),
        None => Err(ApiError::new(
            ErrorCode::NotFound,
            format!("connector `{connector}` is not installed"),
        )),
    }
}
