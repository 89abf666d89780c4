//! Receiving one vendor delivery: find whose it is, throttle, cap, verify, drop replays, queue
//! it durably, and give the plugin a short while to answer (Slack's `url_verification` needs
//! the plugin's reply); past that the vendor gets 202 and the worker processes it.

use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::VendorWebhooks;
use super::process;
use super::settings::VendorWebhookSettings;
use super::verify::{VerifyError, verify};
use crate::cluster_view::{ClusterView, check_shared_rate};
use crate::store::{InboundDelivery, StoreError, WebhookRoute, unix_now_ms};

/// The route of app-signed deliveries (`/webhooks/v1/slack/app`): the plugin reads the
/// routing key from the payload.
pub const APP_ROUTE: &str = "app";

/// Headers never handed to the plugin.
const DROPPED_HEADERS: &[&str] = &["authorization", "cookie", "proxy-authorization"];

/// The per-route limiter of verified deliveries, shared by the receiver (which checks it) and
/// the worker (which prunes it).
pub struct Inbound {
    limiter: DefaultKeyedRateLimiter<String>,
    /// The hosts the route rate is shared by.
    cluster: Arc<ClusterView>,
}

impl Inbound {
    /// The limiter for `settings`, its rate shared by the hosts `cluster` counts.
    pub fn new(settings: &VendorWebhookSettings, cluster: Arc<ClusterView>) -> Arc<Self> {
        let rate = std::num::NonZeroU32::new(settings.per_route_per_second.max(1))
            .unwrap_or(std::num::NonZeroU32::MIN);
        let burst = std::num::NonZeroU32::new(settings.per_route_burst.max(1))
            .unwrap_or(std::num::NonZeroU32::MIN);
        Arc::new(Self {
            limiter: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            cluster,
        })
    }

