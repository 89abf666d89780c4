//! Client ID Metadata Documents: a client whose `client_id` is an `https` URL publishes its
//! name and redirect URIs there. The host fetches the document only for a signed-in tenant's
//! consent, through the same address guard plugins' egress goes through (no private, loopback
//! or metadata addresses unless the operator allows private ones), without redirects, within
//! 5 seconds and [`MAX_DOCUMENT`] bytes, and keeps what it read for [`CACHE_TTL`] in a
//! bounded cache, so a consent page reloaded does not fetch again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::OAuthError;
use super::clients::{Client, ClientSource, check_redirect_uris, client_name, is_loopback};
use crate::egress::{AddressGuard, GuardedResolver, HostRefusal};

/// Largest document read: 64 KiB.
pub const MAX_DOCUMENT: usize = 64 * 1024;
/// How long a fetched document is trusted.
const CACHE_TTL: Duration = Duration::from_secs(300);
/// Most documents kept; the oldest goes first.
const CACHE_ENTRIES: usize = 512;
/// Longest client id URL.
const MAX_URL: usize = 512;
/// Time one fetch may take, connection included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// The fields of a metadata document this server reads.
#[derive(Deserialize)]
struct Document {
    client_id: String,
    #[serde(default)]
    client_name: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
}

/// Fetched documents, shared by every request of this host.
#[derive(Clone)]
pub struct ClientMetadataCache {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    guard: AddressGuard,
    entries: Mutex<HashMap<String, (Instant, Client)>>,
}

impl ClientMetadataCache {
    /// A cache whose fetches pass `guard`.
    pub fn new(allow_private: bool) -> anyhow::Result<Self> {
        let guard = AddressGuard { allow_private };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { guard }))
            .connect_timeout(FETCH_TIMEOUT)
            .timeout(FETCH_TIMEOUT)
            .user_agent(concat!("connector-host/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                guard,
                entries: Mutex::default(),
            }),
        })
    }

    /// Whether `client_id` has the shape of a metadata document URL (the check a request
    /// gets before anything is fetched).
    pub fn names_a_document(&self, client_id: &str) -> bool {
        self.document_url(client_id).is_ok()
    }

    fn document_url(&self, client_id: &str) -> Result<url::Url, OAuthError> {
        let invalid = |why: &str| OAuthError::InvalidClient(format!("client_id {why}"));
        if client_id.len() > MAX_URL {
            return Err(invalid("is longer than a metadata document URL may be"));
        }
        let url = url::Url::parse(client_id)
            .map_err(|_| invalid("is neither a registration of this host nor a URL"))?;
        let plain_allowed = self.inner.guard.allow_private && is_loopback(&url);
        if url.scheme() != "https" && !(url.scheme() == "http" && plain_allowed) {
            return Err(invalid("must be an https URL"));
        }
        if url.path() == "/" || url.path().is_empty() {
            return Err(invalid("must be a URL with a path"));
        }
        if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("must not carry a fragment or credentials"));
        }
        Ok(url)
    }

    /// The client a metadata document describes, from the cache or fetched now.
    pub async fn client(&self, client_id: &str) -> Result<Client, OAuthError> {
        let url = self.document_url(client_id)?;
        if let Some(client) = self.cached(client_id) {
            return Ok(client);
        }
        let client = self.fetch(&url, client_id).await?;
        self.remember(client_id, &client);
        Ok(client)
    }

    fn cached(&self, client_id: &str) -> Option<Client> {
        let entries = self.inner.entries.lock().ok()?;
        entries
            .get(client_id)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, client)| client.clone())
    }

    fn remember(&self, client_id: &str, client: &Client) {
        let Ok(mut entries) = self.inner.entries.lock() else {
            return;
        };
        entries.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
        if entries.len() >= CACHE_ENTRIES
            && let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(key, _)| key.clone())
        {
            entries.remove(&oldest);
        }
        entries.insert(client_id.to_owned(), (Instant::now(), client.clone()));
    }

    async fn fetch(&self, url: &url::Url, client_id: &str) -> Result<Client, OAuthError> {
        let refused = |why: String| {
            tracing::info!(client_id, %why, "a client metadata document was refused");
            OAuthError::InvalidClient(format!(
                "the client's metadata document could not be used: {why}"
            ))
        };
        self.check_addresses(url).await.map_err(refused)?;
        let mut response = self
            .inner
            .http
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| refused(format!("fetching it failed ({})", without_url(&e))))?;
        if !response.status().is_success() {
            return Err(refused(format!("it answered {}", response.status())));
        }
        if response
            .content_length()
            .is_some_and(|length| length > MAX_DOCUMENT as u64)
        {
            return Err(refused(format!("it is larger than {MAX_DOCUMENT} bytes")));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| refused(format!("reading it failed ({})", without_url(&e))))?
        {
            if body.len() + chunk.len() > MAX_DOCUMENT {
                return Err(refused(format!("it is larger than {MAX_DOCUMENT} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        let document: Document = serde_json::from_slice(&body)
            .map_err(|e| refused(format!("it is not a metadata document ({e})")))?;
        if document.client_id != client_id {
            return Err(refused(
                "its client_id is not the URL it was fetched from".into(),
            ));
        }
        if let Some(method) = document.token_endpoint_auth_method.as_deref()
            && method != "none"
        {
            return Err(refused(format!(
                "token_endpoint_auth_method `{method}` is not supported (public clients only)"
            )));
        }
        check_redirect_uris(&document.redirect_uris).map_err(refused)?;
        let name = client_name(document.client_name.as_deref()).map_err(refused)?;
        Ok(Client {
            id: client_id.to_owned(),
            name,
            redirect_uris: document.redirect_uris,
            source: ClientSource::MetadataDocument,
        })
    }

    /// Every address the URL's host resolves to must pass the guard (IP literals included,
    /// which the client's resolver never sees).
    async fn check_addresses(&self, url: &url::Url) -> Result<(), String> {
        let host = url
            .host_str()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']');
        self.inner
            .guard
            .check_url_host(url, FETCH_TIMEOUT)
            .await
            .map_err(|refusal| match refusal {
                HostRefusal::NoHost => "the URL has no host".to_owned(),
                HostRefusal::Timeout => format!("`{host}` did not resolve in time"),
                HostRefusal::Unresolvable(_) => format!("`{host}` does not resolve"),
                HostRefusal::NoAddresses => format!("`{host}` has no addresses"),
                HostRefusal::Denied(_) => {
                    format!("`{host}` is not an address the host fetches from")
                }
            })
    }
}

/// A reqwest error's text without the URL (which the caller already named).
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "the document");
    }
    text
}
