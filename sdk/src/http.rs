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
///
/// ```no_run
/// # use connector_sdk::prelude::*;
/// # fn demo() -> Result<(), ConnectorError> {
/// #[derive(serde::Deserialize)]
/// struct Issue { number: u64 }
/// let key = "a/b c"; // encoded as one segment: a%2Fb%20c
/// let issue: Issue = http::Request::get("https://api.tracker.example")
///     .path(["repos", key, "issues"])
///     .query("state", "all")
///     .query_opt("since", None::<&str>)
///     .send_json()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Request {
    inner: host::Request,
    /// Why the URL could not be built, reported when the request is sent.
    url_error: Option<String>,
}

impl Request {
    /// A request with the connection's credential, `accept: application/json` and no body.
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
            url_error: None,
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

    /// `PUT url`.
    pub fn put(url: impl Into<String>) -> Self {
        Self::new(Method::Put, url)
    }

    /// `PATCH url`.
    pub fn patch(url: impl Into<String>) -> Self {
        Self::new(Method::Patch, url)
    }

    /// `DELETE url`.
    pub fn delete(url: impl Into<String>) -> Self {
        Self::new(Method::Delete, url)
    }

    /// `HEAD url`.
    pub fn head(url: impl Into<String>) -> Self {
        Self::new(Method::Head, url)
    }

    /// Appends path segments, each percent-encoded as one segment: an id containing `/` or
    /// `?` can never change which resource is asked for. An empty, `.` or `..` segment makes
    /// the request fail when sent (URL rules would drop it silently).
    pub fn path<I, S>(mut self, segments: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.edit_url(|url| {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| "the URL cannot take a path".to_owned())?;
            path.pop_if_empty();
            for segment in segments {
                let segment = segment.as_ref();
                if matches!(segment, "" | "." | "..") {
                    return Err(format!("`{segment}` cannot be a path segment"));
                }
                path.push(segment);
            }
            Ok(())
        });
        self
    }

    /// Appends a query parameter, encoded.
    pub fn query(mut self, name: &str, value: impl std::fmt::Display) -> Self {
        let value = value.to_string();
        self.edit_url(|url| {
            url.query_pairs_mut().append_pair(name, &value);
            Ok(())
        });
        self
    }

    /// Appends a query parameter when `value` is `Some`.
    pub fn query_opt(self, name: &str, value: Option<impl std::fmt::Display>) -> Self {
        match value {
            Some(value) => self.query(name, value),
            None => self,
        }
    }

    fn edit_url(&mut self, edit: impl FnOnce(&mut url::Url) -> Result<(), String>) {
        if self.url_error.is_some() {
            return;
        }
        let result = url::Url::parse(&self.inner.url)
            .map_err(|e| format!("`{}` is not a URL: {e}", self.inner.url))
            .and_then(|mut url| {
                edit(&mut url)?;
                Ok(url)
            });
        match result {
            Ok(url) => self.inner.url = url.into(),
            Err(why) => self.url_error = Some(why),
        }
    }

    /// The URL as built so far.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// Sets a header, replacing one of the same name (so `accept` replaces the default
    /// `application/json` instead of sending two); the host drops credential-bearing ones.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = name.to_ascii_lowercase();
        self.inner.headers.retain(|(existing, _)| *existing != name);
        self.inner.headers.push((name, value.to_owned()));
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

    /// A raw body with its content type.
    pub fn body(mut self, content_type: &str, bytes: Vec<u8>) -> Self {
        self.inner.body = Some(bytes);
        self.header("content-type", content_type)
    }

    fn into_inner(self) -> Result<host::Request, ConnectorError> {
        match self.url_error {
            Some(why) => Err(ConnectorError::Permanent(format!("invalid request: {why}"))),
            None => Ok(self.inner),
        }
    }

    /// Sends the request and returns the response whatever its status.
    pub fn send(self) -> Result<Response, ConnectorError> {
        host::send(&self.into_inner()?).map_err(from_http_error)
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
    let mut built = Vec::with_capacity(requests.len());
    let mut invalid = Vec::new();
    for (index, request) in requests.into_iter().enumerate() {
        match request.into_inner() {
            Ok(inner) => built.push(inner),
            Err(error) => invalid.push((index, error)),
        }
    }
    let mut answers: Vec<Result<Response, ConnectorError>> = host::send_many(&built)
        .into_iter()
        .map(|result| result.map_err(from_http_error))
        .collect();
    for (index, error) in invalid {
        answers.insert(index, Err(error));
    }
    answers
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

/// Decodes a JSON body, naming the expected type when it does not fit. `T` may borrow from
/// the body (`&str`, `Cow<str>`, `&RawValue` fields), which saves copying every string of a
/// large page.
pub fn decode_json<'a, T: serde::Deserialize<'a>>(
    response: &'a Response,
) -> Result<T, ConnectorError> {
    let unexpected = |e: &dyn std::fmt::Display| {
        ConnectorError::Permanent(format!(
            "unexpected response from the vendor (wanted {}): {e}",
            std::any::type_name::<T>()
        ))
    };
    // The body is checked as UTF-8 once, in one pass, and parsed from `str`: parsing bytes
    // would check each string again on its own, which was ~5% of a connector's time on a page
    // of Jira issues (thousands of short keys and texts).
    let text = std::str::from_utf8(&response.body).map_err(|e| unexpected(&e))?;
    serde_json::from_str(text).map_err(|e| unexpected(&e))
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

    /// The `rel="next"` target of the `Link` header (RFC 8288), if any: pass it back as the
    /// next page's cursor and resolve it with [`crate::LinkHeader::resolve`].
    pub fn link_next(&self) -> Option<String> {
        self.header("link").and_then(crate::LinkHeader::next)
    }

    /// The body decoded as JSON; `T` may borrow strings from the body.
    pub fn json<'a, T: serde::Deserialize<'a>>(&'a self) -> Result<T, ConnectorError> {
        decode_json(self)
    }

    /// A `Link`-paged answer: the JSON array of entries and the next page's cursor (the
    /// `rel="next"` link), for [`crate::LinkHeader::request`] to follow.
    pub fn json_page<T: DeserializeOwned>(
        &self,
    ) -> Result<(Vec<T>, Option<String>), ConnectorError> {
        Ok((decode_json(self)?, self.link_next()))
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
    fn a_header_replaces_one_of_the_same_name() {
        let request = Request::get("https://api.tracker.example")
            .header("Accept", "application/vnd.tracker+json")
            .header("x-one", "1");
        let accepts: Vec<&str> = request
            .inner
            .headers
            .iter()
            .filter(|(n, _)| n == "accept")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(accepts, ["application/vnd.tracker+json"]);
    }

    #[test]
    fn path_segments_and_query_values_are_encoded() {
        let request = Request::get("https://api.tracker.example/v1/")
            .path(["projects", "a/b c?d"])
            .query("q", "x&y=z")
            .query_opt("since", None::<&str>);
        assert_eq!(
            request.url(),
            "https://api.tracker.example/v1/projects/a%2Fb%20c%3Fd?q=x%26y%3Dz"
        );
        for broken in [
            Request::get("not a url").path(["x"]),
            Request::get("https://api.tracker.example").path(["items", ".."]),
            Request::get("https://api.tracker.example").path([""]),
        ] {
            assert!(broken.into_inner().is_err());
        }
    }

    #[test]
    fn long_error_text_is_cut_on_a_char_boundary() {
        let text = "é".repeat(MAX_ERROR_TEXT);
        assert!(vendor_error_text(text.as_bytes()).len() <= MAX_ERROR_TEXT);
    }
}
