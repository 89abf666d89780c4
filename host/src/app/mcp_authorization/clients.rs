//! Who an MCP client is. Two ways in, and neither writes to the store:
//! - **Dynamic Client Registration** (RFC 7591): the registration is the `client_id` itself,
//!   its metadata signed with a key derived from the master key, so registering costs one
//!   HMAC and any host of a cluster recognises the id. A registration expires when no
//!   authorization used it within `registration_ttl`.
//! - **Client ID Metadata Document**: the `client_id` is an `https` URL whose document names
//!   the client and its redirect URIs ([`super::client_metadata`]).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::OAuthError;

/// Prefix of the client ids this host signs.
const REGISTERED_PREFIX: &str = "mcpc1.";
/// Most redirect URIs one client may register.
const MAX_REDIRECT_URIS: usize = 5;
/// Longest redirect URI.
const MAX_REDIRECT_URI: usize = 512;
/// Longest client name (characters).
const MAX_NAME: usize = 100;
/// What the master key is derived into for signing registrations.
const KEY_PURPOSE: &str = "mcp-client-registration";

/// A client, however it registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Its `client_id`.
    pub id: String,
    /// What it calls itself, shown on the consent page.
    pub name: String,
    /// Where codes may go: exactly one of these.
    pub redirect_uris: Vec<String>,
    /// How it made itself known.
    pub source: ClientSource,
}

/// How a client made itself known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientSource {
    /// Dynamic Client Registration at this host, at this unix second.
    Registered {
        /// Unix seconds.
        issued_at: u64,
    },
    /// A metadata document at the URL that is its id.
    MetadataDocument,
}

/// The body of `POST /oauth/register` (RFC 7591), as far as this server reads it.
#[derive(Debug, Deserialize)]
/// The RFC's parameters, by their RFC names.
#[allow(missing_docs)]
pub struct RegistrationRequest {
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub client_name: Option<String>,
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    pub grant_types: Option<Vec<String>>,
    #[serde(default)]
    pub response_types: Option<Vec<String>>,
}

