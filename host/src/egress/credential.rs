use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

/// A connection's credential, held only by the host. `Debug` never shows the secret.
#[derive(Clone)]
pub enum Credential {
    /// Username (or e-mail) and password (or API token).
    Basic {
        /// The username or e-mail.
        username: String,
        /// The password or API token.
        password: SecretString,
    },
    /// A bearer token (static, or an OAuth access token).
    Bearer {
        /// The token.
        token: SecretString,
    },
    /// An API key.
    ApiKey {
        /// The key.
        key: SecretString,
    },
    /// Several named secrets (Datadog's API key and application key), each placed on its own.
    Parts {
        /// Each part's name and secret.
        parts: Vec<(String, SecretString)>,
    },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Basic { username, .. } => write!(f, "Basic({username}, [redacted])"),
            Self::Bearer { .. } => f.write_str("Bearer([redacted])"),
            Self::ApiKey { .. } => f.write_str("ApiKey([redacted])"),
            Self::Parts { parts } => {
                let names: Vec<&str> = parts.iter().map(|(name, _)| name.as_str()).collect();
                write!(f, "Parts({names:?}, [redacted])")
            }
        }
    }
}

/// Where the credential goes on a request, as the connector's auth method declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialPlacement {
    /// `Authorization: Basic`.
    Basic,
    /// `Authorization: Bearer`.
    Bearer,
    /// A header of this name.
    Header(String),
    /// A query parameter of this name.
    Query(String),
    /// Each named part of a [`Credential::Parts`] where its own placement says.
    Parts(Vec<(String, CredentialPlacement)>),
}

impl CredentialPlacement {
    /// The headers a guest must not set itself, because the credential goes there.
    pub fn reserved_headers(&self) -> Vec<&str> {
        match self {
            Self::Header(name) => vec![name.as_str()],
            Self::Basic | Self::Bearer => vec!["authorization"],
            Self::Query(_) => Vec::new(),
            Self::Parts(parts) => parts
                .iter()
                .flat_map(|(_, placement)| placement.reserved_headers())
                .collect(),
        }
    }
}

impl Credential {
    /// Puts the credential on a request. `Err` says which pairing is impossible (for example
    /// a Basic placement for a lone API key); it never contains the secret.
    pub fn apply(
        &self,
        placement: &CredentialPlacement,
        url: &mut url::Url,
        headers: &mut HeaderMap,
    ) -> Result<(), String> {
        match placement {
            CredentialPlacement::Basic => {
                let Self::Basic { username, password } = self else {
                    return Err(MISMATCH.into());
                };
                let pair = format!("{username}:{}", password.expose_secret());
                let value = format!("Basic {}", STANDARD.encode(pair));
                headers.insert(reqwest::header::AUTHORIZATION, sensitive(&value)?);
            }
            CredentialPlacement::Bearer => {
                let value = format!("Bearer {}", self.single_secret()?);
                headers.insert(reqwest::header::AUTHORIZATION, sensitive(&value)?);
            }
            CredentialPlacement::Header(_) | CredentialPlacement::Query(_) => {
                place(placement, self.single_secret()?, url, headers)?;
            }
            CredentialPlacement::Parts(rules) => {
                let Self::Parts { parts } = self else {
                    return Err(MISMATCH.into());
                };
                for (name, rule) in rules {
                    let secret = parts
                        .iter()
                        .find(|(part, _)| part == name)
                        .map(|(_, secret)| secret.expose_secret())
                        .ok_or_else(|| format!("the stored credential has no part `{name}`"))?;
                    place(rule, secret, url, headers)?;
                }
            }
        }
        Ok(())
    }

    /// The token or key of a one-part credential.
    fn single_secret(&self) -> Result<&str, String> {
        match self {
            Self::Bearer { token } => Ok(token.expose_secret()),
            Self::ApiKey { key } => Ok(key.expose_secret()),
            Self::Basic { .. } | Self::Parts { .. } => Err(MISMATCH.into()),
        }
    }
}

/// Puts one secret in the header or query parameter `placement` names.
fn place(
    placement: &CredentialPlacement,
    secret: &str,
    url: &mut url::Url,
    headers: &mut HeaderMap,
) -> Result<(), String> {
    match placement {
        CredentialPlacement::Header(name) => {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("`{name}` is not a valid header name"))?;
            headers.insert(name, sensitive(secret)?);
        }
        CredentialPlacement::Query(name) => {
            url.query_pairs_mut().append_pair(name, secret);
        }
        _ => return Err(MISMATCH.into()),
    }
    Ok(())
}

const MISMATCH: &str = "the stored credential does not fit the connector's auth method";

/// Marked sensitive so hyper never prints it (HPACK also skips indexing it).
fn sensitive(value: &str) -> Result<HeaderValue, String> {
    let mut value = HeaderValue::from_str(value)
        .map_err(|_| "the stored credential is not valid header text".to_owned())?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(credential: Credential, placement: CredentialPlacement) -> (url::Url, HeaderMap) {
        let mut url = url::Url::parse("https://api.example/x").unwrap();
        let mut headers = HeaderMap::new();
        credential
            .apply(&placement, &mut url, &mut headers)
            .unwrap();
        (url, headers)
    }

    #[test]
    fn each_placement_puts_the_secret_where_declared() {
        let (_, h) = apply(
            Credential::Basic {
                username: "me@x.io".into(),
                password: "tok".into(),
            },
            CredentialPlacement::Basic,
        );
        assert_eq!(h["authorization"], "Basic bWVAeC5pbzp0b2s=");
        let (_, h) = apply(
            Credential::Bearer {
                token: "abc".into(),
            },
            CredentialPlacement::Bearer,
        );
        assert_eq!(h["authorization"], "Bearer abc");
        let (_, h) = apply(
            Credential::ApiKey { key: "k1".into() },
            CredentialPlacement::Header("dd-api-key".into()),
        );
        assert_eq!(h["dd-api-key"], "k1");
        let (u, _) = apply(
            Credential::ApiKey { key: "k 2".into() },
            CredentialPlacement::Query("api_key".into()),
        );
        assert_eq!(u.query(), Some("api_key=k+2"));
    }

    #[test]
    fn each_part_goes_on_its_own_header() {
        let credential = Credential::Parts {
            parts: vec![
                ("api_key".into(), "a-1".into()),
                ("application_key".into(), "b-2".into()),
            ],
        };
        let rule = CredentialPlacement::Parts(vec![
            (
                "api_key".into(),
                CredentialPlacement::Header("dd-api-key".into()),
            ),
            (
                "application_key".into(),
                CredentialPlacement::Header("dd-application-key".into()),
            ),
        ]);
        assert_eq!(
            rule.reserved_headers(),
            ["dd-api-key", "dd-application-key"]
        );
        let (_, h) = apply(credential.clone(), rule);
        assert_eq!(h["dd-api-key"], "a-1");
        assert_eq!(h["dd-application-key"], "b-2");
        assert!(!format!("{credential:?}").contains("a-1"));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let shown = format!(
            "{:?}",
            Credential::Bearer {
                token: "very-secret".into()
            }
        );
        assert!(!shown.contains("very-secret"));
    }

    #[test]
    fn a_lone_key_cannot_be_sent_as_basic() {
        let mut url = url::Url::parse("https://api.example/").unwrap();
        let result = Credential::ApiKey { key: "k".into() }.apply(
            &CredentialPlacement::Basic,
            &mut url,
            &mut HeaderMap::new(),
        );
        assert!(result.is_err());
    }
}
