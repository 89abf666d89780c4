//! The MCP server: `tools/list` and `tools/call` over the tenant's tool catalogue, at `/mcp`
//! (every connection of the tenant) and `/mcp/connections/{id}` (one connection), on the
//! Streamable HTTP transport of the official SDK (`rmcp`), stateless: each POST stands alone,
//! so any host of a fleet can answer it and nothing is kept between requests.
//!
//! Authentication is a bearer token, checked here before rmcp sees the request (401 with
//! `WWW-Authenticate` pointing at the protected-resource metadata, as the MCP authorization
//! spec asks): an access token this host's own authorization server issued for exactly this
//! endpoint ([`authorization_server`], consent in the console), or the tenant's API key. Browsers' `Origin` is checked against the host's own
//! origin and `mcp.allowed_origins`, against DNS rebinding (403 otherwise).

pub mod authorization_server;
mod input_requests;
mod meta_tools;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts as _, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rmcp::handler::server::ServerHandler;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};

use crate::app::callers::TenantCaller;
use crate::app::mcp_authorization::grants;
use crate::app::tools::packs::ToolPack;
use crate::app::tools::{Catalogue, Confirmation, ToolError, ToolView, Via, invoke};
use crate::app::{App, MAX_BODY_BYTES};
use crate::credentials::unix_now;
use crate::error::{ApiError, ErrorCode};
use crate::source_limit::PeerAddr;

/// Where the protected-resource metadata (RFC 9728) of `/mcp` is served.
const RESOURCE_METADATA_PATH: &str = "/.well-known/oauth-protected-resource/mcp";

/// Who is calling `/mcp`, and on which connection when the endpoint is scoped; set by
/// [`authenticate`] on the request, read back by the tool server from rmcp's request parts.
#[derive(Debug, Clone)]
struct McpCaller {
    caller: TenantCaller,
    scope: Option<String>,
    /// The pack the endpoint (`/mcp/packs/{pack}`) or the token's scope limits tools to.
    pack: Option<(String, Arc<ToolPack>)>,
    /// `?mode=meta`: five meta tools instead of the whole catalogue.
    meta: bool,
    /// The HTTP request's server span: the parent of the MCP operation's span when the client
    /// sent no `traceparent` in `_meta` (rmcp may serve the request on another task).
    http_span: tracing::Span,
}

/// The MCP routes, behind their own authentication and Origin check.
pub fn router(state: App) -> Router<App> {
    let tool_server = state.clone();
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_max_request_body_bytes(MAX_BODY_BYTES)
        // Host and Origin are checked by `authenticate`, against this host's configured
        // public origin rather than rmcp's loopback-only default.
        .disable_allowed_hosts()
        .disable_allowed_origins();
    let service = StreamableHttpService::new(
        move || {
            Ok(ToolServer {
                state: tool_server.clone(),
            })
        },
        Arc::new(NeverSessionManager::default()),
        config,
    );
    let mcp = Router::new()
        .route_service("/mcp", service.clone())
        .route_service("/mcp/connections/{id}", service.clone())
        .route_service("/mcp/packs/{pack}", service)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authenticate,
        ));
    Router::new()
        .route(RESOURCE_METADATA_PATH, get(resource_metadata))
        .route(
            &format!("{RESOURCE_METADATA_PATH}/connections/{{id}}"),
            get(connection_resource_metadata),
        )
        .route(
            &format!("{RESOURCE_METADATA_PATH}/packs/{{pack}}"),
            get(pack_resource_metadata),
        )
        .merge(mcp)
        .merge(authorization_server::router(&state))
}

/// RFC 9728 metadata of `/mcp`.
async fn resource_metadata(State(state): State<App>, source: PeerAddr) -> Response {
    metadata_of(&state, source, "/mcp")
}

/// RFC 9728 metadata of `/mcp/connections/{id}`: its own resource, so a token asked for it
/// works there only.
async fn connection_resource_metadata(
    State(state): State<App>,
    source: PeerAddr,
    Path(id): Path<String>,
) -> Response {
    metadata_of(&state, source, &format!("/mcp/connections/{id}"))
}

/// RFC 9728 metadata of `/mcp/packs/{pack}`.
async fn pack_resource_metadata(
    State(state): State<App>,
    source: PeerAddr,
    Path(pack): Path<String>,
) -> Response {
    metadata_of(&state, source, &format!("/mcp/packs/{pack}"))
}

