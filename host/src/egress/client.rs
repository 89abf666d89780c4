use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use super::policy::redact;
use super::{AddressGuard, ConnectionScope, EgressBudget, EgressPolicy};

/// Headers a guest may never set: they carry credentials or belong to the transport.
const FORBIDDEN_HEADERS: &[&str] = &[
    "authorization",
    "cookie",
    "host",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

/// Most headers one guest request may carry, and their total size: far above what any vendor
/// API needs, far below what would make the host's header map misbehave (it panics past
/// 24,576 names).
const MAX_GUEST_HEADERS: usize = 100;
const MAX_GUEST_HEADER_BYTES: usize = 64 << 10;

/// HTTP method of an egress request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// HEAD.
    Head,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
}

/// A request a plugin asked for, before the host's checks.
#[derive(Debug, Clone)]
pub struct EgressRequest {
    /// The method.
    pub method: Method,
    /// The URL, which the egress policy checks.
    pub url: String,
    /// Headers; the credential is added by the host, never here.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Option<Vec<u8>>,
    /// Whether to attach the connection's credential.
    pub with_credential: bool,
    /// A deadline shorter than the call's, for this request.
    pub timeout: Option<Duration>,
}

/// The answer after redirects. Header names are lower case.
#[derive(Debug, Clone)]
pub struct EgressResponse {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: Vec<(String, String)>,
    /// The body, within the size limits.
    pub body: Vec<u8>,
}

/// Why a request got no answer. Messages never contain a credential or a query string.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EgressError {
    /// The policy refused the destination.
    #[error("egress denied: {0}")]
    Denied(String),
    /// The request is malformed.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The vendor did not answer in time.
    #[error("timed out")]
    Timeout,
    /// No connection could be made.
    #[error("connection failed: {0}")]
    ConnectionFailed(String),
    /// The response was larger than allowed (bytes).
    #[error("response larger than {0} bytes")]
    TooLarge(u64),
    /// The call has no request left for a redirect hop.
    #[error("the call's request budget is spent (redirect hops count)")]
    BudgetExhausted,
    /// The call's responses together would pass its byte budget.
    #[error("the call's responses together exceed {0} bytes")]
    CallBytesExhausted(u64),
}

impl EgressError {
    /// A short, bounded name of the failure, for span attributes and metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Denied(_) => "denied",
            Self::InvalidRequest(_) => "invalid_request",
            Self::Timeout => "timeout",
            Self::ConnectionFailed(_) => "connection_failed",
            Self::TooLarge(_) => "too_large",
            Self::BudgetExhausted => "request_budget",
            Self::CallBytesExhausted(_) => "byte_budget",
        }
    }
}

/// The only HTTP client plugins reach the world through.
#[derive(Clone)]
pub struct EgressClient {
    http: reqwest::Client,
    policy: Arc<EgressPolicy>,
}

