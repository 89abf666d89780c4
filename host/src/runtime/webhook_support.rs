//! What a connector declares about the vendor's webhooks (contract 0.3.0): how deliveries are
//! signed, whose secret signs them, where the delivery id is. Checked at load; the receiver
//! verifies deliveries by this declaration before a plugin sees them.

use anyhow::bail;
use serde::Serialize;

use super::contract::wit::connector::plugin::manifest as wit;

/// Longest tolerance a declaration may give replayed deliveries.
const MAX_TOLERANCE_SECS: u32 = 3_600;

/// A connector's webhook declaration, in the shape the REST API shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebhookManifest {
    /// How deliveries are signed.
    pub signature: WebhookSignatureManifest,
    /// `connection` or `app`.
    #[schema(value_type = String)]
    pub secret_source: &'static str,
    /// The header that carries a delivery's id, for dropping replays.
    pub delivery_id_header: Option<String>,
    /// The event types the connector handles.
    pub events: Vec<String>,
    /// Whether the host registers the webhook at the vendor.
    pub registration: bool,
}

/// How deliveries are signed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WebhookSignatureManifest {
    /// HMAC-SHA256 over a template of the delivery.
    HmacSha256 {
        /// The header that carries the signature.
        header: String,
        /// What precedes the signature in the header (`sha256=`).
        prefix: String,
        /// `hex` or `base64`.
        #[schema(value_type = String)]
        encoding: &'static str,
        /// The template of the signed text (`v0:{timestamp}:{body}`).
        signed_content: String,
        /// The header that carries the timestamp, when the signature covers one.
        timestamp_header: Option<String>,
        /// How old a timestamp may be.
        tolerance_secs: u32,
    },
    /// An HS256 JSON Web Token.
    JwtHs256 {
        /// The header that carries the token.
        header: String,
        /// What precedes the token in the header (`JWT `).
        prefix: String,
        /// The issuer the token must name.
        issuer: Option<String>,
    },
}

impl WebhookManifest {
    pub(crate) fn from_wit(support: wit::WebhookSupport) -> anyhow::Result<Self> {
        let signature = match support.signature {
            wit::WebhookSignature::HmacSha256(hmac) => {
                header_name(&hmac.header)?;
                if !hmac.signed_content.contains("{body}") {
                    bail!("webhooks: signed-content must include `{{body}}`");
                }
                check_placeholders(&hmac.signed_content)?;
                let uses_timestamp = hmac.signed_content.contains("{timestamp}");
                match &hmac.timestamp_header {
                    Some(name) => header_name(name)?,
                    None if uses_timestamp => {
                        bail!(
                            "webhooks: signed-content uses `{{timestamp}}` but no timestamp-header is declared"
                        )
                    }
                    None => {}
                }
                if hmac.timestamp_header.is_some()
                    && !(1..=MAX_TOLERANCE_SECS).contains(&hmac.tolerance_secs)
                {
                    bail!("webhooks: tolerance-secs must be 1 to {MAX_TOLERANCE_SECS}");
                }
                WebhookSignatureManifest::HmacSha256 {
                    header: hmac.header.to_ascii_lowercase(),
                    prefix: hmac.prefix,
                    encoding: match hmac.encoding {
                        wit::SignatureEncoding::Hex => "hex",
                        wit::SignatureEncoding::Base64 => "base64",
                    },
                    signed_content: hmac.signed_content,
                    timestamp_header: hmac.timestamp_header.map(|h| h.to_ascii_lowercase()),
                    tolerance_secs: hmac.tolerance_secs,
                }
            }
            wit::WebhookSignature::JwtHs256(jwt) => {
                header_name(&jwt.header)?;
                WebhookSignatureManifest::JwtHs256 {
                    header: jwt.header.to_ascii_lowercase(),
                    prefix: jwt.prefix,
                    issuer: jwt.issuer,
                }
            }
        };
        if let Some(name) = &support.delivery_id_header {
            header_name(name)?;
        }
        Ok(Self {
            signature,
            secret_source: match support.secret_source {
                wit::WebhookSecretSource::Connection => "connection",
                wit::WebhookSecretSource::App => "app",
            },
            delivery_id_header: support.delivery_id_header.map(|h| h.to_ascii_lowercase()),
            events: support.events,
            registration: support.registration,
        })
    }
}

fn header_name(name: &str) -> anyhow::Result<()> {
    if name.is_empty() || axum::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        bail!("webhooks: `{name}` is not a header name");
    }
    Ok(())
}

/// Only `{body}`, `{timestamp}` and `{header:<name>}` may appear in braces.
fn check_placeholders(template: &str) -> anyhow::Result<()> {
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            bail!("webhooks: unclosed `{{` in signed-content");
        };
        let placeholder = &rest[start + 1..start + len];
        let known = matches!(placeholder, "body" | "timestamp")
            || placeholder
                .strip_prefix("header:")
                .is_some_and(|name| header_name(name).is_ok());
        if !known {
            bail!("webhooks: unknown placeholder `{{{placeholder}}}` in signed-content");
        }
        rest = &rest[start + len + 1..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hmac(content: &str, timestamp: Option<&str>, tolerance: u32) -> wit::WebhookSupport {
        wit::WebhookSupport {
            signature: wit::WebhookSignature::HmacSha256(wit::HmacSignature {
                header: "X-Slack-Signature".into(),
                prefix: "v0=".into(),
                encoding: wit::SignatureEncoding::Hex,
                signed_content: content.into(),
                timestamp_header: timestamp.map(str::to_owned),
                tolerance_secs: tolerance,
            }),
            secret_source: wit::WebhookSecretSource::App,
            delivery_id_header: None,
            events: vec!["message".into()],
            registration: false,
        }
    }

    #[test]
    fn slack_and_github_styles_are_accepted() {
        let slack = WebhookManifest::from_wit(hmac(
            "v0:{timestamp}:{body}",
            Some("X-Slack-Request-Timestamp"),
            300,
        ))
        .unwrap();
        assert!(matches!(
            slack.signature,
            WebhookSignatureManifest::HmacSha256 { ref header, .. } if header == "x-slack-signature"
        ));
        assert!(WebhookManifest::from_wit(hmac("{body}", None, 0)).is_ok());
    }

    #[test]
    fn declarations_that_cannot_be_verified_are_refused() {
        for (content, timestamp, tolerance) in [
            ("{timestamp}", Some("x-ts"), 300),
            ("v0:{timestamp}:{body}", None, 0),
            ("{body}{secret}", None, 0),
            ("{body}", Some("x-ts"), 0),
            ("{body}", Some("x-ts"), 86_400),
        ] {
            assert!(
                WebhookManifest::from_wit(hmac(content, timestamp, tolerance)).is_err(),
                "{content}"
            );
        }
    }
}
