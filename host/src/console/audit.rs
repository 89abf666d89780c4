//! Audit logs: the tenant's own (`/console/audit`) and, for the operator, the host's; one
//! table for both, oldest first, 50 a page.

use axum::extract::{Query, State};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{ConsoleError, page};
use super::session::ConsoleUser;
use crate::app::App;
use crate::store::AuditEvent;

/// Events on a page.
const PAGE: usize = 50;
/// Longest details text shown in a row; the REST API has the whole value.
const MAX_DETAILS: usize = 200;

/// `?after=` of an audit page.
#[derive(Default, Deserialize)]
pub struct AfterQuery {
    after: Option<u64>,
}

/// One page of `tenant`'s log (`SYSTEM_TENANT` for the host's), and the `after` of the next.
pub async fn events_page(
    state: &App,
    tenant: &str,
    query: &AfterQuery,
) -> Result<(Vec<AuditEvent>, Option<u64>), ConsoleError> {
    let events = state.store.audit_events(tenant, query.after, PAGE).await?;
    let next = (events.len() == PAGE)
        .then(|| events.last().map(|e| e.seq))
        .flatten();
    Ok((events, next))
}

fn details_text(details: &serde_json::Value) -> String {
    if details.is_null() {
        return String::new();
    }
    let text = details.to_string();
    match text.char_indices().nth(MAX_DETAILS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// The table of a page of events, with a link to the next page under `base`.
pub fn events_table(events: &[AuditEvent], next: Option<u64>, base: &str) -> Markup {
    html! {
        table {
            thead { tr { th scope="col" { "When" } th scope="col" { "Action" } th scope="col" { "Target" } th scope="col" { "Who" } th scope="col" { "Outcome" } } }
            tbody {
                @for event in events {
                    tr {
                        td { (event.at) }
                        td {
                            (event.action)
                            @let details = details_text(&event.details);
                            @if !details.is_empty() { br; span class="hint" { code { (details) } } }
                        }
                        td { (event.target) }
                        td { (event.actor) }
                        td { (format!("{:?}", event.outcome).to_lowercase()) }
                    }
                }
            }
        }
        @if events.is_empty() { p { "Nothing recorded yet." } }
        @if let Some(after) = next { p { a href={ (base) "?after=" (after) } { "Next page" } } }
    }
}

/// `GET /console/audit`: the tenant's audit log.
pub async fn tenant_log(
    State(state): State<App>,
    user: ConsoleUser,
    Query(query): Query<AfterQuery>,
) -> Result<Markup, ConsoleError> {
    let (events, next) = events_page(&state, &user.tenant, &query)
        .await
        .map_err(|e| e.for_user(&user))?;
    Ok(page(
        "Audit log",
        Some(&user),
        html! {
            h1 { "Audit log" }
            (events_table(&events, next, "/console/audit"))
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::details_text;

    #[test]
    fn details_are_shown_short() {
        assert_eq!(details_text(&serde_json::Value::Null), "");
        assert_eq!(details_text(&serde_json::json!({"a": 1})), r#"{"a":1}"#);
        let long = serde_json::json!({ "reason": "é".repeat(400) });
        let shown = details_text(&long);
        assert_eq!(shown.chars().count(), 201);
        assert!(shown.ends_with('…'));
    }
}
