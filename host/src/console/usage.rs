//! `GET /console/usage`: the tenant's usage over the last 30 days, a bar chart of plugin calls
//! per day (drawn on the server as SVG: no script), the totals, the breakdown by connection and
//! the monthly limit.

use axum::extract::State;
use maud::{Markup, html};

use super::layout::{ConsoleError, page};
use super::session::ConsoleUser;
use crate::app::App;
use crate::app::usage::{Period, UsageBucket, UsageReport, report};

/// Chart size in SVG units (it scales to the page's width).
const WIDTH: u64 = 600;
const HEIGHT: u64 = 160;

/// `GET /console/usage`.
pub async fn show(State(state): State<App>, user: ConsoleUser) -> Result<Markup, ConsoleError> {
    let period =
        Period::parse(None, None, None).map_err(|e| ConsoleError::from(e).for_user(&user))?;
    let usage = report(&state, Some(&user.tenant), period)
        .await
        .map_err(|e| ConsoleError::from(e).for_user(&user))?;
    Ok(page("Usage", Some(&user), body(&usage)))
}

fn body(usage: &UsageReport) -> Markup {
    let totals = &usage.totals;
    html! {
        h1 { "Usage" }
        p class="hint" { "From " (usage.from) " to " (usage.to) " (UTC). The same figures: "
            code { "GET /api/v1/usage" } "." }
        @if let Some(limit) = &usage.limit {
            p { strong { (limit.used) } " of " (limit.monthly_calls)
                " plugin calls this month; the count starts again at " (limit.resets_at) "." }
        }
        h2 { "Plugin calls per day" }
        (chart(&usage.series))
        table {
            thead { tr { th scope="col" { "Plugin calls" } th scope="col" { "Failed" }
                th scope="col" { "Vendor requests" } th scope="col" { "Vendor bytes" }
                th scope="col" { "Tool calls" } th scope="col" { "Sync items" }
                th scope="col" { "Webhooks out" } th scope="col" { "Webhooks in" } } }
            tbody { tr {
                td { (totals.calls) } td { (totals.failed_calls) } td { (totals.egress_requests) }
                td { (totals.egress_bytes) } td { (totals.tool_invocations) } td { (totals.sync_items) }
                td { (totals.webhooks_delivered) } td { (totals.webhooks_received) }
            } }
        }
        h2 { "By connection" }
        @if usage.breakdown.is_empty() { p { "Nothing used in this period." } }
        @else {
            table {
                thead { tr { th scope="col" { "Connection" } th scope="col" { "Plugin calls" }
                    th scope="col" { "Vendor requests" } th scope="col" { "Tool calls" } } }
                tbody {
                    @for of in &usage.breakdown {
                        tr {
                            td { @if of.id.is_empty() { "(none)" } @else {
                                a href={ "/console/connections/" (of.id) } { (of.id) } } }
                            td { (of.totals.calls) } td { (of.totals.egress_requests) }
                            td { (of.totals.tool_invocations) }
                        }
                    }
                }
            }
        }
    }
}

/// One bar per bucket, its height the bucket's calls over the busiest bucket's; each bar
/// titled with its day and count (a tooltip, and text for screen readers).
fn chart(series: &[UsageBucket]) -> Markup {
    let most = series
        .iter()
        .map(|b| b.totals.calls)
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = WIDTH / (series.len() as u64).max(1);
    let bar = slot.saturating_sub(2).max(1);
    html! {
        svg class="usage-chart" role="img" aria-label="Plugin calls per day"
            viewBox={ "0 0 " (WIDTH) " " (HEIGHT + 2) } width="100%" {
            line x1="0" y1=(HEIGHT) x2=(WIDTH) y2=(HEIGHT) stroke="currentColor" stroke-width="1" {}
            @for (n, bucket) in series.iter().enumerate() {
                @let height = bucket.totals.calls * HEIGHT / most;
                rect x=(n as u64 * slot + 1) y=(HEIGHT - height) width=(bar) height=(height)
                    fill="currentColor" {
                    title { (bucket.start.get(..10).unwrap_or(&bucket.start)) ": " (bucket.totals.calls) " calls" }
                }
            }
        }
    }
}
