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

/// The token of an `Authorization: Bearer` header, as the vendors read it.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::to_owned)
}