    /// Forgets routes whose allowance is full again, so the limiter holds only busy routes.
    pub fn prune(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// What to answer the vendor.
#[derive(Debug)]
pub struct Received {
    /// The HTTP status.
    pub status: u16,
    /// The content type.
    pub content_type: String,
    /// The body.
    pub body: Vec<u8>,
}

impl Received {
    fn ok(text: &str) -> Self {
        Self {
            status: 200,
            content_type: "application/json".into(),
            body: serde_json::json!({"ok": true, "data": {"status": text}})
                .to_string()
                .into_bytes(),
        }
    }
}

/// Why a delivery was refused; nothing of it reached the plugin.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The path is not one this host could have handed out (length or characters), or names
    /// no loaded connector that takes webhooks; answered the same way, with no lookup.
    #[error("no such webhook route")]
    UnknownConnector,
    /// No such connector or route.
    #[error("no such webhook route")]
    UnknownRoute,
    /// The body is over the limit (bytes).
    #[error("the delivery is larger than {0} bytes")]
    TooLarge(usize),
    /// This source address is over its rate.
    #[error("too many requests from this address; slow down")]
    SourceThrottled,
    /// This route is over its rate.
    #[error("too many deliveries on this route; slow down")]
    Throttled,
    /// The signature does not verify.
    #[error("{0}")]
    Unverified(#[source] VerifyError),
    /// The store failed.
    #[error("storage failed")]
    Store(#[from] StoreError),
}

impl Refusal {
    /// The metrics label.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::UnknownConnector => "unknown_connector",
            Self::UnknownRoute => "unknown_route",
            Self::TooLarge(_) => "too_large",
            Self::SourceThrottled => "source_throttled",
            Self::Throttled => "throttled",
            Self::Unverified(error) => error.reason(),
            Self::Store(_) => "store",
        }
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Longest connector id in a receiver path (plugin ids are short slugs).
const MAX_CONNECTOR_LEN: usize = 64;
/// Longest route token: `app`, or 43 characters of URL-safe base64 from 32 random bytes.
const MAX_ROUTE_LEN: usize = 64;

/// Whether a path segment could be one the host hands out: ASCII letters, digits, `-` and
/// `_` (plugin ids and URL-safe base64 route tokens), 1 to `max` long.
fn plausible_segment(segment: &str, max: usize) -> bool {
    (1..=max).contains(&segment.len())
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Receives one delivery for `connector` on `route`, from `source` (the peer address).
///
/// Anyone can call this, so before any lookup the path segments are checked for shape and the
/// source for its allowance; a refusal is counted under fixed labels (the connector's id only
/// when it names a loaded plugin) and logged by a sampled line, never written to the store.
pub async fn receive(
    state: &VendorWebhooks,
    source: Option<std::net::IpAddr>,
    connector: &str,
    route: &str,
    headers: Vec<(String, String)>,
    body: &[u8],
) -> Result<Received, Refusal> {
    let mut plugin = None;
    let result = if !plausible_segment(connector, MAX_CONNECTOR_LEN)
        || !plausible_segment(route, MAX_ROUTE_LEN)
    {
        Err(Refusal::UnknownConnector)
    } else if !state.sources.admit(source) {
        Err(Refusal::SourceThrottled)
    } else {
        plugin = state.runtime.plugin(connector);
        match &plugin {
            Some(found) => receive_checked(state, found, route, headers, body).await,
            None => Err(Refusal::UnknownConnector),
        }
    };
    let outcome = match &result {
        Ok(_) => "accepted",
        Err(refusal) => refusal.reason(),
    };
    // A label is a loaded plugin's id or `unknown`: never a raw path segment.
    let label = plugin.map_or_else(|| "unknown".to_owned(), |p| p.id().to_owned());
    metrics::counter!("vendor_webhook_deliveries_total", "connector" => label, "outcome" => outcome)
        .increment(1);
    if let Err(refusal) = &result {
        crate::source_limit::refused(&state.refusal_log, "vendor_webhook", refusal.reason());
    }
    result
}

async fn receive_checked(
    state: &VendorWebhooks,
    plugin: &crate::runtime::Plugin,
    route: &str,
    headers: Vec<(String, String)>,
    body: &[u8],
) -> Result<Received, Refusal> {
    let settings = &state.settings;
    let connector = plugin.id();
    let manifest = plugin
        .manifest
        .webhooks
        .clone()
        .ok_or(Refusal::UnknownConnector)?;
    if body.len() > settings.max_body_bytes {
        return Err(Refusal::TooLarge(settings.max_body_bytes));
    }
    let (owner, secret): (Option<WebhookRoute>, String) = if manifest.secret_source == "app" {
        if route != APP_ROUTE {
            return Err(Refusal::UnknownRoute);
        }
        let secret = settings
            .app_secrets
            .get(connector)
            .map(|secret| secret.expose().to_owned())
            .ok_or(Refusal::UnknownRoute)?;
        (None, secret)
    } else {
        let owner = state
            .store
            .webhook_route(route)
            .await?
            .filter(|r| r.connector == connector)
            .ok_or(Refusal::UnknownRoute)?;
        let secret = state
            .store
            .registration_secret(&owner.tenant, &owner.connection, &owner.registration)
            .await?;
        (Some(owner), secret)
    };
    let now_ms = unix_now_ms();
    let verified = verify(
        &manifest.signature,
        secret.as_bytes(),
        &headers,
        body,
        now_ms / 1000,
    )
    .map_err(Refusal::Unverified)?;
    drop(secret);
    // Only verified deliveries count against a route, so unsigned posts cannot spend the
    // budget of a shared app route that every tenant's genuine deliveries come through.
    let scope = format!("{connector}/{route}");
    if check_shared_rate(&state.inbound.limiter, &scope, &state.inbound.cluster).is_err() {
        return Err(Refusal::Throttled);
    }
    let window_end = now_ms + settings.dedup_window.as_millis() as u64;
    let delivery_id = manifest
        .delivery_id_header
        .as_deref()
        .and_then(|name| header(&headers, name))
        .map(str::to_owned);
    // A replay is a delivery id seen before, or a signature seen before: a captured delivery
    // sent again under a fresh delivery id (or a captured JWT with another body).
    let signature_seen = !state
        .store
        .first_delivery(
            &format!("{connector}/signature"),
            &verified.signature_id,
            now_ms,
            window_end,
        )
        .await?;
    let id_seen = match &delivery_id {
        Some(id) => {
            !state
                .store
                .first_delivery(&scope, id, now_ms, window_end)
                .await?
        }
        None => false,
    };
    if signature_seen || id_seen {
        metrics::counter!("vendor_webhook_deliveries_total", "connector" => plugin.id().to_owned(), "outcome" => "replayed")
            .increment(1);
        return Ok(Received::ok("duplicate"));
    }
    let kept: Vec<(String, String)> = headers
        .into_iter()
        .filter(|(name, _)| !DROPPED_HEADERS.contains(&name.to_ascii_lowercase().as_str()))
        .collect();
    let delivery = InboundDelivery::new(
        state.store.next_inbound_seq().await?,
        connector,
        owner,
        kept,
        body,
        delivery_id,
        now_ms,
    );
    state.store.queue_inbound(&delivery).await?;
    match tokio::time::timeout(settings.answer_within, process::process(state, &delivery)).await {
        Ok(Ok(reply)) => {
            state.store.take_inbound(delivery.seq).await?;
            Ok(match reply {
                Some(reply) => Received {
                    status: reply.status,
                    content_type: reply.content_type,
                    body: reply.body,
                },
                None => Received::ok("processed"),
            })
        }
        Ok(Err(error)) => {
            tracing::info!(connector, %error, "webhook delivery queued for another attempt");
            state.background.inbound.notify_one();
            Ok(Received {
                status: 202,
                ..Received::ok("queued")
            })
        }
        Err(_) => {
            state.background.inbound.notify_one();
            Ok(Received {
                status: 202,
                ..Received::ok("queued")
            })
        }
    }
}
