//! The tenant's audit log, written by every use case that changes something: a failure to
//! audit is logged, not turned into a failed request, since the change itself is durable.

use serde_json::json;

use super::App;
use super::callers::TenantCaller;
use crate::error::ApiError;
use crate::store::{AuditOutcome, NewAuditEvent};

/// Records an audit event; a failure to audit is logged, not turned into a failed request,
/// since the change itself is already durable.
pub async fn audit(
    state: &App,
    caller: &TenantCaller,
    action: &str,
    target: &str,
    details: serde_json::Value,
) {
    write_audit(
        state,
        caller,
        action,
        target,
        AuditOutcome::Success,
        details,
    )
    .await;
}

/// Records a refused or failed attempt with outcome `failure` and the reason the client got.
pub async fn audit_failure(
    state: &App,
    caller: &TenantCaller,
    action: &str,
    target: &str,
    error: &ApiError,
) {
    let details = json!({ "code": error.code, "reason": error.message });
    write_audit(
        state,
        caller,
        action,
        target,
        AuditOutcome::Failure,
        details,
    )
    .await;
}

async fn write_audit(
    state: &App,
    caller: &TenantCaller,
    action: &str,
    target: &str,
    outcome: AuditOutcome,
    details: serde_json::Value,
) {
    let event = NewAuditEvent {
        tenant: Some(&caller.tenant),
        actor: &caller.actor,
        action,
        target,
        outcome,
        details,
    };
    if let Err(error) = state.store.record_audit(event).await {
        tracing::error!(%error, action, target, "could not write the audit log");
    }
}
