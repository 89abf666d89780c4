//! A tenant's authorized MCP clients: what it allowed through the consent page
//! (`GET /api/v1/mcp/clients`) and revoking one (`DELETE /api/v1/mcp/clients/{id}`), whose
//! tokens then stop working on every host.

use axum::extract::State;
use serde_json::json;

use super::extract::ApiPath;
use super::openapi::{ErrorResponses, Success};
use super::{ApiError, App, Envelope};
use crate::app::callers::TenantCaller;
use crate::app::mcp_authorization::{GrantView, grants};

/// `GET /api/v1/mcp/clients`: never a token or its digest.
#[utoipa::path(get, path = "/api/v1/mcp/clients", tag = "mcp", responses((status = 200, description = "the MCP clients this tenant authorized", body = Success<Vec<GrantView>>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn list(
    State(state): State<App>,
    caller: TenantCaller,
) -> Result<Envelope<Vec<GrantView>>, ApiError> {
    Ok(Envelope::ok(grants::list(&state, &caller.tenant).await?))
}

/// `DELETE /api/v1/mcp/clients/{id}`: its access and refresh tokens answer 401 from now on.
#[utoipa::path(delete, path = "/api/v1/mcp/clients/{id}", tag = "mcp", params(("id" = String, Path)), responses((status = 200, description = "revoked", body = Success<serde_json::Value>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn revoke(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    grants::revoke(&state, &caller, &id).await?;
    Ok(Envelope::ok(json!({ "id": id, "revoked": true })))
}