/// What the bearer token is for, how to send it, and where to get one: this host's own
/// authorization server (tenant API keys work too, and need none).
/// Anyone may ask, so the source's allowance is taken first, as for the authorization
/// server's own metadata.
fn metadata_of(state: &App, source: PeerAddr, path: &str) -> Response {
    if !authorization_server::admitted(state, source) {
        return authorization_server::throttled();
    }
    let base = state.public_url.trim_end_matches('/');
    let mut metadata = json!({
        "resource": format!("{base}{path}"),
        "bearer_methods_supported": ["header"],
        "resource_name": "connector-host MCP server",
        "resource_documentation": format!("{base}/docs"),
    });
    if state.settings.mcp_authorization.enabled {
        metadata["authorization_servers"] = json!([base]);
        metadata["scopes_supported"] = json!(crate::app::mcp_authorization::SCOPES);
    }
    axum::Json(metadata).into_response()
}

/// Checks `Origin`, then the API key (the same checks and per-key rate limit as the REST
/// API), then that a scoped connection is the caller's, before rmcp reads the body.
async fn authenticate(State(state): State<App>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    if let Some(origin) = parts.headers.get(header::ORIGIN)
        && !origin_allowed(&state, origin)
    {
        return ApiError::new(
            ErrorCode::Forbidden,
            "this Origin may not call the MCP server; the operator lists browser origins in mcp.allowed_origins",
        )
        .with_status(StatusCode::FORBIDDEN)
        .into_response();
    }
    let (caller, granted_pack) = match access_token(&parts) {
        Some(token) => match by_access_token(&state, &parts, token).await {
            Ok(authorized) => (authorized.caller, authorized.pack),
            Err(response) => return response,
        },
        None => match TenantCaller::from_request_parts(&mut parts, &state).await {
            Ok(caller) => (caller, None),
            Err(error) if error.code == ErrorCode::Unauthorized => {
                return challenge(&state, &parts, error);
            }
            Err(error) => return error.into_response(),
        },
    };
    let params = match Path::<std::collections::HashMap<String, String>>::from_request_parts(
        &mut parts, &state,
    )
    .await
    {
        Ok(Path(params)) => params,
        Err(_) => Default::default(),
    };
    let scope = params.get("id").cloned();
    if let Some(id) = &scope
        && let Err(error) = crate::connection::load(&state, &caller.tenant, id).await
    {
        return error.into_response();
    }
    let pack = match endpoint_pack(&state, &caller, params.get("pack"), granted_pack).await {
        Ok(pack) => pack,
        Err(error) => return error.into_response(),
    };
    let meta = parts.uri.query().is_some_and(|query| {
        url::form_urlencoded::parse(query.as_bytes())
            .any(|(key, value)| key == "mode" && value == "meta")
    });
    crate::telemetry::record_tenant(&caller.tenant);
    parts.extensions.insert(McpCaller {
        caller,
        scope,
        pack,
        meta,
        http_span: tracing::Span::current(),
    });
    next.run(Request::from_parts(parts, body)).await
}

/// The pack the request is limited to: the endpoint's (`/mcp/packs/{pack}`, 404 when the
/// tenant has none of that name), else the token's `pack:` scope. A token whose scope names
/// one pack is refused at another pack's endpoint (403).
async fn endpoint_pack(
    state: &App,
    caller: &TenantCaller,
    path_pack: Option<&String>,
    granted_pack: Option<String>,
) -> Result<Option<(String, Arc<ToolPack>)>, ApiError> {
    if let (Some(path), Some(granted)) = (path_pack, &granted_pack)
        && path != granted
    {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!("this token is limited to pack `{granted}`"),
        ));
    }
    let Some(name) = path_pack.cloned().or(granted_pack) else {
        return Ok(None);
    };
    let from_path = path_pack.is_some();
    match crate::app::tools::packs::pack(state, &caller.tenant, &name).await? {
        Some(pack) => Ok(Some((name, Arc::new(pack)))),
        None if from_path => Err(ApiError::new(
            ErrorCode::NotFound,
            format!("this tenant has no tool pack `{name}`"),
        )),
        // The grant's pack was deleted since: it allows nothing.
        None => Ok(Some((name, Arc::new(ToolPack::default())))),
    }
}

