//! How this connector talks to Datadog: the API host of the configured site
//! (`https://api.{site}`, or the origin in config `api_url`), the two keys placed by the host
//! (`DD-API-KEY`, `DD-APPLICATION-KEY`), and Datadog's way of failing: an HTTP status with
//! `{"errors": ["..."]}`, and rate limits told in `X-RateLimit-*` headers.

use connector_sdk::config::Config;
use connector_sdk::http::{Request, Response};
use connector_sdk::prelude::*;
use serde::Deserialize;

/// The sites Datadog runs, as config `site` names them.
pub const SITES: [&str; 6] = [
    "datadoghq.com",
    "us3.datadoghq.com",
    "us5.datadoghq.com",
    "datadoghq.eu",
    "ap1.datadoghq.com",
    "ddog-gov.com",
];
/// The site used when config names none.
pub const DEFAULT_SITE: &str = "datadoghq.com";
/// Wait assumed when a 429 tells none.
const DEFAULT_WAIT_MS: u64 = 10_000;

/// One connection's Datadog.
pub struct Datadog {
    origin: String,
}

#[derive(Deserialize, Default)]
struct Errors {
    #[serde(default)]
    errors: Vec<String>,
}

/// Config `site`, checked against Datadog's sites.
pub fn site(config: &Config) -> Result<&str, ConnectorError> {
    let site = config.get("site").unwrap_or(DEFAULT_SITE);
    if SITES.contains(&site) {
        Ok(site)
    } else {
        Err(ConnectorError::InvalidConfig(format!(
            "site must be one of {}",
            SITES.join(", ")
        )))
    }
}

impl Datadog {
    pub fn new(connection: &Connection) -> Result<Self, ConnectorError> {
        let default = format!("https://api.{}", site(connection.config())?);
        Ok(Self {
            origin: connection.origin_or("api_url", &default)?,
        })
    }

    /// A `GET` of `/api/{segments...}`; each segment is percent-encoded.
    pub fn get<'a>(&self, segments: impl IntoIterator<Item = &'a str>) -> Request {
        Request::get(format!("{}/api", self.origin)).path(segments)
    }

    /// A request with a JSON body to `/api/{segments...}`.
    pub fn send_json<'a, B: serde::Serialize>(
        &self,
        method: http::Method,
        segments: impl IntoIterator<Item = &'a str>,
        body: &B,
    ) -> Result<Request, ConnectorError> {
        Request::new(method, format!("{}/api", self.origin))
            .path(segments)
            .json(body)
    }

    /// A `DELETE` of `/api/{segments...}`.
    pub fn delete<'a>(&self, segments: impl IntoIterator<Item = &'a str>) -> Request {
        Request::delete(format!("{}/api", self.origin)).path(segments)
    }
}

/// Reads a Datadog answer into `T`, which may borrow from the response; errors mapped to the
/// unified ones.
pub fn answer<'a, T: Deserialize<'a>>(response: &'a Response) -> Result<T, ConnectorError> {
    check(response)?;
    response.json()
}

/// Maps a failed answer to the unified error; a success passes.
pub fn check(response: &Response) -> Result<(), ConnectorError> {
    if (200..300).contains(&response.status) {
        return Ok(());
    }
    let errors: Errors = response.json().unwrap_or_default();
    let said = if errors.errors.is_empty() {
        format!("Datadog answered HTTP {}", response.status)
    } else {
        format!("Datadog: {}", errors.errors.join("; "))
    };
    Err(error_of(response, &errors.errors, said))
}

/// Datadog's statuses. Wrong or revoked keys are answered with a bare 403 "Forbidden"; a 403
/// that says more is a missing permission.
fn error_of(response: &Response, errors: &[String], said: String) -> ConnectorError {
    match response.status {
        429 => ConnectorError::rate_limited(wait_ms(response), said),
        401 => ConnectorError::Unauthorized(said),
        403 if errors.is_empty() || errors.iter().all(|e| e == "Forbidden") => {
            ConnectorError::Unauthorized(said)
        }
        403 => ConnectorError::Forbidden(said),
        404 => ConnectorError::NotFound(said),
        400 | 422 => ConnectorError::InvalidConfig(said),
        409 | 500..=599 => ConnectorError::Transient(said),
        _ => ConnectorError::Permanent(said),
    }
}

/// `X-RateLimit-Reset` (seconds until the window resets), else `Retry-After`.
fn wait_ms(response: &Response) -> u64 {
    response
        .header("x-ratelimit-reset")
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|secs| secs.max(1) * 1_000)
        .or_else(|| connector_sdk::error::retry_after_ms(&response.headers))
        .unwrap_or(DEFAULT_WAIT_MS)
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
        check(&response(status, &[], body)).unwrap_err()
    }

    #[test]
    fn datadogs_errors_become_unified_ones() {
        use ConnectorError as E;
        assert!(matches!(
            error(403, r#"{"errors":["Forbidden"]}"#),
            E::Unauthorized(_)
        ));
        assert!(matches!(
            error(
                403,
                r#"{"errors":["Failed permission authorization checks"]}"#
            ),
            E::Forbidden(_)
        ));
        assert!(
            matches!(error(404, r#"{"errors":["Monitor not found"]}"#), E::NotFound(m) if m == "Datadog: Monitor not found")
        );
        assert!(matches!(
            error(400, r#"{"errors":["bad"]}"#),
            E::InvalidConfig(_)
        ));
        assert!(matches!(error(503, ""), E::Transient(_)));
        let limited = check(&response(
            429,
            &[
                ("x-ratelimit-limit", "100"),
                ("x-ratelimit-period", "60"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "17"),
            ],
            r#"{"errors":["Too many requests"]}"#,
        ))
        .unwrap_err();
        assert!(matches!(limited, E::RateLimited(l) if l.retry_after_ms == 17_000));
    }

    #[test]
    fn the_site_picks_the_api_host() {
        let eu = Connection::for_tests(&[("site", "datadoghq.eu")], None);
        assert_eq!(
            Datadog::new(&eu).unwrap().origin,
            "https://api.datadoghq.eu"
        );
        let default = Connection::for_tests(&[], None);
        assert_eq!(
            Datadog::new(&default).unwrap().origin,
            "https://api.datadoghq.com"
        );
        let elsewhere = Connection::for_tests(&[("site", "evil.example")], None);
        assert!(matches!(
            Datadog::new(&elsewhere),
            Err(ConnectorError::InvalidConfig(_))
        ));
    }
}
