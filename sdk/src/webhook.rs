//! Incoming vendor webhooks: declare how the vendor signs deliveries with [`WebhookSupport`]
//! (the host verifies them with a secret your plugin never sees), then turn each verified
//! [`Delivery`] into change events in [`crate::Connector::webhook_event`].
//!
//! ```
//! use connector_sdk::webhook::WebhookSupport;
//! // GitHub: `X-Hub-Signature-256: sha256=<hex HMAC of the body>`, one secret per hook.
//! let github = WebhookSupport::hmac_body("x-hub-signature-256", "sha256=")
//!     .delivery_id_header("x-github-delivery")
//!     .events(&["issues", "issue_comment"])
//!     .registration();
//! // Slack: `v0=<hex HMAC of "v0:{timestamp}:{body}">`, the app's signing secret.
//! let slack = WebhookSupport::hmac_template(
//!     "x-slack-signature", "v0=", "v0:{timestamp}:{body}",
//!     "x-slack-request-timestamp", 300,
//! ).app_secret();
//! assert!(github.registration && !slack.registration);
//! ```

use serde::de::DeserializeOwned;

pub use crate::bindings::connector::plugin::manifest::{
    HmacSignature, JwtSignature, SignatureEncoding, WebhookSecretSource, WebhookSignature,
    WebhookSupport,
};
pub use crate::bindings::connector::plugin::webhooks::{
    Delivery, Outcome, Registration, Reply, Target,
};
use crate::{ChangeEvent, ConnectorError};

impl WebhookSupport {
    fn with(signature: WebhookSignature) -> Self {
        Self {
            signature,
            secret_source: WebhookSecretSource::Connection,
            delivery_id_header: None,
            events: Vec::new(),
            registration: false,
        }
    }

    /// A hex HMAC-SHA256 of the raw body in `header`, after `prefix` (GitHub).
    pub fn hmac_body(header: &str, prefix: &str) -> Self {
        Self::with(WebhookSignature::HmacSha256(HmacSignature {
            header: header.to_owned(),
            prefix: prefix.to_owned(),
            encoding: SignatureEncoding::Hex,
            signed_content: "{body}".to_owned(),
            timestamp_header: None,
            tolerance_secs: 0,
        }))
    }

    /// A hex HMAC-SHA256 of `template` (with `{timestamp}`, `{body}`, `{header:<name>}`), the
    /// timestamp read from `timestamp_header` and refused when further than `tolerance_secs`
    /// from now (Slack).
    pub fn hmac_template(
        header: &str,
        prefix: &str,
        template: &str,
        timestamp_header: &str,
        tolerance_secs: u32,
    ) -> Self {
        Self::with(WebhookSignature::HmacSha256(HmacSignature {
            header: header.to_owned(),
            prefix: prefix.to_owned(),
            encoding: SignatureEncoding::Hex,
            signed_content: template.to_owned(),
            timestamp_header: Some(timestamp_header.to_owned()),
            tolerance_secs,
        }))
    }

    /// An HS256 JWT in `header`, after `prefix` (Atlassian OAuth apps).
    pub fn jwt(header: &str, prefix: &str) -> Self {
        Self::with(WebhookSignature::JwtHs256(JwtSignature {
            header: header.to_owned(),
            prefix: prefix.to_owned(),
            issuer: None,
        }))
    }

    /// Signed with the operator's app secret rather than one per connection.
    pub fn app_secret(mut self) -> Self {
        self.secret_source = WebhookSecretSource::App;
        self
    }

    /// The header with the vendor's delivery id, for deduplication.
    pub fn delivery_id_header(mut self, header: &str) -> Self {
        self.delivery_id_header = Some(header.to_owned());
        self
    }

    /// The vendor event names the connector handles.
    pub fn events(mut self, events: &[&str]) -> Self {
        self.events = events.iter().map(|e| (*e).to_owned()).collect();
        self
    }

    /// The connector implements `register_webhook` and `unregister_webhook`.
    pub fn registration(mut self) -> Self {
        self.registration = true;
        self
    }
}

impl Delivery {
    /// First value of a header (names are lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body decoded as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ConnectorError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            ConnectorError::permanent(format!("the delivery is not the JSON expected: {e}"))
        })
    }
}

impl Outcome {
    /// These events, with an empty `200` answer.
    pub fn events(events: Vec<ChangeEvent>) -> Self {
        Self {
            reply: None,
            routing_key: None,
            delivery_id: None,
            events,
        }
    }

    /// Nothing to report (an event type the connector ignores).
    pub fn ignored() -> Self {
        Self::events(Vec::new())
    }

    /// Answers the vendor with this JSON instead of an empty `200` (a verification challenge).
    pub fn reply_json(mut self, body: &serde_json::Value) -> Self {
        self.reply = Some(Reply {
            status: 200,
            content_type: "application/json".to_owned(),
            body: body.to_string().into_bytes(),
        });
        self
    }

    /// The key the host matches to a connection, for app-signed deliveries.
    pub fn routed_by(mut self, key: impl Into<String>) -> Self {
        self.routing_key = Some(key.into());
        self
    }

    /// The vendor's delivery id, when it is in the payload.
    pub fn delivery_id(mut self, id: impl Into<String>) -> Self {
        self.delivery_id = Some(id.into());
        self
    }
}