impl EgressClient {
    /// Builds the client. A rustls crypto provider must be installed first
    /// (`connector_host::install_crypto_provider`).
    pub fn new(policy: EgressPolicy) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            // Redirects are followed below, so that every hop is checked.
            .redirect(reqwest::redirect::Policy::none())
            // An environment proxy would bypass the address checks.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                guard: policy.guard,
            }))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("connector-host/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            policy: Arc::new(policy),
        })
    }

    /// The policy in force.
    pub fn policy(&self) -> &EgressPolicy {
        &self.policy
    }

    /// Sends `request` within `scope`, following redirects hop by hop (each hop after the first
    /// takes a request from `budget`; the first was taken by the caller), reading at most
    /// `max_body` bytes of this response and no more than `budget` has left, and giving up at
    /// `deadline`.
    pub async fn send(
        &self,
        scope: &ConnectionScope,
        request: EgressRequest,
        deadline: Instant,
        max_body: u64,
        budget: &EgressBudget,
    ) -> Result<EgressResponse, EgressError> {
        let started = std::time::Instant::now();
        let span = request_span(&request);
        let result = tracing::Instrument::instrument(
            self.send_hops(scope, request, deadline, max_body, budget),
            span.clone(),
        )
        .await;
        let outcome = match &result {
            Ok(response) => match response.status {
                100..=199 => "1xx",
                200..=299 => "2xx",
                300..=399 => "3xx",
                400..=499 => "4xx",
                _ => "5xx",
            },
            Err(error) => error.kind(),
        };
        if !span.is_disabled() {
            match &result {
                Ok(response) => {
                    span.record("http.response.status_code", response.status);
                    span.record("http.response.body.size", response.body.len());
                    if response.status >= 500 {
                        span.record("otel.status_code", "error");
                        span.record("error.type", response.status);
                    }
                }
                Err(error) => {
                    span.record("otel.status_code", "error");
                    span.record("error.type", error.kind());
                }
            }
        }
        let requester = match &*scope.requester {
            "" => "host".to_owned(),
            requester => requester.to_owned(),
        };
        metrics::histogram!("egress_request_duration_seconds", "requester" => requester, "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
        result
    }

    async fn send_hops(
        &self,
        scope: &ConnectionScope,
        request: EgressRequest,
        deadline: Instant,
        max_body: u64,
        budget: &EgressBudget,
    ) -> Result<EgressResponse, EgressError> {
        let mut url = Url::parse(&request.url)
            .map_err(|e| EgressError::InvalidRequest(format!("bad URL: {e}")))?;
        let reserved: Vec<&str> = scope
            .credential
            .as_ref()
            .map(|c| c.1.reserved_headers())
            .unwrap_or_default();
        let guest_headers = guest_headers(&request.headers, &reserved)?;
        let mut method = request.method;
        let mut body = request.body;
        let mut with_credential = request.with_credential;
        if with_credential && scope.credential.is_none() {
            return Err(EgressError::Denied(
                "this call has no connection credential to attach".into(),
            ));
        }

        for hop in 0..=self.policy.max_redirects {
            if hop > 0 && !budget.take_request() {
                return Err(EgressError::BudgetExhausted);
            }
            self.policy
                .check_url(scope, &url)
                .map_err(EgressError::Denied)?;
            let mut headers = guest_headers.clone();
            let mut target = url.clone();
            if with_credential {
                if !scope.credential_bound_to(&url) {
                    if hop == 0 {
                        return Err(EgressError::Denied(format!(
                            "the connection's credential is not bound to {}",
                            redact(&url)
                        )));
                    }
                    // A redirect off the bound origin continues without the credential, as
                    // browsers drop Authorization on a cross-origin hop.
                    with_credential = false;
                } else if let Some(credential) = &scope.credential {
                    let (credential, placement) = credential.as_ref();
                    credential
                        .apply(placement, &mut target, &mut headers)
                        .map_err(EgressError::InvalidRequest)?;
                }
            }

            let remaining = deadline.saturating_duration_since(Instant::now());
            let timeout = request.timeout.map_or(remaining, |t| t.min(remaining));
            if timeout.is_zero() {
                return Err(EgressError::Timeout);
            }
            let mut builder = self
                .http
                .request(reqwest_method(method), target)
                .headers(headers)
                .timeout(timeout);
            if let Some(bytes) = &body {
                let filled = match &scope.substitution {
                    Some(sub) if sub.applies_to(bytes) => {
                        if !scope.credential_bound_to(&url) {
                            return Err(EgressError::Denied(format!(
                                "the webhook secret may go only where the connection's credential goes, not to {}",
                                redact(&url)
                            )));
                        }
                        sub.fill(bytes)
                    }
                    _ => bytes.clone(),
                };
                builder = builder.body(filled);
            }
            let response = builder.send().await.map_err(transport_error)?;

            if let Some(next) = redirect_target(&url, &response)? {
                if hop == self.policy.max_redirects {
                    return Err(EgressError::ConnectionFailed(format!(
                        "more than {} redirects",
                        self.policy.max_redirects
                    )));
                }
                if response.status() == StatusCode::SEE_OTHER
                    || (matches!(
                        response.status(),
                        StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND
                    ) && method == Method::Post)
                {
                    method = Method::Get;
                    body = None;
                }
                url = next;
                continue;
            }
            let mut answer = read_response(response, max_body, budget).await?;
            if let Some(sub) = &scope.substitution {
                answer.body = sub.scrub(answer.body);
            }
            return Ok(answer);
        }
        Err(EgressError::ConnectionFailed("redirect loop".into()))
    }
}

/// The span of one vendor request when telemetry is on: the method and the vendor's host and
/// port, never the path or query (they may carry ids or keys the tenant did not choose) nor any
/// header or body.
fn request_span(request: &EgressRequest) -> tracing::Span {
    if !crate::telemetry::enabled() {
        return tracing::Span::none();
    }
    let (host, port) = Url::parse(&request.url)
        .map(|url| {
            (
                url.host_str().unwrap_or_default().to_owned(),
                url.port_or_known_default(),
            )
        })
        .unwrap_or_default();
    let method = reqwest_method(request.method);
    let method = method.as_str();
    crate::otel_span!(
        "egress request",
        otel.name = method,
        otel.kind = "client",
        http.request.method = method,
        server.address = host,
        server.port = port,
        http.response.status_code = tracing::field::Empty,
        http.response.body.size = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
    )
}

