//! The connection's status, kept current from each call's outcome: `invalid_credentials` or
//! `needs_reauth` when the vendor rejects the credential, `active` again on success.

use crate::runtime::CallError;
use crate::runtime::wit::ConnectorError;
use crate::services::Services;
use crate::store::{ConnectionRecord, ConnectionStatus, CredentialType, now_rfc3339};

/// Moves the connection to `invalid_credentials` when the vendor rejects the credential, back
/// to `active` on success, and records the last error and success. Writes only on change, or
/// at most once a minute for the success time, to keep reads cheap. Only the status fields are
/// written, onto the record as it is in the store at that moment, so a slow call can never
/// revert a PATCH that landed while it ran.
pub async fn track_status<T>(
    state: &Services,
    record: ConnectionRecord,
    result: &Result<T, CallError>,
) -> ConnectionRecord {
    let now = now_rfc3339();
    let update = match result {
        Ok(_) => Some((ConnectionStatus::Active, None)),
        Err(CallError::Connector(ConnectorError::Unauthorized(message))) => {
            let status = if record.credential_type == CredentialType::Oauth2 {
                ConnectionStatus::NeedsReauth
            } else {
                ConnectionStatus::InvalidCredentials
            };
            Some((
                status,
                Some(format!("the vendor rejected the credential: {message}")),
            ))
        }
        Err(_) => None,
    };
    let Some((status, last_error)) = update else {
        return record;
    };
    let success = status == ConnectionStatus::Active;
    let changed = |current: &ConnectionRecord| {
        let stale = success
            && current
                .last_success_at
                .as_deref()
                .is_none_or(|t| seconds_between(t, &now) >= 60);
        current.status != status || current.last_error != last_error || stale
    };
    if !changed(&record) {
        return record;
    }
    let outcome = state
        .store
        .update_status(&record.tenant, &record.id, |current| {
            if !changed(current) {
                return false;
            }
            current.status = status;
            current.last_error = last_error.clone();
            if success {
                current.last_success_at = Some(now.clone());
            }
            current.updated_at = now.clone();
            true
        })
        .await;
    match outcome {
        Ok(Some(current)) => current,
        Ok(None) => record,
        Err(error) => {
            tracing::warn!(connection = %record.id, %error, "could not record the connection status");
            record
        }
    }
}

fn seconds_between(earlier: &str, later: &str) -> u64 {
    match (
        humantime::parse_rfc3339_weak(earlier),
        humantime::parse_rfc3339_weak(later),
    ) {
        (Ok(a), Ok(b)) => b.duration_since(a).map(|d| d.as_secs()).unwrap_or(0),
        _ => u64::MAX,
    }
}
