//! Tool packs over REST: `GET /api/v1/tools/packs`, `PUT|DELETE /api/v1/tools/packs/{pack}`
//! (the use cases are `app::tools::packs`), and tool search, `GET /api/v1/tools/search`.

use std::collections::BTreeMap;

use axum::extract::State;
use serde::Deserialize;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::openapi::{ErrorResponses, Success};
use super::{ApiError, App, Envelope, ErrorCode};
use crate::app::callers::TenantCaller;
use crate::app::tools::packs::{self, ToolPack};
use crate::app::tools::{FoundTool, Visibility, search_tools};

/// `GET /api/v1/tools/packs`: the tenant's packs, by name.
#[utoipa::path(get, path = "/api/v1/tools/packs", tag = "tools", responses((status = 200, description = "the tenant's tool packs", body = Success<BTreeMap<String, ToolPack>>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn list(
    State(state): State<App>,
    caller: TenantCaller,
) -> Result<Envelope<BTreeMap<String, ToolPack>>, ApiError> {
    Ok(Envelope::ok(packs::packs(&state, &caller.tenant).await?))
}

/// `PUT /api/v1/tools/packs/{pack}`: creates or replaces a pack. Its tools are served at
/// `/mcp/packs/{pack}`, and an MCP client may be granted only them (scope `pack:{pack}`).
#[utoipa::path(put, path = "/api/v1/tools/packs/{pack}", tag = "tools", params(("pack" = String, Path)), request_body = ToolPack, responses((status = 200, description = "stored", body = Success<ToolPack>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn put(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(name): ApiPath<String>,
    ApiJson(pack): ApiJson<ToolPack>,
) -> Result<Envelope<ToolPack>, ApiError> {
    Ok(Envelope::ok(
        packs::put_pack(&state, &caller, &name, pack).await?,
    ))
}

/// `DELETE /api/v1/tools/packs/{pack}`: its endpoint answers 404 from then on, and MCP grants
/// limited to it reach no tool.
#[utoipa::path(delete, path = "/api/v1/tools/packs/{pack}", tag = "tools", params(("pack" = String, Path)), responses((status = 200, description = "deleted", body = Success<String>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn delete(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(name): ApiPath<String>,
) -> Result<Envelope<String>, ApiError> {
    packs::delete_pack(&state, &caller, &name).await?;
    Ok(Envelope::ok(name))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// What the agent wants to do, in plain words (1 to 500 characters).
    q: String,
    /// How many tools (1 to 20, default 8).
    limit: Option<usize>,
    /// Only this pack's tools.
    pack: Option<String>,
}

/// `GET /api/v1/tools/search?q=...`: the tools that best fit a task, ranked (BM25 over names,
/// descriptions and argument names), among every connector offered to the tenant; `connected`
/// says whether it has a connection to run one on.
#[utoipa::path(get, path = "/api/v1/tools/search", tag = "tools", params(SearchQuery), responses((status = 200, description = "best first", body = Success<Vec<FoundTool>>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn search(
    State(state): State<App>,
    caller: TenantCaller,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Envelope<Vec<FoundTool>>, ApiError> {
    let text = query.q.trim();
    if text.is_empty() || text.chars().count() > 500 {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "q must be 1 to 500 characters",
        ));
    }
    let pack = match &query.pack {
        Some(name) => Some(
            packs::pack(&state, &caller.tenant, name)
                .await?
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::NotFound,
                        format!("there is no tool pack `{name}`"),
                    )
                })?,
        ),
        None => None,
    };
    let visibility = Visibility {
        scope: None,
        pack: pack.as_ref(),
    };
    let limit = query.limit.unwrap_or(8).clamp(1, 20);
    Ok(Envelope::ok(
        search_tools(&state, &caller.tenant, &visibility, text, limit).await?,
    ))
}