fn guest_headers(pairs: &[(String, String)], reserved: &[&str]) -> Result<HeaderMap, EgressError> {
    if pairs.len() > MAX_GUEST_HEADERS {
        return Err(EgressError::InvalidRequest(format!(
            "{} headers; at most {MAX_GUEST_HEADERS} are allowed",
            pairs.len()
        )));
    }
    let bytes: usize = pairs.iter().map(|(n, v)| n.len() + v.len()).sum();
    if bytes > MAX_GUEST_HEADER_BYTES {
        return Err(EgressError::InvalidRequest(format!(
            "headers of {bytes} bytes; at most {MAX_GUEST_HEADER_BYTES} are allowed"
        )));
    }
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        let lower = name.to_ascii_lowercase();
        if FORBIDDEN_HEADERS.contains(&lower.as_str())
            || lower.starts_with("proxy-")
            || reserved.iter().any(|r| r.eq_ignore_ascii_case(&lower))
        {
            tracing::debug!(header = %lower, "dropped a header the guest may not set");
            continue;
        }
        let name = HeaderName::from_bytes(lower.as_bytes()).map_err(|_| {
            EgressError::InvalidRequest(format!("`{name}` is not a valid header name"))
        })?;
        let value = HeaderValue::from_str(value).map_err(|_| {
            EgressError::InvalidRequest(format!("header `{name}` has an invalid value"))
        })?;
        headers.append(name, value);
    }
    Ok(headers)
}

fn redirect_target(from: &Url, response: &reqwest::Response) -> Result<Option<Url>, EgressError> {
    if !matches!(response.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
        return Ok(None);
    }
    let Some(location) = response.headers().get(reqwest::header::LOCATION) else {
        return Ok(None);
    };
    let location = location.to_str().map_err(|_| {
        EgressError::ConnectionFailed("redirect with an unreadable Location".into())
    })?;
    from.join(location)
        .map(Some)
        .map_err(|_| EgressError::ConnectionFailed("redirect with an invalid Location".into()))
}

async fn read_response(
    mut response: reqwest::Response,
    max_body: u64,
    budget: &EgressBudget,
) -> Result<EgressResponse, EgressError> {
    if response.content_length().is_some_and(|len| len > max_body) {
        return Err(EgressError::TooLarge(max_body));
    }
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    // Sized up front from Content-Length (never past the cap), so a 100 KB page is not
    // copied again at every doubling.
    let expected = response.content_length().unwrap_or(0).min(max_body);
    let mut body = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() as u64 + chunk.len() as u64 > max_body {
            return Err(EgressError::TooLarge(max_body));
        }
        if !budget.take_bytes(chunk.len() as u64) {
            return Err(EgressError::CallBytesExhausted(budget.byte_limit()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(EgressResponse {
        status,
        headers,
        body,
    })
}

fn reqwest_method(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Head => reqwest::Method::HEAD,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    }
}

/// Classifies a transport error; the URL is dropped because its query may carry an API key.
fn transport_error(error: reqwest::Error) -> EgressError {
    if let Some(denied) = find_cause::<AddressDenied>(&error) {
        return EgressError::Denied(denied.0.clone());
    }
    if error.is_timeout() {
        return EgressError::Timeout;
    }
    let error = error.without_url();
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    EgressError::ConnectionFailed(message)
}

fn find_cause<'a, E: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    let mut current = Some(error);
    while let Some(cause) = current {
        if let Some(found) = cause.downcast_ref::<E>() {
            return Some(found);
        }
        current = cause.source();
    }
    None
}

/// Raised by the resolver when every address of a name is refused.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct AddressDenied(String);

/// Resolves names with the system resolver and keeps only the addresses the guard allows, so
/// a name that points at a private address is refused after resolution, not before.
pub(crate) struct GuardedResolver {
    pub(crate) guard: AddressGuard,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refusal = None;
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|addr| match guard.check(addr.ip()) {
                    Ok(()) => true,
                    Err(why) => {
                        refusal = Some(why);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let why = refusal.unwrap_or_else(|| "no addresses".to_owned());
                return Err(Box::new(AddressDenied(format!("`{host}` resolves to {why}"))) as _);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::SecretSubstitution;

    /// A hostile plugin that puts the webhook secret's placeholder in a request to a host the
    /// credential is not bound to gets `Denied` before anything is sent.
    #[tokio::test]
    async fn the_webhook_secret_goes_only_where_the_credential_goes() {
        crate::install_crypto_provider();
        let policy = EgressPolicy {
            guard: AddressGuard {
                allow_private: true,
            },
            ..EgressPolicy::default()
        };
        let client = EgressClient::new(policy).unwrap();
        let scope = ConnectionScope {
            plugin_hosts: vec![crate::egress::HostPattern::parse("127.0.0.1").unwrap()],
            origin: Some(Url::parse("http://127.0.0.1:1").unwrap().origin()),
            substitution: Some(Arc::new(SecretSubstitution {
                placeholder: "{{ph}}".into(),
                secret: secrecy::SecretString::from("the-secret"),
            })),
            ..ConnectionScope::default()
        };
        let request = EgressRequest {
            method: Method::Post,
            // Same host, another port: another origin.
            url: "http://127.0.0.1:2/steal".into(),
            headers: Vec::new(),
            body: Some(br#"{"secret":"{{ph}}"}"#.to_vec()),
            with_credential: false,
            timeout: None,
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        let error = client
            .send(
                &scope,
                request,
                deadline,
                1 << 20,
                &EgressBudget::unlimited(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&error, EgressError::Denied(why) if why.contains("webhook secret")),
            "{error}"
        );
    }
}