/// The bearer token, when it is one of the authorization server's access tokens.
fn access_token(parts: &axum::http::request::Parts) -> Option<&str> {
    crate::app::callers::bearer(parts).filter(|token| grants::is_access_token(token))
}

/// The tenant an access token speaks for on this endpoint; a token of another endpoint, an
/// expired or a revoked one gets the `invalid_token` challenge. Each grant has the per-key
/// request rate of an API key.
async fn by_access_token(
    state: &App,
    parts: &axum::http::request::Parts,
    token: &str,
) -> Result<grants::Authorized, Response> {
    if !state.settings.mcp_authorization.enabled {
        return Err(challenge(
            state,
            parts,
            ApiError::new(
                ErrorCode::Unauthorized,
                "this host does not accept OAuth access tokens; send a tenant API key",
            ),
        ));
    }
    // A source that sent too many bad tokens or keys is refused before any lookup (the grant
    // id a token names is one store read).
    let PeerAddr(source) = PeerAddr::of(parts);
    if state.auth_failures.is_shut(source) {
        crate::source_limit::refused(&state.refusal_log, "mcp_token", "too_many_failures");
        let mut error = ApiError::new(
            ErrorCode::RateLimited,
            "too many requests with a token that is not valid came from this address; slow down",
        );
        error.retry_after_secs = Some(1);
        return Err(error.into_response());
    }
    let caller = match grants::authenticate(state, token, parts.uri.path(), unix_now()).await {
        Ok(caller) => caller,
        Err(grants::AccessError::Store(error)) => return Err(ApiError::from(error).into_response()),
        Err(error) => {
            state.auth_failures.failed(source);
            return Err(challenge(
                state,
                parts,
                ApiError::new(ErrorCode::Unauthorized, error.to_string()),
            ));
        }
    };
    if let Err(wait_secs) = state.auth.admit_key(&caller.caller.actor) {
        let mut error = ApiError::new(
            ErrorCode::RateLimited,
            "this client sends requests faster than the host allows; slow down",
        );
        error.retry_after_secs = Some(wait_secs.max(1));
        return Err(error.into_response());
    }
    Ok(caller)
}

/// The host's own origin (from `public_url`) and the operator's list.
fn origin_allowed(state: &App, origin: &HeaderValue) -> bool {
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let own = url::Url::parse(&state.public_url)
        .map(|url| url.origin().ascii_serialization())
        .ok();
    own.as_deref() == Some(origin)
        || state
            .settings
            .mcp_allowed_origins
            .iter()
            .any(|allowed| allowed == origin)
}

/// 401 with the challenge MCP clients follow to the resource metadata.
fn challenge(state: &App, parts: &axum::http::request::Parts, error: ApiError) -> Response {
    let base = state.public_url.trim_end_matches('/');
    let metadata = match parts.uri.path().strip_prefix("/mcp") {
        Some(rest) if !rest.is_empty() => format!("{base}{RESOURCE_METADATA_PATH}{rest}"),
        _ => format!("{base}{RESOURCE_METADATA_PATH}"),
    };
    let presented = parts.headers.contains_key(header::AUTHORIZATION);
    let value = if presented {
        let description = error.message.replace(['"', '\\'], "'");
        format!(
            "Bearer error=\"invalid_token\", error_description=\"{description}\", resource_metadata=\"{metadata}\""
        )
    } else {
        format!("Bearer resource_metadata=\"{metadata}\"")
    };
    let mut response = error.into_response();
    if let Ok(value) = HeaderValue::from_str(&value) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// One stateless MCP server instance per request.
#[derive(Clone)]
struct ToolServer {
    state: App,
}

impl ToolServer {
    fn caller(context: &RequestContext<RoleServer>) -> Result<McpCaller, rmcp::ErrorData> {
        context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<McpCaller>())
            .cloned()
            .ok_or_else(|| rmcp::ErrorData::internal_error("the caller is not known", None))
    }
}

