//! Turning vendor answers into [`ConnectorError`]s.

use crate::{ConnectorError, RateLimit};

impl ConnectorError {
    /// The client's input or the connection's config is wrong (`invalid-config`): a missing
    /// key, an unknown attribute, a malformed id or cursor.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::InvalidConfig(message.into())
    }

    /// The container, item or comment does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    /// The connector does not offer this.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::Unsupported(message.into())
    }

    /// A failure that may pass if tried again.
    pub fn transient(message: impl Into<String>) -> Self {
        Self::Transient(message.into())
    }

    /// A failure that will not pass if tried again (an unexpected vendor answer).
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::Permanent(message.into())
    }

    /// The vendor asked to wait `retry_after_ms` before trying again.
    pub fn rate_limited(retry_after_ms: u64, message: impl Into<String>) -> Self {
        Self::RateLimited(RateLimit {
            retry_after_ms,
            message: message.into(),
        })
    }
}

/// Wait assumed when a vendor answers 429 without saying how long.
pub const DEFAULT_RETRY_AFTER_MS: u64 = 1_000;

/// Maps a non-success HTTP status to the matching error. `headers` are lower-case names;
/// `message` is the vendor's error text (already stripped of anything secret by the vendor).
pub fn from_status(status: u16, headers: &[(String, String)], message: String) -> ConnectorError {
    match status {
        401 => ConnectorError::Unauthorized(message),
        403 => ConnectorError::Forbidden(message),
        404 | 410 => ConnectorError::NotFound(message),
        429 => ConnectorError::RateLimited(RateLimit {
            retry_after_ms: retry_after_ms(headers).unwrap_or(DEFAULT_RETRY_AFTER_MS),
            message,
        }),
        500..=599 => match retry_after_ms(headers) {
            // 503 with Retry-After is how several vendors (Atlassian among them) throttle.
            Some(wait) if status == 503 => ConnectorError::RateLimited(RateLimit {
                retry_after_ms: wait,
                message,
            }),
            _ => ConnectorError::Transient(format!("vendor answered {status}: {message}")),
        },
        _ => ConnectorError::Permanent(format!("vendor answered {status}: {message}")),
    }
}

/// The wait a vendor asked for: `Retry-After` in seconds (or an HTTP date, treated as the
/// default since guests have no reliable clock), else Atlassian's `x-ratelimit-reset` style
/// headers are left to the connector.
pub fn retry_after_ms(headers: &[(String, String)]) -> Option<u64> {
    let value = headers
        .iter()
        .find(|(name, _)| name == "retry-after")
        .map(|(_, v)| v.trim())?;
    match value.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds >= 0.0 => {
            Some((seconds * 1000.0).ceil() as u64)
        }
        _ => Some(DEFAULT_RETRY_AFTER_MS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, value: &str) -> Vec<(String, String)> {
        vec![(name.to_owned(), value.to_owned())]
    }

    #[test]
    fn too_many_requests_carries_the_vendors_wait() {
        let error = from_status(429, &header("retry-after", "7"), "slow down".into());
        assert!(matches!(
            error,
            ConnectorError::RateLimited(RateLimit {
                retry_after_ms: 7000,
                ..
            })
        ));
    }

    #[test]
    fn too_many_requests_without_a_wait_uses_the_default() {
        let error = from_status(429, &[], "slow down".into());
        assert!(
            matches!(error, ConnectorError::RateLimited(r) if r.retry_after_ms == DEFAULT_RETRY_AFTER_MS)
        );
    }

    #[test]
    fn statuses_map_to_their_errors() {
        assert!(matches!(
            from_status(401, &[], String::new()),
            ConnectorError::Unauthorized(_)
        ));
        assert!(matches!(
            from_status(403, &[], String::new()),
            ConnectorError::Forbidden(_)
        ));
        assert!(matches!(
            from_status(404, &[], String::new()),
            ConnectorError::NotFound(_)
        ));
        assert!(matches!(
            from_status(502, &[], String::new()),
            ConnectorError::Transient(_)
        ));
        assert!(matches!(
            from_status(400, &[], String::new()),
            ConnectorError::Permanent(_)
        ));
        assert!(matches!(
            from_status(503, &header("retry-after", "2"), String::new()),
            ConnectorError::RateLimited(r) if r.retry_after_ms == 2000
        ));
    }
}
