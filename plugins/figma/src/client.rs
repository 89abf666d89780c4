//! How this connector talks to Figma: every request under `https://api.figma.com/v1` (config
//! `api_url` names another origin), and Figma's two ways of failing: `{"status", "err"}` and
//! `{"status", "error": true, "message"}`.

use connector_sdk::http::{Request, Response};
use connector_sdk::prelude::*;
use serde::Deserialize;

/// The API's origin.
pub const API_ORIGIN: &str = "https://api.figma.com";
/// Wait assumed when a 429 comes without `Retry-After`.
const DEFAULT_WAIT_MS: u64 = 60_000;

/// One connection's Figma.
pub struct Figma {
    /// `https://api.figma.com/v1`, or `/v1` under the origin in config `api_url`.
    base: String,
}

/// Both of Figma's error payloads.
#[derive(Deserialize, Default)]
struct ErrorPayload {
    err: Option<String>,
    message: Option<String>,
}

impl Figma {
    pub fn new(connection: &Connection) -> Result<Self, ConnectorError> {
        let origin = connection.origin_or("api_url", API_ORIGIN)?;
        Ok(Self {
            base: format!("{origin}/v1"),
        })
    }

    /// A `GET` of `/v1/{segments...}`; each segment is percent-encoded.
    pub fn get<'a>(&self, segments: impl IntoIterator<Item = &'a str>) -> Request {
        Request::get(&self.base).path(segments)
    }

    /// A `POST` of `/v1/{segments...}` with a JSON body.
    pub fn post<'a, B: serde::Serialize>(
        &self,
        segments: impl IntoIterator<Item = &'a str>,
        body: &B,
    ) -> Result<Request, ConnectorError> {
        Request::post(&self.base).path(segments).json(body)
    }
}

/// Reads a Figma answer into `T`, which may borrow from the response; errors
/// mapped to the unified ones.
pub fn answer<'a, T: Deserialize<'a>>(response: &'a Response) -> Result<T, ConnectorError> {
    if (200..300).contains(&response.status) {
        return response.json();
    }
    let payload: ErrorPayload = response.json().unwrap_or_default();
    let said = payload
        .err
        .or(payload.message)
        .filter(|m| !m.is_empty())
        .map(|m| format!("Figma: {m}"))
        .unwrap_or_else(|| format!("Figma answered HTTP {}", response.status));
    Err(error_of(response, said))
}

/// Figma's statuses (developers.figma.com/docs/rest-api/errors). A personal access token that
/// is wrong or revoked gets 403 "Invalid token", not 401.
fn error_of(response: &Response, said: String) -> ConnectorError {
    match response.status {
        429 => {
            let wait =
                connector_sdk::error::retry_after_ms(&response.headers).unwrap_or(DEFAULT_WAIT_MS);
            ConnectorError::rate_limited(wait, said)
        }
        401 => ConnectorError::Unauthorized(said),
        403 if said.contains("Invalid token") || said.contains("Token expired") => {
            ConnectorError::Unauthorized(said)
        }
        403 => ConnectorError::Forbidden(said),
        404 => ConnectorError::NotFound(said),
        400 => ConnectorError::InvalidConfig(said),
        500..=599 => ConnectorError::Transient(said),
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

    fn error(status: u16, body: &str) -> ConnectorError {
        answer::<serde_json::Value>(&response(status, &[], body)).unwrap_err()
    }

    #[test]
    fn figmas_errors_become_unified_ones() {
        use ConnectorError as E;
        assert!(matches!(
            error(403, r#"{"status":403,"err":"Invalid token"}"#),
            E::Unauthorized(_)
        ));
        assert!(matches!(
            error(403, r#"{"status":403,"error":true,"message":"Forbidden"}"#),
            E::Forbidden(_)
        ));
        assert!(matches!(
            error(
                401,
                r#"{"status":401,"error":true,"message":"Unauthorized"}"#
            ),
            E::Unauthorized(_)
        ));
        assert!(matches!(
            error(404, r#"{"status":404,"err":"Not found"}"#),
            E::NotFound(m) if m == "Figma: Not found"
        ));
        assert!(matches!(error(400, "{}"), E::InvalidConfig(_)));
        assert!(matches!(error(502, "<html>"), E::Transient(_)));
        let limited = answer::<serde_json::Value>(&response(
            429,
            &[("retry-after", "12")],
            r#"{"status":429,"err":"Rate limit exceeded"}"#,
        ))
        .unwrap_err();
        assert!(matches!(limited, E::RateLimited(l) if l.retry_after_ms == 12_000));
    }
}
