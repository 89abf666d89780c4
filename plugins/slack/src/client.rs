//! How this connector talks to Slack's Web API: one URL per method under
//! `https://slack.com/api` (config `api_url` names another origin), and Slack's way of failing. Slack answers
//! most errors with HTTP 200 and `{"ok": false, "error": "..."}`; throttling is HTTP 429 with
//! `Retry-After`.

use connector_sdk::http::{Request, Response};
use connector_sdk::prelude::*;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// The Web API's origin; methods live under its `/api`.
pub const API_ORIGIN: &str = "https://slack.com";

/// Wait assumed when Slack says `ratelimited` without a `Retry-After`.
const DEFAULT_WAIT_SECS: u64 = 30;

/// One connection's Slack.
pub struct Slack {
    /// `https://slack.com/api`, or `/api` under the origin in config `api_url` (GovSlack's
    /// `https://slack-gov.com`, a test fake).
    pub base: String,
}

/// The part of every Web API answer that says whether it worked.
#[derive(Deserialize)]
struct Status {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    /// The scope a `missing_scope` answer names.
    #[serde(default)]
    needed: Option<String>,
}

/// `response_metadata.next_cursor` of a cursor-paged method; empty on the last page.
#[derive(Deserialize, Default)]
pub struct ResponseMetadata {
    #[serde(default)]
    pub next_cursor: String,
}

impl Slack {
    pub fn new(connection: &Connection) -> Result<Self, ConnectorError> {
        let origin = connection.origin_or("api_url", API_ORIGIN)?;
        Ok(Self {
            base: format!("{origin}/api"),
        })
    }

    /// A `GET` of Web API method `name` (`conversations.list`).
    pub fn get(&self, name: &str) -> Request {
        Request::get(&self.base).path([name])
    }

    /// A `POST` of Web API method `name` with a JSON body, as Slack accepts for write methods.
    pub fn post<B: serde::Serialize>(
        &self,
        name: &str,
        body: &B,
    ) -> Result<Request, ConnectorError> {
        Request::post(&self.base).path([name]).json(body)
    }

    /// Calls a method and decodes its answer into an owned `T`, Slack's errors mapped to the
    /// unified ones. Use [`answer`] on a sent request to borrow from the response instead.
    pub fn call<T: DeserializeOwned>(&self, request: Request) -> Result<T, ConnectorError> {
        let response = request.send()?;
        answer(&response)
    }
}

/// Reads one Web API answer; `T` may borrow from `response`.
pub fn answer<'a, T: serde::Deserialize<'a>>(response: &'a Response) -> Result<T, ConnectorError> {
    if response.status == 429 {
        return Err(rate_limited(response));
    }
    if !(200..300).contains(&response.status) {
        return Err(connector_sdk::error::from_status(
            response.status,
            &response.headers,
            format!("Slack answered HTTP {}", response.status),
        ));
    }
    let status: Status = response.json()?;
    if !status.ok {
        let error = status.error.unwrap_or_else(|| "unknown_error".into());
        return Err(match error.as_str() {
            "ratelimited" => rate_limited(response),
            _ => error_of(&error, status.needed.as_deref()),
        });
    }
    response.json()
}

fn rate_limited(response: &Response) -> ConnectorError {
    let wait_ms =
        connector_sdk::error::retry_after_ms(&response.headers).unwrap_or(DEFAULT_WAIT_SECS * 1000);
    ConnectorError::rate_limited(wait_ms, "Slack's rate limit for this method is reached")
}

