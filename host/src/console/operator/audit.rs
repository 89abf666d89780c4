//! The host's audit log: plugin loads and refusals, rollbacks, unloads, key rotations.

use axum::extract::{Query, State};
use maud::{Markup, html};

use super::{ConsoleOperator, operator_page};
use crate::app::App;
use crate::console::audit::{AfterQuery, events_page, events_table};
use crate::console::layout::ConsoleError;
use crate::store::SYSTEM_TENANT;

/// `GET /console/operator/audit`.
pub async fn host_log(
    State(state): State<App>,
    operator: ConsoleOperator,
    Query(query): Query<AfterQuery>,
) -> Result<Markup, ConsoleError> {
    let (events, next) = events_page(&state, SYSTEM_TENANT, &query).await?;
    Ok(operator_page(
        "Host audit",
        &operator,
        html! {
            h1 { "Host audit log" }
            (events_table(&events, next, "/console/operator/audit"))
        },
    ))
}
