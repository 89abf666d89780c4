//! Typed outbound HTTP through the host's `http` capability.
//!
//! Requests with [`Auth::Connection`] (the default of the helpers) get the connection's
//! credential attached by the host; the connector never sees it.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ConnectorError;
use crate::bindings::connector::plugin::http as host;
pub use crate::bindings::connector::plugin::http::{Auth, HttpError, Method, Response};
use crate::error::from_status;

/// Longest vendor error text kept in an error message.
const MAX_ERROR_TEXT: usize = 500;

/// An outbound request under construction.
#[derive(Debug, Clone)]
pub struct Request {
    inner: host::Request,
}

impl Request {
    /// A request with the connection's credential and no body.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            inner: host::Request {
                method,
                url: url.into(),
                headers: vec![("accept".to_owned(), "application/json".to_owned())],
                body: None,
                auth: Auth::Connection,
                timeout_ms: None,
            },
        }
    }

    /// `GET url`.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::Get, url)
    }

    /// `POST url`.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new(Method::Post, url)
    }

    /// Adds a header (the host drops credential-bearing ones).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.inner
            .headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// Sends without the connection's credential.
    pub fn anonymous(mut self) -> Self {
        self.inner.auth = Auth::None;
        self
    }

    /// Per-request timeout (the host clamps it to the call's deadline).
    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.inner.timeout_ms = Some(ms);
        self
    }

    /// A JSON body with `content-type: application/json`.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self, ConnectorError> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            ConnectorError::Permanent(format!("could not encode the request body: {e}"))
        })?;
        self.inner.body = Some(bytes);
        Ok(self.header("content-type", "application/json"))
    }

    /// Sends the request and returns the response whatever its status.
    pub fn send(self) -> Result<Response, ConnectorError> {
        host::send(&self.inner).map_err(from_http_error)
    }

    /// Sends the request; a non-2xx status becomes the matching [`ConnectorError`].
    pub fn send_ok(self) -> Result<Response, ConnectorError> {
        let response = self.send()?;
        ensure_success(response)
    }

    /// Sends the request and decodes a 2xx JSON body.
    pub fn send_json<T: DeserializeOwned>(self) -> Result<T, ConnectorError> {
        let response = self.send_ok()?;
        decode_json(&response)
    }
}

/// Sends several requests concurrently (the host fans them out); results keep their order.
pub fn send_many(requests: Vec<Request>) -> Vec<Result<Response, ConnectorError>> {
    let inner: Vec<host::Request> = requests.into_iter().map(|r| r.inner).collect();
    host::send_many(&inner)
        .into_iter()
        .map(|result| result.map_err(from_http_error))
        .collect()
}

/// `GET url` with the connection's credential, decoding a 2xx JSON body.
pub fn get_json<T: DeserializeOwned>(url: &str) -> Result<T, ConnectorError> {
    Request::get(url).send_json()
}

/// `POST url` with a JSON body and the connection's credential, decoding a 2xx JSON body.
pub fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
    url: &str,
    body: &B,
) -> Result<T, ConnectorError> {
    Request::post(url).json(body)?.send_json()
}

/// Passes a 2xx response through; maps any other status to its [`ConnectorError`].
pub fn ensure_success(response: Response) -> Result<Response, ConnectorError> {
    if (200..300).contains(&response.status) {
        return Ok(response);
    }
    let text = vendor_error_text(&response.body);
    Err(from_status(response.status, &response.headers, text))
}

/// Decodes a JSON body, naming the expected type when it does not fit.
pub fn decode_json<T: DeserializeOwned>(response: &Response) -> Result<T, ConnectorError> {
    serde_json::from_slice(&response.body).map_err(|e| {
        ConnectorError::Permanent(format!(
            "unexpected response from the vendor (wanted {}): {e}",
            std::any::type_name::<T>()
        ))
    })
}

impl Response {
    /// First value of a header (names are lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Short text for an error message: the vendor's JSON `message`/`errorMessages` when present,
/// else the start of the body.
fn vendor_error_text(body: &[u8]) -> String {
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) {
        for key in ["message", "errorMessage", "error_description", "error"] {
            if let Some(text) = json.get(key).and_then(|v| v.as_str()) {
                return truncate(text);
            }
        }
        if let Some(first) = json
            .get("errorMessages")
            .and_then(|v| v.get(0))
            .and_then(|v| v.as_str())
        {
            return truncate(first);
        }
    }
    truncate(&String::from_utf8_lossy(body))
}

fn truncate(text: &str) -> String {
    let mut end = text.len().min(MAX_ERROR_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].trim().to_owned()
}

fn from_http_error(error: HttpError) -> ConnectorError {
    match error {
        HttpError::Denied(why) => ConnectorError::Permanent(format!("egress denied: {why}")),
        HttpError::InvalidRequest(why) => {
            ConnectorError::Permanent(format!("invalid request: {why}"))
        }
        HttpError::Timeout => {
            ConnectorError::Transient("the vendor did not answer in time".to_owned())
        }
        HttpError::ConnectionFailed(why) => {
            ConnectorError::Transient(format!("connection failed: {why}"))
        }
        HttpError::TooLarge(limit) => ConnectorError::Permanent(format!(
            "the vendor's response is larger than the host's {limit}-byte cap"
        )),
        HttpError::BudgetExhausted => {
            ConnectorError::Permanent("this call used up its outbound request budget".to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_error_text_prefers_the_json_message() {
        assert_eq!(
            vendor_error_text(br#"{"message":"Issue does not exist"}"#),
            "Issue does not exist"
        );
        assert_eq!(
            vendor_error_text(br#"{"errorMessages":["No project"],"errors":{}}"#),
            "No project"
        );
        assert_eq!(vendor_error_text(b"plain failure"), "plain failure");
    }

    #[test]
    fn long_error_text_is_cut_on_a_char_boundary() {
        let text = "é".repeat(MAX_ERROR_TEXT);
        assert!(vendor_error_text(text.as_bytes()).len() <= MAX_ERROR_TEXT);
    }
}