impl ServerHandler for ToolServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("connector-host", env!("CARGO_PKG_VERSION"))
                    .with_title("connector-host"),
            )
            .with_instructions(
                "Tools of the SaaS accounts this tenant connected (Jira, Confluence, ...): \
                 search, list, read, create and comment, plus each connector's actions. \
                 Listings are paged: pass `next_cursor` back as `cursor`.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, rmcp::ErrorData> {
        let started = std::time::Instant::now();
        let McpCaller {
            caller,
            scope,
            pack,
            meta,
            ..
        } = Self::caller(&context)?;
        let tools = if meta {
            meta_tools::definitions()
        } else {
            let catalogue = Catalogue::for_tenant(&self.state, &caller.tenant, scope.as_deref())
                .await
                .map_err(|error| {
                    record_operation("tools/list", "error", started);
                    protocol_error(error)
                })?;
            catalogue
                .into_views()
                .into_iter()
                .filter(|view| {
                    pack.as_ref()
                        .is_none_or(|(_, pack)| pack.allows(&view.name))
                })
                .map(mcp_tool)
                .collect()
        };
        record_operation("tools/list", "ok", started);
        // The list is the tenant's own: no shared cache may serve it to anyone else.
        let mut result = ListToolsResult::with_all_items(tools);
        result.cache_scope = Some(CacheScope::Private);
        Ok(result)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, rmcp::ErrorData> {
        let started = std::time::Instant::now();
        let call = Self::caller(&context)?;
        let arguments = request.arguments.map(Value::Object).unwrap_or(Value::Null);
        let mut confirmed = false;
        if let Some(request_state) = &request.request_state {
            let resumed = input_requests::resume(
                &self.state,
                &call.caller,
                request_state,
                request.input_responses.as_ref(),
                &request.name,
                &arguments,
            )
            .await
            .inspect_err(|_| record_operation("tools/call", "error", started))?;
            match resumed {
                input_requests::Resumed::Proceed { confirmed: yes } => confirmed = yes,
                input_requests::Resumed::Stop(answer) => {
                    record_operation("tools/call", "tool_error", started);
                    return Ok(answer.into());
                }
            }
        }
        let outer = OuterCall {
            name: &request.name,
            arguments: &arguments,
            context: &context,
            confirmed,
        };
        if call.meta {
            return meta_tools::call(self, &call, &outer, started).await;
        }
        self.run_tool(&call, &request.name, arguments.clone(), &outer, started)
            .await
    }
}

/// The `tools/call` the client sent: what a request state is sealed for.
pub(crate) struct OuterCall<'a> {
    name: &'a str,
    arguments: &'a Value,
    context: &'a RequestContext<RoleServer>,
    /// The person confirmed this call (a redeemed confirmation state and a yes).
    confirmed: bool,
}

impl ToolServer {
    /// Runs tool `name` for `call`'s caller: refused outside its pack, else the shared
    /// invocation path (and its policy); a missing connection asks the client to connect, a
    /// held call asks the person to confirm ([`input_requests`]).
    async fn run_tool(
        &self,
        call: &McpCaller,
        name: &str,
        arguments: Value,
        outer: &OuterCall<'_>,
        started: std::time::Instant,
    ) -> Result<CallToolResponse, rmcp::ErrorData> {
        let McpCaller {
            caller,
            scope,
            pack,
            http_span,
            ..
        } = call;
        let span = tool_span(http_span, outer.context, name, &caller.tenant);
        let pack = pack
            .as_ref()
            .map(|(name, pack)| (name.as_str(), pack.as_ref()));
        if let Err(error) = crate::app::tools::packs::admit(&self.state, caller, pack, name).await {
            record_operation("tools/call", "error", started);
            span.record("otel.status_code", "error");
            span.record("error.type", "unknown_tool");
            return Err(rmcp::ErrorData::invalid_params(error.message, None));
        }
        let sampled = crate::telemetry::is_sampled(&span);
        let outcome = crate::telemetry::sampled_scope(
            sampled,
            tracing::Instrument::instrument(
                invoke(
                    &self.state,
                    caller,
                    scope.as_deref(),
                    name,
                    arguments,
                    Via::Mcp,
                    if outer.confirmed {
                        Confirmation::Confirmed
                    } else {
                        Confirmation::None
                    },
                ),
                span.clone(),
            ),
        )
        .await;
        match outcome {
            Ok(result) => {
                record_operation("tools/call", "ok", started);
                Ok(CallToolResult::structured(structured(result.value.output)).into())
            }
            Err(ToolError::UnknownTool(error)) => {
                record_operation("tools/call", "error", started);
                span.record("otel.status_code", "error");
                span.record("error.type", "unknown_tool");
                Err(rmcp::ErrorData::invalid_params(error.message, None))
            }
            Err(ToolError::NotConnected(link)) => {
                record_operation("tools/call", "input_required", started);
                input_requests::ask_to_connect(
                    &self.state,
                    caller,
                    outer.context,
                    &link,
                    outer.name,
                    outer.arguments,
                )
            }
            Err(ToolError::NeedsConfirmation { rule }) => {
                record_operation("tools/call", "input_required", started);
                // The tool's own arguments: the call's, or those `execute_tool` wraps.
                let shown = if outer.name == name {
                    outer.arguments
                } else {
                    outer.arguments.get("arguments").unwrap_or(&Value::Null)
                };
                input_requests::ask_to_confirm(
                    &self.state,
                    caller,
                    outer.context,
                    &rule,
                    (name, shown),
                    (outer.name, outer.arguments),
                )
            }
            Err(ToolError::Failed(error)) => {
                // A tool error is a JSON-RPC success (`isError: true`): only the span and the
                // metric's outcome tell.
                record_operation("tools/call", "tool_error", started);
                span.record("otel.status_code", "error");
                span.record("error.type", error.code.as_str());
                Ok(CallToolResult::structured_error(error_body(&error)).into())
            }
        }
    }
}

