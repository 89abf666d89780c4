//! How this connector talks to GitHub: the API origin (api.github.com, or a GitHub Enterprise
//! Server's `/api/v3`), the headers GitHub asks for, and GitHub's rate-limit answers (403 or
//! 429 with `x-ratelimit-remaining: 0`, waiting until `x-ratelimit-reset`).

use connector_sdk::http::{Request, Response, ensure_success};
use connector_sdk::prelude::*;

/// The public API's origin.
pub const API_ORIGIN: &str = "https://api.github.com";

/// One connection's GitHub.
pub struct GitHub {
    /// `https://api.github.com`, or config `api_url`.
    pub base: String,
}

impl GitHub {
    pub fn new(connection: &Connection) -> Result<Self, ConnectorError> {
        Ok(Self {
            base: connection.origin_or("api_url", API_ORIGIN)?,
        })
    }

    /// A request to `path` (segments are percent-encoded) with GitHub's media type and version.
    pub fn at<const N: usize>(&self, method: http::Method, path: [&str; N]) -> Request {
        versioned(Request::new(method, &self.base).path(path))
    }

    /// Sends `request`; a non-2xx status becomes its error, rate limits with their wait.
    pub fn send(&self, request: Request) -> Result<Response, ConnectorError> {
        let response = versioned(request).send()?;
        if let Some(error) = rate_limited(&response) {
            return Err(error);
        }
        ensure_success(response)
    }
}

fn versioned(request: Request) -> Request {
    request
        .header("accept", "application/vnd.github+json")
        .header("x-github-api-version", "2022-11-28")
}

/// GitHub's primary and secondary rate limits: 403 or 429 with `retry-after`, or with
/// `x-ratelimit-remaining: 0` and the reset time (epoch seconds), measured against the
/// response's own `date` (the guest has no clock of its own).
pub fn rate_limited(response: &Response) -> Option<ConnectorError> {
    if !matches!(response.status, 403 | 429) {
        return None;
    }
    let message = "GitHub's rate limit is reached";
    if let Some(seconds) = response
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Some(ConnectorError::rate_limited(seconds * 1000, message));
    }
    if response.header("x-ratelimit-remaining") != Some("0") {
        return None;
    }
    let reset = response
        .header("x-ratelimit-reset")
        .and_then(|v| v.trim().parse::<i64>().ok());
    let now = response.header("date").and_then(http_date_unix);
    let wait_secs = match (reset, now) {
        (Some(reset), Some(now)) => (reset - now).clamp(1, 3600) as u64,
        _ => 60,
    };
    Some(ConnectorError::rate_limited(wait_secs * 1000, message))
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) as Unix seconds.
fn http_date_unix(text: &str) -> Option<i64> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m == month)? + 1;
    let rfc3339 = format!("{year}-{month:02}-{day:0>2}T{time}Z");
    Timestamp::parse(&rfc3339).ok().map(Timestamp::unix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)]) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: b"{\"message\":\"API rate limit exceeded\"}".to_vec(),
        }
    }

    fn wait(error: Option<ConnectorError>) -> Option<u64> {
        match error {
            Some(ConnectorError::RateLimited(limit)) => Some(limit.retry_after_ms),
            _ => None,
        }
    }

    #[test]
    fn the_primary_limit_waits_until_the_reset() {
        let limited = response(
            403,
            &[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "1763802637"),
                ("date", "Sat, 22 Nov 2025 09:10:07 GMT"),
            ],
        );
        assert_eq!(wait(rate_limited(&limited)), Some(30_000));
    }

    #[test]
    fn a_secondary_limit_says_retry_after_and_a_plain_403_is_no_limit() {
        let secondary = response(403, &[("retry-after", "60")]);
        assert_eq!(wait(rate_limited(&secondary)), Some(60_000));
        let forbidden = response(403, &[("x-ratelimit-remaining", "4999")]);
        assert!(rate_limited(&forbidden).is_none());
        assert_eq!(
            http_date_unix("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784111777)
        );
    }
}
