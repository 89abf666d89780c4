//! Behavioural fakes: stateful axum servers bound to 127.0.0.1 that stop when dropped.

pub mod asana;
pub mod atlassian_auth;
mod confluence;
pub mod datadog;
pub mod figma;
pub mod github;
mod jira;
pub mod notion;
pub mod oauth_server;
mod otlp_collector;
pub mod pagerduty;
pub mod probe_vendor;
pub mod realistic;
mod recorder;
pub mod salesforce;
mod serve;
pub mod slack;
mod slow_vendor;
mod sync_vendor;
mod tracker;
pub mod trello;
mod webhook_receiver;
pub mod zendesk;

pub use asana::AsanaFake;
pub use confluence::ConfluenceFake;
pub use datadog::DatadogFake;
pub use figma::FigmaFake;
pub use github::GitHubFake;
pub use jira::JiraFake;
pub use notion::NotionFake;
pub use oauth_server::OAuthServer;
pub use otlp_collector::{CollectedMetrics, CollectedSpan, OtlpCollector};
pub use pagerduty::PagerDutyFake;
pub use probe_vendor::ProbeVendor;
pub use realistic::RealisticVendor;
pub use recorder::{RecordedRequest, Recorder};
pub use salesforce::SalesforceFake;
pub use serve::FakeServer;
pub use slack::SlackFake;
pub use slow_vendor::SlowVendor;
pub use sync_vendor::{SYNC_CONTAINER, SyncVendor};
pub use tracker::{TRACKER_TOKEN, TrackerFake};
pub use trello::TrelloFake;
pub use webhook_receiver::{ReceivedDelivery, WebhookReceiver};
pub use zendesk::ZendeskFake;

/// The seeded vendors' clock: 2026-11-01T09:00:00Z plus `hours`, as RFC 3339 UTC with
/// milliseconds (Asana, Trello) or whole seconds (PagerDuty, Zendesk), as each vendor writes.
pub(crate) fn hours_after_seed(hours: usize, millis: bool) -> String {
    let at =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_793_523_600 + hours as u64 * 3600);
    if millis {
        humantime::format_rfc3339_millis(at).to_string()
    } else {
        humantime::format_rfc3339_seconds(at).to_string()
    }
}

/// The token of an `Authorization: Bearer` header, as the vendors read it.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::to_owned)
}