/// Slack's error codes (documented per method) as unified errors.
pub fn error_of(error: &str, needed: Option<&str>) -> ConnectorError {
    match error {
        "invalid_auth" | "not_authed" | "token_revoked" | "token_expired" | "account_inactive"
        | "invalid_token" => ConnectorError::Unauthorized(format!("Slack: {error}")),
        "not_allowed_token_type" => ConnectorError::Forbidden(
            "Slack allows this only with a user token (xoxp-): connect with the `oauth_user` \
             method or paste a user token"
                .into(),
        ),
        "missing_scope" => ConnectorError::Forbidden(format!(
            "the Slack token lacks the scope `{}`",
            needed.unwrap_or("?")
        )),
        "not_in_channel" => ConnectorError::Forbidden(
            "the Slack app is not a member of this conversation: invite it first".into(),
        ),
        "restricted_action" | "no_permission" | "access_denied" | "ekm_access_denied"
        | "is_archived" => ConnectorError::Forbidden(format!("Slack: {error}")),
        "channel_not_found" | "thread_not_found" | "message_not_found" | "user_not_found" => {
            ConnectorError::NotFound(format!("Slack: {error}"))
        }
        "invalid_cursor"
        | "invalid_arguments"
        | "invalid_ts_latest"
        | "invalid_ts_oldest"
        | "no_text"
        | "msg_too_long"
        | "invalid_blocks"
        | "too_many_attachments" => {
            ConnectorError::InvalidConfig(format!("Slack refused the request: {error}"))
        }
        "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => {
            ConnectorError::Transient(format!("Slack: {error}"))
        }
        other => ConnectorError::Permanent(format!("Slack: {other}")),
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

    fn kind(error: &ConnectorError) -> &'static str {
        match error {
            ConnectorError::InvalidConfig(_) => "invalid-config",
            ConnectorError::Unauthorized(_) => "unauthorized",
            ConnectorError::Forbidden(_) => "forbidden",
            ConnectorError::NotFound(_) => "not-found",
            ConnectorError::RateLimited(_) => "rate-limited",
            ConnectorError::Unsupported(_) => "unsupported",
            ConnectorError::Transient(_) => "transient",
            ConnectorError::Permanent(_) => "permanent",
        }
    }

    #[derive(Deserialize, Debug)]
    struct Answer {
        channel: String,
    }

    #[test]
    fn ok_false_answers_are_mapped_to_unified_errors() {
        let ok: Answer = answer(&response(200, &[], r#"{"ok":true,"channel":"C1"}"#)).unwrap();
        assert_eq!(ok.channel, "C1");
        let cases = [
            (r#"{"ok":false,"error":"token_revoked"}"#, "unauthorized"),
            (r#"{"ok":false,"error":"channel_not_found"}"#, "not-found"),
            (
                r#"{"ok":false,"error":"missing_scope","needed":"chat:write"}"#,
                "forbidden",
            ),
            (
                r#"{"ok":false,"error":"not_allowed_token_type"}"#,
                "forbidden",
            ),
            (r#"{"ok":false,"error":"invalid_cursor"}"#, "invalid-config"),
            (r#"{"ok":false,"error":"something_new"}"#, "permanent"),
        ];
        for (body, expected) in cases {
            let error = answer::<Answer>(&response(200, &[], body)).unwrap_err();
            assert_eq!(kind(&error), expected, "{body}");
        }
        let missing = answer::<Answer>(&response(
            200,
            &[],
            r#"{"ok":false,"error":"missing_scope","needed":"chat:write"}"#,
        ))
        .unwrap_err();
        assert!(format!("{missing:?}").contains("chat:write"));
    }

    #[test]
    fn throttling_waits_as_slack_says() {
        let limited = answer::<Answer>(&response(
            429,
            &[("retry-after", "17")],
            r#"{"ok":false,"error":"ratelimited"}"#,
        ))
        .unwrap_err();
        let ConnectorError::RateLimited(limit) = limited else {
            panic!("{limited:?}")
        };
        assert_eq!(limit.retry_after_ms, 17_000);
        let in_body =
            answer::<Answer>(&response(200, &[], r#"{"ok":false,"error":"ratelimited"}"#))
                .unwrap_err();
        assert!(matches!(in_body, ConnectorError::RateLimited(l) if l.retry_after_ms == 30_000));
    }
}