/// What a registration answers (RFC 7591 §3.2.1).
#[derive(Debug, Serialize)]
/// The RFC's parameters, by their RFC names.
#[allow(missing_docs)]
pub struct Registration {
    pub client_id: String,
    pub client_id_issued_at: u64,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: [&'static str; 2],
    pub response_types: [&'static str; 1],
    pub token_endpoint_auth_method: &'static str,
}

/// What a signed client id carries.
#[derive(Serialize, Deserialize)]
struct Claims {
    /// Name.
    n: String,
    /// Redirect URIs.
    r: Vec<String>,
    /// Issued at (unix seconds).
    t: u64,
}

fn mac(key: &[u8; 32], payload: &[u8]) -> Hmac<Sha256> {
    // An HMAC takes a key of any length: a 32-byte one cannot be refused.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(payload);
    mac
}

/// Registers a public client: checks its metadata and signs it into a client id.
pub fn register(
    keys: &crate::store::KeyRing,
    request: RegistrationRequest,
    now: u64,
) -> Result<Registration, OAuthError> {
    if let Some(method) = request.token_endpoint_auth_method.as_deref()
        && method != "none"
    {
        return Err(OAuthError::InvalidClientMetadata(format!(
            "token_endpoint_auth_method `{method}` is not supported: MCP clients register as public clients (`none`) and prove themselves with PKCE"
        )));
    }
    if let Some(grants) = &request.grant_types
        && !grants.iter().any(|g| g == "authorization_code")
    {
        return Err(OAuthError::InvalidClientMetadata(
            "grant_types must include authorization_code".into(),
        ));
    }
    if let Some(types) = &request.response_types
        && types.iter().any(|t| t != "code")
    {
        return Err(OAuthError::InvalidClientMetadata(
            "response_types may only be [\"code\"]".into(),
        ));
    }
    check_redirect_uris(&request.redirect_uris).map_err(OAuthError::InvalidRedirectUri)?;
    let name =
        client_name(request.client_name.as_deref()).map_err(OAuthError::InvalidClientMetadata)?;
    let claims = Claims {
        n: name.clone(),
        r: request.redirect_uris.clone(),
        t: now,
    };
    let payload = URL_SAFE_NO_PAD.encode(
        serde_json::to_vec(&claims)
            .map_err(|e| OAuthError::InvalidClientMetadata(e.to_string()))?,
    );
    let key = keys.derive_key(KEY_PURPOSE);
    let tag = URL_SAFE_NO_PAD.encode(mac(&key, payload.as_bytes()).finalize().into_bytes());
    Ok(Registration {
        client_id: format!("{REGISTERED_PREFIX}{payload}.{tag}"),
        client_id_issued_at: now,
        client_name: name,
        redirect_uris: request.redirect_uris,
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        token_endpoint_auth_method: "none",
    })
}

/// The registered client a signed id names; `None` when the id is not one this host signed
/// (a metadata document's URL, or garbage).
pub fn registered(
    keys: &crate::store::KeyRing,
    client_id: &str,
) -> Result<Option<Client>, OAuthError> {
    let Some(rest) = client_id.strip_prefix(REGISTERED_PREFIX) else {
        return Ok(None);
    };
    let invalid = || OAuthError::InvalidClient("the client_id was not issued by this host".into());
    let (payload, tag) = rest.split_once('.').ok_or_else(invalid)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
    let key = keys.derive_key(KEY_PURPOSE);
    mac(&key, payload.as_bytes())
        .verify_slice(&tag)
        .map_err(|_| invalid())?;
    let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
    let claims: Claims = serde_json::from_slice(&json).map_err(|_| invalid())?;
    Ok(Some(Client {
        id: client_id.to_owned(),
        name: claims.n,
        redirect_uris: claims.r,
        source: ClientSource::Registered {
            issued_at: claims.t,
        },
    }))
}

/// A client's display name: trimmed, without control characters, at most [`MAX_NAME`].
pub(super) fn client_name(name: Option<&str>) -> Result<String, String> {
    let name = name.map(str::trim).unwrap_or_default();
    if name.is_empty() {
        return Ok("MCP client".to_owned());
    }
    if name.chars().count() > MAX_NAME {
        return Err(format!("client_name must be at most {MAX_NAME} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("client_name must not contain control characters".into());
    }
    Ok(name.to_owned())
}

/// Redirect URIs a client may register: one to [`MAX_REDIRECT_URIS`], each `https`, plain
/// `http` only to a loopback host (a native app's local listener, RFC 8252 §7.3), or a
/// private-use scheme with a dot in it (`com.example.app:/callback`, §7.1); never a fragment
/// or credentials.
pub(super) fn check_redirect_uris(uris: &[String]) -> Result<(), String> {
    if uris.is_empty() {
        return Err("redirect_uris must name at least one URI".into());
    }
    if uris.len() > MAX_REDIRECT_URIS {
        return Err(format!(
            "redirect_uris may name at most {MAX_REDIRECT_URIS} URIs"
        ));
    }
    uris.iter().try_for_each(|uri| check_redirect_uri(uri))
}

fn check_redirect_uri(uri: &str) -> Result<(), String> {
    if uri.len() > MAX_REDIRECT_URI {
        return Err(format!(
            "a redirect URI must be at most {MAX_REDIRECT_URI} characters"
        ));
    }
    let parsed = url::Url::parse(uri).map_err(|e| format!("`{uri}` is not a URI: {e}"))?;
    if parsed.fragment().is_some() {
        return Err(format!("`{uri}` must not have a fragment"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!("`{uri}` must not carry credentials"));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&parsed) => Ok(()),
        "http" => Err(format!(
            "`{uri}`: plain http is allowed only to a loopback host (127.0.0.1, [::1], localhost); use https"
        )),
        "javascript" | "data" | "file" | "blob" | "about" | "vbscript" | "ftp" | "ws" | "wss" => {
            Err(format!("`{uri}`: the scheme is not a redirect scheme"))
        }
        scheme if scheme.contains('.') => Ok(()),
        scheme => Err(format!(
            "`{uri}`: a private-use scheme must be a reversed domain name such as com.example.app (RFC 8252), not `{scheme}`"
        )),
    }
}

/// Whether a URL's host is a loopback address or `localhost`.
pub(super) fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> crate::store::KeyRing {
        crate::store::KeyRing::from_keys(&[[7u8; 32]]).unwrap()
    }

    fn request(uris: &[&str]) -> RegistrationRequest {
        RegistrationRequest {
            redirect_uris: uris.iter().map(|u| (*u).to_owned()).collect(),
            client_name: Some("Claude".into()),
            token_endpoint_auth_method: None,
            grant_types: None,
            response_types: None,
        }
    }

    #[test]
    fn a_registration_round_trips_and_a_forged_one_is_refused() {
        let keys = keys();
        let registration = register(
            &keys,
            request(&["https://claude.ai/api/mcp/auth_callback"]),
            42,
        )
        .unwrap();
        let client = registered(&keys, &registration.client_id).unwrap().unwrap();
        assert_eq!(client.name, "Claude");
        assert_eq!(client.source, ClientSource::Registered { issued_at: 42 });
        assert_eq!(
            client.redirect_uris,
            ["https://claude.ai/api/mcp/auth_callback"]
        );

        // Another redirect URI under the same signature.
        let (payload, tag) = registration
            .client_id
            .strip_prefix(REGISTERED_PREFIX)
            .unwrap()
            .split_once('.')
            .unwrap();
        let mut claims: Claims =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        claims.r = vec!["https://evil.example/cb".into()];
        let forged = format!(
            "{REGISTERED_PREFIX}{}.{tag}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap())
        );
        assert!(matches!(
            registered(&keys, &forged),
            Err(OAuthError::InvalidClient(_))
        ));
        // Signed by another host's key.
        let other = crate::store::KeyRing::from_keys(&[[8u8; 32]]).unwrap();
        assert!(registered(&other, &registration.client_id).is_err());
        // Not a registered id at all.
        assert!(
            registered(&keys, "https://app.example/client.json")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn redirect_uris_are_https_loopback_http_or_a_private_use_scheme() {
        for good in [
            "https://chatgpt.com/connector_platform_oauth_redirect",
            "http://127.0.0.1:33418/callback",
            "http://localhost/cb",
            "http://[::1]:8080/cb",
            "com.example.app:/oauth",
        ] {
            assert!(check_redirect_uri(good).is_ok(), "{good}");
        }
        for bad in [
            "http://attacker.example/cb",
            "http://10.0.0.1/cb",
            "https://app.example/cb#frag",
            "https://user:pw@app.example/cb",
            "javascript:alert(1)",
            "myapp:/cb",
            "not a uri",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
        let too_many: Vec<String> = (0..6).map(|i| format!("https://a.example/{i}")).collect();
        assert!(check_redirect_uris(&too_many).is_err());
        assert!(check_redirect_uris(&[]).is_err());
    }

    #[test]
    fn confidential_clients_and_other_grants_are_refused() {
        let mut confidential = request(&["https://a.example/cb"]);
        confidential.token_endpoint_auth_method = Some("client_secret_basic".into());
        assert!(matches!(
            register(&keys(), confidential, 0),
            Err(OAuthError::InvalidClientMetadata(_))
        ));
        let mut implicit = request(&["https://a.example/cb"]);
        implicit.response_types = Some(vec!["token".into()]);
        assert!(register(&keys(), implicit, 0).is_err());
        let mut long_name = request(&["https://a.example/cb"]);
        long_name.client_name = Some("x".repeat(101));
        assert!(register(&keys(), long_name, 0).is_err());
    }
}
