use axum::extract::{Path, State};
use serde::Serialize;

use super::{ApiError, AppState, Envelope, ErrorCode, RequestId};
use crate::runtime::{CompileSource, ConnectorManifest, Plugin};

/// An installed connector as clients see it.
#[derive(Serialize)]
pub struct ConnectorView {
    #[serde(flatten)]
    manifest: ConnectorManifest,
    plugin: PluginView,
}

#[derive(Serialize)]
struct PluginView {
    sha256: String,
    size: usize,
    wit_version: &'static str,
    compiled: CompileSource,
}

impl ConnectorView {
    fn of(plugin: &Plugin) -> Self {
        Self {
            manifest: plugin.manifest.clone(),
            plugin: PluginView {
                sha256: plugin.sha256.clone(),
                size: plugin.size,
                wit_version: plugin.wit_version,
                compiled: plugin.compiled,
            },
        }
    }
}

/// `GET /api/v1/connectors`.
pub async fn list(
    State(state): State<AppState>,
    request_id: RequestId,
) -> Envelope<Vec<ConnectorView>> {
    let views = state
        .runtime
        .plugins()
        .iter()
        .map(|p| ConnectorView::of(p))
        .collect();
    Envelope::new(request_id, views)
}

/// `GET /api/v1/connectors/{connector}`.
pub async fn get(
    State(state): State<AppState>,
    Path(connector): Path<String>,
    request_id: RequestId,
) -> Result<Envelope<ConnectorView>, ApiError> {
    match state.runtime.plugin(&connector) {
        Some(plugin) => Ok(Envelope::new(request_id, ConnectorView::of(&plugin))),
        None => Err(ApiError::new(
            ErrorCode::NotFound,
            format!("connector `{connector}` is not installed"),
        )
        .with_request_id(request_id)),
    }
}
