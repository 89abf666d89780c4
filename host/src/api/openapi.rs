//! The OpenAPI 3.1 document, generated from the handlers and types themselves.

use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use super::ErrorCode;

/// The success envelope (documentation shape of [`super::Envelope`]).
#[derive(Serialize, ToSchema)]
pub struct Success<T> {
    pub ok: bool,
    pub data: T,
    pub request_id: String,
}

/// The error envelope (documentation shape of [`super::ApiError`]).
#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub ok: bool,
    pub error: ErrorDetail,
    pub request_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
    /// Seconds to wait, on 429 and 503 (also sent as `Retry-After`).
    pub retry_after: Option<u64>,
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme(
            "tenant_key",
            bearer("A tenant API key (`chk_...`), issued by the operator"),
        );
        components.add_security_scheme("admin_token", bearer("The operator's admin token"));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "connector-host REST API", version = "1", description = "One REST shape over many SaaS connectors: containers, items, comments. Every answer is an envelope with `ok`, `data` or `error`, and `request_id`."),
    paths(
        super::health::healthz, super::health::readyz,
        super::admin::create_tenant, super::admin::list_tenants, super::admin::issue_key, super::admin::rotate_keys,
        super::connectors::list, super::connectors::get,
        super::connections::create, super::connections::list, super::connections::get, super::connections::patch,
        super::connections::delete, super::connections::validate,
        super::resources::containers, super::resources::items, super::resources::item, super::resources::comments,
        super::resources::search, super::resources::create_item, super::resources::create_comment, super::resources::update_item,
        super::actions::list, super::actions::invoke,
        super::tools::list, super::tools::invoke_tool,
        super::cursors::list, super::cursors::get, super::cursors::put, super::cursors::delete,
        super::audit::list, super::audit::admin_list,
        super::plugins::list, super::plugins::get, super::plugins::upload, super::plugins::rollback, super::plugins::unload,
        super::oauth::put_app, super::oauth::authorize, super::oauth::start, super::oauth::callback_browser, super::oauth::callback_client,
        super::api_keys::list, super::api_keys::revoke, super::api_keys::rotate,
        super::tenant_settings::get, super::tenant_settings::put,
        super::syncs::create, super::syncs::list, super::syncs::get, super::syncs::patch, super::syncs::pause,
        super::syncs::resume, super::syncs::run, super::syncs::delete, super::syncs::runs, super::changes::list,
        super::webhook_endpoints::create, super::webhook_endpoints::list, super::webhook_endpoints::get,
        super::webhook_endpoints::patch, super::webhook_endpoints::delete, super::webhook_endpoints::rotate,
        super::webhook_endpoints::test, super::webhook_endpoints::deliveries, super::webhook_endpoints::delivery,
        super::webhook_endpoints::replay,
        super::vendor_webhooks::receive, super::vendor_webhooks::register, super::vendor_webhooks::list,
        super::vendor_webhooks::unregister,
    ),
    components(schemas(ErrorEnvelope, ErrorDetail, ErrorCode)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "connections", description = "A tenant's connected SaaS accounts"),
        (name = "resources", description = "Containers, items and comments through a connection"),
        (name = "syncs", description = "Sync jobs and the changes feed of a connection"),
        (name = "webhooks", description = "Signed webhook deliveries to a tenant's endpoints (Standard Webhooks)"),
        (name = "tools", description = "A tenant's connections as typed tools for agents (also served over MCP at /mcp)"),
        (name = "admin", description = "Operator API"),
    )
)]
pub struct ApiDoc;

/// The document as JSON text.
pub fn json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_is_openapi_3_1_with_every_route_and_scheme() {
        let doc: serde_json::Value = serde_json::from_str(&super::json()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let paths = doc["paths"].as_object().unwrap();
        for path in [
            "/api/v1/connections",
            "/api/v1/connections/{id}",
            "/api/v1/connections/{id}/containers/{container}/items",
            "/api/v1/connections/{id}/cursors/{stream}",
            "/admin/v1/tenants/{tenant}/api-keys",
            "/api/v1/audit",
            "/api/v1/connections/{id}/actions/{name}",
            "/api/v1/tools",
            "/api/v1/tools/invoke",
            "/api/v1/connections/{id}/syncs/{sid}/runs",
            "/api/v1/connections/{id}/changes",
            "/api/v1/webhook-endpoints/{eid}/deliveries/{did}/replay",
        ] {
            assert!(paths.contains_key(path), "{path} is documented");
        }
        assert!(doc["components"]["securitySchemes"]["tenant_key"].is_object());
        let create = &doc["paths"]["/api/v1/connections"]["post"];
        assert!(create["requestBody"].is_object());
        assert!(create["responses"]["201"].is_object());
        assert!(doc["components"]["schemas"]["CredentialsInput"].is_object());
    }
}