/// A tool error as the model reads it: the envelope's code, message and details.
fn error_body(error: &ApiError) -> Value {
    json!({
        "code": error.code,
        "message": error.message,
        "details": error.details,
    })
}

/// `mcp_operation_duration_seconds{method, outcome}`.
fn record_operation(method: &'static str, outcome: &'static str, started: std::time::Instant) {
    metrics::histogram!("mcp_operation_duration_seconds", "method" => method, "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
}

/// The span of one `tools/call`, named `tools/call {tool}` as the OpenTelemetry MCP
/// conventions say: a child of the `traceparent` in the request's `_meta` when the client sent
/// one, else of the HTTP request's span.
fn tool_span(
    http_span: &tracing::Span,
    context: &RequestContext<RoleServer>,
    tool: &str,
    tenant: &str,
) -> tracing::Span {
    // Telemetry on, and either the HTTP request is traced or the agent sent a trace of its own
    // to continue (the HTTP request's may have been dropped by the sampler).
    let meta = &context.meta;
    let traceparent = meta.get_traceparent();
    if !crate::telemetry::active() || (http_span.is_none() && traceparent.is_none()) {
        return tracing::Span::none();
    }
    let span = crate::telemetry::regardless_of_request(|| {
        crate::otel_span!(
            parent: http_span,
            "mcp tools/call",
            otel.name = format!("tools/call {tool}"),
            otel.kind = "server",
            mcp.method.name = "tools/call",
            gen_ai.operation.name = "execute_tool",
            gen_ai.tool.name = tool,
            jsonrpc.request.id = context.id.to_string(),
            tenant.id = tenant,
            otel.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
        )
    });
    crate::telemetry::continue_trace(&span, traceparent, meta.get_tracestate());
    span
}

/// Structured content must be an object: other outputs are wrapped as `{"result": ...}`.
fn structured(output: Value) -> Value {
    match output {
        Value::Object(_) => output,
        other => json!({ "result": other }),
    }
}

fn protocol_error(error: ApiError) -> rmcp::ErrorData {
    match error.code {
        ErrorCode::NotFound | ErrorCode::Validation => {
            rmcp::ErrorData::invalid_params(error.message, None)
        }
        _ => rmcp::ErrorData::internal_error(error.message, None),
    }
}

fn mcp_tool(view: ToolView) -> Tool {
    let object = |value: Value| match value {
        Value::Object(map) => Some(Arc::new(map)),
        _ => None,
    };
    let mut tool = Tool::new(
        view.name,
        view.description,
        object(view.input_schema).unwrap_or_default(),
    );
    tool.title = Some(view.title.clone());
    tool.output_schema = view.output_schema.and_then(object);
    let hints = view.annotations;
    tool.annotations = Some(
        ToolAnnotations::with_title(view.title)
            .read_only(hints.read_only)
            .destructive(hints.destructive)
            .idempotent(hints.idempotent)
            .open_world(hints.open_world),
    );
    tool
}
