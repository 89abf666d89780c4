//! `GET /api/v1/connections/{id}/changes`: the connection's change events in commit order,
//! resumable from an opaque cursor, within the retention window.

use axum::extract::{Query, State};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::extract::ApiPath;
use super::openapi::{ErrorEnvelope, ErrorResponses, Success};
use super::{ApiError, App, Envelope, ErrorCode};
use crate::app::callers::TenantCaller;
use crate::store::ChangeEvent;

const CURSOR_PREFIX: &str = "changes:1:";

#[derive(Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    /// `next_cursor` of an earlier page; none: from the oldest event kept.
    pub cursor: Option<String>,
    /// Default 100, at most 1000.
    pub limit: Option<u32>,
}

/// A page of the feed. `next_cursor` is always set: pass it back to resume after the last
/// event (or, on an empty page, where this one started).
#[derive(Serialize, utoipa::ToSchema)]
pub struct ChangesPageView {
    pub entries: Vec<ChangeEvent>,
    pub next_cursor: String,
    /// More events are waiting after this page.
    pub has_more: bool,
}

fn encode(seq: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{seq}"))
}

fn decode(cursor: &str) -> Result<u64, ApiError> {
    let invalid = || ApiError::new(ErrorCode::Validation, "cursor is not a changes cursor");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix(CURSOR_PREFIX)
        .and_then(|n| n.parse().ok())
        .ok_or_else(invalid)
}

/// `GET .../changes`.
#[utoipa::path(get, path = "/api/v1/connections/{id}/changes", tag = "syncs", params(("id" = String, Path, description = "connection id"), ChangesQuery), responses((status = 200, description = "change events in order", body = Success<ChangesPageView>), (status = 410, description = "CURSOR_EXPIRED: the cursor is older than the retention window", body = ErrorEnvelope), ErrorResponses), security(("tenant_key" = [])))]
pub async fn list(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(id): ApiPath<String>,
    Query(query): Query<ChangesQuery>,
) -> Result<Envelope<ChangesPageView>, ApiError> {
    crate::connection::load(&state, &caller.tenant, &id).await?;
    let limit = match query.limit.unwrap_or(100) {
        n @ 1..=1000 => n as usize,
        _ => {
            return Err(ApiError::new(
                ErrorCode::Validation,
                "limit must be between 1 and 1000",
            ));
        }
    };
    let floor = state.store.changes_floor(&caller.tenant, &id).await?;
    let after = match query.cursor.as_deref() {
        Some(cursor) => {
            let after = decode(cursor)?;
            if after > state.store.last_change(&caller.tenant, &id).await? {
                return Err(ApiError::new(
                    ErrorCode::Validation,
                    "cursor is not a cursor of this connection's feed",
                ));
            }
            if after < floor {
                let days = state.syncs.settings.changes_retention.as_secs() / 86_400;
                return Err(ApiError::new(
                    ErrorCode::CursorExpired,
                    format!(
                        "the cursor is older than the feed keeps (events are kept for {days} days); read the feed again without a cursor"
                    ),
                ));
            }
            after
        }
        None => floor,
    };
    let page = state
        .store
        .changes(&caller.tenant, &id, after, limit)
        .await?;
    let last = page.entries.last().map_or(after, |(seq, _)| *seq);
    Ok(Envelope::ok(ChangesPageView {
        entries: page.entries.into_iter().map(|(_, event)| event).collect(),
        next_cursor: encode(last),
        has_more: page.has_more,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        assert_eq!(decode(&encode(42)).unwrap(), 42);
        assert!(decode("not-a-cursor").is_err());
        assert!(decode(&URL_SAFE_NO_PAD.encode("changes:1:x")).is_err());
    }
}
