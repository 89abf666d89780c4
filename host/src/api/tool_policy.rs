//! `GET|PUT /api/v1/tools/policy`: the tenant's tool policy (the use cases and how it decides:
//! `app::tools::policy`).

use axum::extract::State;

use super::extract::ApiJson;
use super::openapi::{ErrorResponses, Success};
use super::{ApiError, App, Envelope};
use crate::app::callers::TenantCaller;
use crate::app::tools::policy::{self, ToolPolicy};

/// `GET /api/v1/tools/policy`.
#[utoipa::path(get, path = "/api/v1/tools/policy", tag = "tools", responses((status = 200, description = "the tenant's tool policy", body = Success<ToolPolicy>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn get(
    State(state): State<App>,
    caller: TenantCaller,
) -> Result<Envelope<ToolPolicy>, ApiError> {
    Ok(Envelope::ok(policy::policy(&state, &caller.tenant).await?))
}

/// `PUT /api/v1/tools/policy`: replaces it. Rules are tried in order and the first that
/// matches a tool decides (`allow`, `deny`, or `confirm`); redactions apply to every result of
/// the tools they name. Takes effect on the next call, on every host.
#[utoipa::path(put, path = "/api/v1/tools/policy", tag = "tools", request_body = ToolPolicy, responses((status = 200, description = "stored", body = Success<ToolPolicy>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn put(
    State(state): State<App>,
    caller: TenantCaller,
    ApiJson(body): ApiJson<ToolPolicy>,
) -> Result<Envelope<ToolPolicy>, ApiError> {
    Ok(Envelope::ok(
        policy::put_policy(&state, &caller, body).await?,
    ))
}
