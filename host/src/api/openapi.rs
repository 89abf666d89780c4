//! The OpenAPI 3.1 document, generated from the handlers and types themselves.

use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use super::ErrorCode;

/// The success envelope (documentation shape of [`super::Envelope`]).
#[derive(Serialize, ToSchema)]
pub struct Success<T> {
    /// Always `true`.
    pub ok: bool,
    /// The answer.
    pub data: T,
    /// The request's id (`X-Request-Id`), also sent as a header.
    pub request_id: String,
}

/// The error envelope (documentation shape of [`super::ApiError`]).
#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    /// Always `false`.
    pub ok: bool,
    /// What went wrong.
    pub error: ErrorDetail,
    /// The request's id (`X-Request-Id`), to quote when reporting it.
    pub request_id: String,
}

/// The `error` of an error envelope.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// The error code; each has one HTTP status (see the REST API guide).
    pub code: ErrorCode,
    /// What went wrong, in words a person can act on.
    pub message: String,
    /// Seconds to wait, on 429 and 503 (also sent as `Retry-After`).
    pub retry_after: Option<u64>,
    /// Machine-readable particulars: the failing field, the quota and its limit, schema issues.
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

/// The document's base: its info, the error schemas, the security schemes and the tags; the
/// operations come from the router (`documented_routes`).
#[derive(OpenApi)]
#[openapi(
    info(title = "connector-host REST API", version = "1", description = "One REST shape over many SaaS connectors: containers, items, comments. Every answer is an envelope with `ok`, `data` or `error`, and `request_id`."),
    components(schemas(ErrorEnvelope, ErrorDetail, ErrorCode)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "connections", description = "A tenant's connected SaaS accounts"),
        (name = "resources", description = "Containers, items and comments through a connection"),
        (name = "syncs", description = "Sync jobs and the changes feed of a connection"),
        (name = "webhooks", description = "Signed webhook deliveries to a tenant's endpoints (Standard Webhooks)"),
        (name = "tools", description = "A tenant's connections as typed tools for agents (also served over MCP at /mcp)"),
        (name = "mcp", description = "MCP clients a tenant authorized through the host's OAuth authorization server"),
        (name = "usage", description = "What a tenant used, by hour, day or month, connection and operation"),
        (name = "admin", description = "Operator API"),
    )
)]
pub struct ApiDoc;

/// The document: the base above with every operation the router serves (`documented_routes`).
pub fn document() -> utoipa::openapi::OpenApi {
    super::documented_routes().into_openapi()
}

/// The document as JSON text, built once.
pub fn json() -> &'static str {
    static JSON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    JSON.get_or_init(|| {
        document()
            .to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    })
}

/// Every error answer of an operation: the error envelope, with a 4XX or a 5XX status.
#[derive(utoipa::IntoResponses)]
pub enum ErrorResponses {
    /// The request was refused.
    #[response(status = "4XX", description = "error envelope")]
    Refused(#[to_schema] ErrorEnvelope),
    /// The host or the vendor failed.
    #[response(status = "5XX", description = "error envelope")]
    Failed(#[to_schema] ErrorEnvelope),
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_is_openapi_3_1_with_every_operation_and_scheme() {
        let doc: serde_json::Value = serde_json::from_str(super::json()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let paths = doc["paths"].as_object().unwrap();
        let operations: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
        // Every handler the REST router declares (`documented_routes`), one operation each.
        assert_eq!(operations, 84, "{:?}", paths.keys().collect::<Vec<_>>());
        for (path, item) in paths {
            for (method, operation) in item.as_object().unwrap() {
                let responses = operation["responses"].as_object().unwrap();
                assert!(responses.contains_key("4XX"), "{method} {path}");
                assert!(responses.contains_key("5XX"), "{method} {path}");
            }
        }
        assert!(doc["components"]["securitySchemes"]["tenant_key"].is_object());
        let create = &doc["paths"]["/api/v1/connections"]["post"];
        assert!(create["requestBody"].is_object());
        assert!(create["responses"]["201"].is_object());
        assert!(doc["components"]["schemas"]["CredentialsInput"].is_object());
        assert!(doc["components"]["schemas"]["ErrorEnvelope"].is_object());
    }
}
