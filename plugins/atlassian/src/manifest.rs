//! What the Atlassian connectors declare alike: both auth modes, hosts, config.

use connector_sdk::ConnectorInfoBuilder;
use connector_sdk::prelude::*;
use serde_json::json;

use crate::oauth_endpoints;

/// A manifest for an Atlassian Cloud product asking for `scopes` (plus `offline_access`),
/// left open so the product can declare its own actions before `build()`.
pub fn connector_info(
    id: &str,
    display_name: &str,
    version: &str,
    description: &str,
    scopes: &[&str],
) -> ConnectorInfoBuilder {
    ConnectorInfo::builder(id, display_name)
        .version(version)
        .description(description)
        .auth_method(AuthMethod::basic("api_token", "E-mail and API token"))
        .auth_method(
            AuthMethod::oauth2("oauth", "Atlassian OAuth 2.0 (3LO)", oauth_endpoints(scopes))
                .credential_host("api.atlassian.com"),
        )
        .requested_host("*.atlassian.net")
        .requested_host("api.atlassian.com")
        // The 3LO token endpoint: it receives the client secret and refresh tokens, so the
        // host requires it among the requested hosts.
        .requested_host("auth.atlassian.com")
        .origin_config_key("site_url")
        .config_schema(json!({
            "type": "object",
            "required": ["site_url"],
            "properties": {
                "site_url": {"type": "string", "format": "uri", "description": "https://your-domain.atlassian.net"},
                "api_url": {"type": "string", "format": "uri", "description": "OAuth gateway origin (default https://api.atlassian.com)"}
            }
        }))
}

/// Percent-encodes a query value or path segment (RFC 3986 unreserved characters kept).
pub fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}
