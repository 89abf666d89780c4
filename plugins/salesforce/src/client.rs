//! How this connector talks to Salesforce: the REST API under the org's `instance_url` (the
//! connection's origin, from the token response), at the configured API version, and
//! Salesforce's way of failing: an HTTP status with `[{"message", "errorCode", "fields"}]`.

use connector_sdk::http::{Request, Response};
use connector_sdk::prelude::*;
use serde::Deserialize;

/// The API version used when config names none.
pub const DEFAULT_VERSION: &str = "66.0";
/// Wait assumed for `REQUEST_LIMIT_EXCEEDED` without `Retry-After`.
const DEFAULT_WAIT_MS: u64 = 60_000;

/// One connection's org.
pub struct Salesforce {
    origin: String,
    /// `/services/data/v66.0`
    base_path: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    error_code: String,
}

/// Config `api_version`: `66.0` (a `v` in front is accepted).
pub fn api_version(config: &connector_sdk::config::Config) -> Result<String, ConnectorError> {
    let text = config.get("api_version").unwrap_or(DEFAULT_VERSION);
    let bare = text.strip_prefix('v').unwrap_or(text);
    let valid = bare.split_once('.').is_some_and(|(major, minor)| {
        (1..=3).contains(&major.len()) && major.bytes().all(|b| b.is_ascii_digit()) && minor == "0"
    });
    if valid {
        Ok(bare.to_owned())
    } else {
        Err(ConnectorError::InvalidConfig(format!(
            "api_version must look like {DEFAULT_VERSION}"
        )))
    }
}

impl Salesforce {
    pub fn new(connection: &Connection) -> Result<Self, ConnectorError> {
        let origin = connection
            .origin()
            .ok_or_else(|| {
                ConnectorError::InvalidConfig(
                    "the connection has no instance_url; connect through Salesforce OAuth".into(),
                )
            })?
            .trim_end_matches('/')
            .to_owned();
        Ok(Self {
            origin,
            base_path: format!("/services/data/v{}", api_version(connection.config())?),
        })
    }

    /// A `GET` of `/services/data/vXX.X/{segments...}`; each segment is percent-encoded.
    pub fn get<'a>(&self, segments: impl IntoIterator<Item = &'a str>) -> Request {
        Request::get(self.url()).path(segments)
    }

    /// A request with a JSON body to `/services/data/vXX.X/{segments...}`.
    pub fn send_json<'a, B: serde::Serialize>(
        &self,
        method: http::Method,
        segments: impl IntoIterator<Item = &'a str>,
        body: &B,
    ) -> Result<Request, ConnectorError> {
        Request::new(method, self.url()).path(segments).json(body)
    }

    fn url(&self) -> String {
        format!("{}{}", self.origin, self.base_path)
    }

    /// A `nextRecordsUrl` (`/services/data/vXX.X/query/01g...-2000`) as a request, after checking
    /// it is one: a cursor never sends the token anywhere else.
    pub fn next_records(&self, path: &str) -> Result<Request, ConnectorError> {
        let locator = path
            .strip_prefix(&self.base_path)
            .and_then(|rest| rest.strip_prefix("/query/"))
            .filter(|l| {
                !l.is_empty()
                    && l.len() <= 64
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
            .ok_or_else(|| {
                ConnectorError::InvalidConfig("not a Salesforce records cursor".into())
            })?;
        Ok(self.get(["query", locator]))
    }
}

/// Reads a Salesforce answer into `T`, which may borrow from the response; errors mapped to
/// the unified ones.
pub fn answer<'a, T: Deserialize<'a>>(response: &'a Response) -> Result<T, ConnectorError> {
    check(response)?;
    response.json()
}

/// Maps a failed answer to the unified error; a success passes.
pub fn check(response: &Response) -> Result<(), ConnectorError> {
    if (200..300).contains(&response.status) {
        return Ok(());
    }
    let errors: Vec<ApiError> = response.json().unwrap_or_default();
    let code = errors.first().map_or("", |e| e.error_code.as_str());
    let said = match errors.first() {
        Some(e) if !e.message.is_empty() => format!("Salesforce: {} ({})", e.message, e.error_code),
        _ => format!("Salesforce answered HTTP {}", response.status),
    };
    Err(error_of(response, code, said))
}

/// Salesforce's status codes and error codes (REST API Developer Guide, "Status Codes and
/// Error Responses").
fn error_of(response: &Response, code: &str, said: String) -> ConnectorError {
    match (response.status, code) {
        (_, "REQUEST_LIMIT_EXCEEDED") | (429, _) => {
            let wait =
                connector_sdk::error::retry_after_ms(&response.headers).unwrap_or(DEFAULT_WAIT_MS);
            ConnectorError::rate_limited(wait, said)
        }
        (401, _) | (_, "INVALID_SESSION_ID") => ConnectorError::Unauthorized(said),
        (403, _) | (_, "INSUFFICIENT_ACCESS_OR_READONLY" | "INSUFFICIENT_ACCESS") => {
            ConnectorError::Forbidden(said)
        }
        (404, _) | (_, "NOT_FOUND" | "INVALID_TYPE") => ConnectorError::NotFound(said),
        (400, _) => ConnectorError::InvalidConfig(said),
        (409 | 500..=599, _) => ConnectorError::Transient(said),
        _ => ConnectorError::Permanent(said),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn error(status: u16, code: &str) -> ConnectorError {
        let body = format!(r#"[{{"message":"m","errorCode":"{code}","fields":[]}}]"#);
        check(&response(status, &[], &body)).unwrap_err()
    }

    #[test]
    fn salesforces_errors_become_unified_ones() {
        use ConnectorError as E;
        assert!(matches!(
            error(401, "INVALID_SESSION_ID"),
            E::Unauthorized(_)
        ));
        assert!(
            matches!(error(403, "REQUEST_LIMIT_EXCEEDED"), E::RateLimited(l) if l.retry_after_ms == 60_000)
        );
        assert!(matches!(error(403, "INSUFFICIENT_ACCESS"), E::Forbidden(_)));
        assert!(matches!(error(404, "NOT_FOUND"), E::NotFound(_)));
        assert!(matches!(error(400, "MALFORMED_QUERY"), E::InvalidConfig(_)));
        assert!(matches!(error(503, "SERVER_UNAVAILABLE"), E::Transient(_)));
        let limited = check(&response(429, &[("retry-after", "9")], "")).unwrap_err();
        assert!(matches!(limited, E::RateLimited(l) if l.retry_after_ms == 9_000));
    }

    #[test]
    fn a_records_cursor_must_be_a_query_locator_of_this_version() {
        let sf = Salesforce {
            origin: "https://acme.my.salesforce.com".into(),
            base_path: "/services/data/v66.0".into(),
        };
        assert!(
            sf.next_records("/services/data/v66.0/query/01gD0000002HU6KIAW-2000")
                .is_ok()
        );
        for bad in [
            "https://evil.example/services/data/v66.0/query/x",
            "/services/data/v66.0/sobjects/User",
            "/services/data/v66.0/query/../../x",
            "/services/data/v66.0/query/",
        ] {
            assert!(sf.next_records(bad).is_err(), "{bad}");
        }
    }
}
