//! Where a delivery may go: an `https` URL (plain `http` only where private endpoints are
//! allowed), no credentials in it, and every address its host resolves to allowed by the same
//! guard plugins' egress goes through. Checked when an endpoint is saved and again before every
//! attempt, and the client's resolver checks the addresses it connects to, so a name that
//! later points inside the network is refused too.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::egress::{AddressGuard, GuardedResolver, HostRefusal};

/// Longest endpoint URL.
pub const MAX_URL: usize = 2048;

/// Why a URL is refused.
#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Denied(String),
}

/// The guard for endpoints.
pub fn guard(allow_private: bool) -> AddressGuard {
    AddressGuard { allow_private }
}

/// Checks the URL's form (no network).
pub fn parse(url: &str, allow_private: bool) -> Result<Url, DestinationError> {
    if url.len() > MAX_URL {
        return Err(DestinationError::Invalid(format!(
            "url must be at most {MAX_URL} characters"
        )));
    }
    let parsed =
        Url::parse(url).map_err(|e| DestinationError::Invalid(format!("url is not a URL: {e}")))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => {
            return Err(DestinationError::Invalid("url must be https".into()));
        }
        other => {
            return Err(DestinationError::Invalid(format!(
                "url scheme `{other}` is not http(s)"
            )));
        }
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(DestinationError::Invalid(
            "url must not carry credentials".into(),
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(DestinationError::Invalid("url has no host".into()));
    }
    Ok(parsed)
}

/// Resolves the URL's host and checks every address.
pub async fn check(url: &Url, allow_private: bool) -> Result<(), DestinationError> {
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']');
    guard(allow_private)
        .check_url_host(url, Duration::from_secs(5))
        .await
        .map_err(|refusal| match refusal {
            HostRefusal::NoHost => DestinationError::Invalid("url has no host".into()),
            HostRefusal::Timeout => {
                DestinationError::Denied(format!("`{host}` did not resolve in time"))
            }
            HostRefusal::Unresolvable(e) => {
                DestinationError::Denied(format!("`{host}` does not resolve: {e}"))
            }
            HostRefusal::NoAddresses => {
                DestinationError::Denied(format!("`{host}` has no addresses"))
            }
            // What an internal name resolves to is the operator's business: the tenant learns
            // only that the endpoint is refused (else the check maps the private network).
            HostRefusal::Denied(why) => {
                tracing::info!(%host, %why, "a webhook endpoint was refused: its address is not allowed");
                DestinationError::Denied(format!(
                    "`{host}` is not an address webhooks may be sent to"
                ))
            }
        })
}

/// The client deliveries are sent with: no redirects (a receiver cannot bounce a signed body
/// elsewhere), no environment proxy, and the guarded resolver.
pub fn client(allow_private: bool, timeout: Duration) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver {
            guard: guard(allow_private),
        }))
        .connect_timeout(timeout)
        .timeout(timeout)
        .user_agent(concat!(
            "connector-host-webhooks/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()?)
}
