//! How this connector talks to Notion: every request under `https://api.notion.com/v1` (config
//! `api_url` names another origin) with the `Notion-Version` this connector is written for,
//! and Notion's way of failing: an HTTP status with `{"object": "error", "code", "message"}`.

use connector_sdk::http::{Request, Response};
use connector_sdk::prelude::*;
use serde::Deserialize;

/// The API's origin.
pub const API_ORIGIN: &str = "https://api.notion.com";
/// The API version this connector speaks: data sources (not databases) hold pages.
pub const NOTION_VERSION: &str = "2025-09-03";
/// Wait assumed when a 429 comes without `Retry-After`.
const DEFAULT_WAIT_MS: u64 = 1_000;

/// One connection's Notion.
pub struct Notion {
    /// `https://api.notion.com/v1`, or `/v1` under the origin in config `api_url`.
    base: String,
}

/// Notion's error object.
#[derive(Deserialize)]
struct ErrorObject {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

impl Notion {
    pub fn new(connection: &Connection) -> Result<Self, ConnectorError> {
        let origin = connection.origin_or("api_url", API_ORIGIN)?;
        Ok(Self {
            base: format!("{origin}/v1"),
        })
    }

    fn versioned(request: Request) -> Request {
        request.header("Notion-Version", NOTION_VERSION)
    }

    /// A `GET` of `/v1/{segments...}`; each segment is percent-encoded.
    pub fn get<'a>(&self, segments: impl IntoIterator<Item = &'a str>) -> Request {
        Self::versioned(Request::get(&self.base).path(segments))
    }

    /// A `POST` of `/v1/{segments...}` with a JSON body.
    pub fn post<'a, B: serde::Serialize>(
        &self,
        segments: impl IntoIterator<Item = &'a str>,
        body: &B,
    ) -> Result<Request, ConnectorError> {
        Self::versioned(Request::post(&self.base).path(segments)).json(body)
    }

    /// A `PATCH` of `/v1/{segments...}` with a JSON body.
    pub fn patch<'a, B: serde::Serialize>(
        &self,
        segments: impl IntoIterator<Item = &'a str>,
        body: &B,
    ) -> Result<Request, ConnectorError> {
        Self::versioned(Request::patch(&self.base).path(segments)).json(body)
    }
}

/// Reads a Notion answer into `T`, which may borrow from `response`; errors mapped to the
/// unified ones.
pub fn answer<'a, T: Deserialize<'a>>(response: &'a Response) -> Result<T, ConnectorError> {
    if (200..300).contains(&response.status) {
        return response.json();
    }
    let error: ErrorObject = response.json().unwrap_or(ErrorObject {
        code: String::new(),
        message: String::new(),
    });
    Err(error_of(response, &error.code, &error.message))
}

/// Notion's status codes and error codes (developers.notion.com/reference/status-codes).
fn error_of(response: &Response, code: &str, message: &str) -> ConnectorError {
    let said = if message.is_empty() {
        format!("Notion answered HTTP {} {code}", response.status)
    } else {
        format!("Notion: {message}")
    };
    match (response.status, code) {
        (429, _) | (_, "rate_limited") => {
            let wait =
                connector_sdk::error::retry_after_ms(&response.headers).unwrap_or(DEFAULT_WAIT_MS);
            ConnectorError::rate_limited(wait, said)
        }
        (401, _) | (_, "unauthorized") => ConnectorError::Unauthorized(said),
        (403, _) | (_, "restricted_resource") => ConnectorError::Forbidden(format!(
            "{said} (share the page or data source with the integration)"
        )),
        (404, _) | (_, "object_not_found") => ConnectorError::NotFound(said),
        (400, _) => ConnectorError::InvalidConfig(said),
        (409, _) | (500..=599, _) => ConnectorError::Transient(said),
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
        let body =
            format!(r#"{{"object":"error","status":{status},"code":"{code}","message":"m"}}"#);
        answer::<serde_json::Value>(&response(status, &[], &body)).unwrap_err()
    }

    #[test]
    fn notions_errors_become_unified_ones() {
        use ConnectorError as E;
        assert!(matches!(error(401, "unauthorized"), E::Unauthorized(_)));
        assert!(matches!(error(403, "restricted_resource"), E::Forbidden(_)));
        assert!(matches!(error(404, "object_not_found"), E::NotFound(_)));
        assert!(matches!(
            error(400, "validation_error"),
            E::InvalidConfig(_)
        ));
        assert!(matches!(error(409, "conflict_error"), E::Transient(_)));
        assert!(matches!(error(503, "service_unavailable"), E::Transient(_)));
        let limited = answer::<serde_json::Value>(&response(
            429,
            &[("retry-after", "7")],
            r#"{"object":"error","status":429,"code":"rate_limited","message":"slow down"}"#,
        ))
        .unwrap_err();
        assert!(matches!(limited, ConnectorError::RateLimited(l) if l.retry_after_ms == 7_000));
        let bare = answer::<serde_json::Value>(&response(429, &[], "")).unwrap_err();
        assert!(matches!(bare, ConnectorError::RateLimited(l) if l.retry_after_ms == 1_000));
    }
}
