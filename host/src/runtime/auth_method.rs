//! Which auth method a credential serves: one table, read when a connection is created (to
//! choose and check its method) and when a plugin is called (to place the credential).

use super::manifest::{AuthMethodManifest, ConnectorManifest, CredentialKindManifest};
use crate::egress::Credential;

/// Why no auth method of a connector serves a credential.
#[derive(Debug, thiserror::Error)]
pub enum AuthMethodMismatch {
    /// The named method does not exist.
    #[error("connector `{connector}` has no auth method `{method}`")]
    Unknown {
        /// The connector.
        connector: String,
        /// The method named.
        method: String,
    },
    /// The named method takes another kind of credential.
    #[error("auth method `{method}` does not take `{kind}` credentials")]
    WrongKind {
        /// The method named.
        method: String,
        /// The kind of credential given.
        kind: &'static str,
    },
    /// None was named and none takes this kind.
    #[error("connector `{connector}` takes no credentials of this type; see its auth_methods")]
    NoneTakes {
        /// The connector.
        connector: String,
    },
}

impl CredentialKindManifest {
    /// Whether an auth method of this kind takes `credential`. A bearer token serves an OAuth
    /// 2.0 method only when `from_grant` (the host's own grant issued it): a pasted token has no
    /// refresh token and was not issued at the method's pinned token endpoint.
    pub fn takes(&self, credential: &Credential, from_grant: bool) -> bool {
        matches!(
            (self, credential),
            (Self::Basic, Credential::Basic { .. })
                | (Self::Bearer, Credential::Bearer { .. })
                | (Self::ApiKey, Credential::ApiKey { .. })
                | (Self::MultiPart { .. }, Credential::Parts { .. })
        ) || (from_grant
            && matches!(
                (self, credential),
                (Self::Oauth2 { .. }, Credential::Bearer { .. })
            ))
    }
}

/// The name of a credential's kind, for messages.
fn kind_name(credential: &Credential, from_grant: bool) -> &'static str {
    match credential {
        Credential::Basic { .. } => "basic",
        Credential::Bearer { .. } if from_grant => "oauth2",
        Credential::Bearer { .. } => "bearer",
        Credential::ApiKey { .. } => "api_key",
        Credential::Parts { .. } => "parts",
    }
}

impl ConnectorManifest {
    /// The auth method `credential` is used with: the one `wanted`, which must take it, or
    /// else the first that takes it.
    pub fn auth_method_for(
        &self,
        wanted: Option<&str>,
        credential: &Credential,
        from_grant: bool,
    ) -> Result<&AuthMethodManifest, AuthMethodMismatch> {
        match wanted {
            Some(id) => {
                let method = self
                    .auth_method(id)
                    .ok_or_else(|| AuthMethodMismatch::Unknown {
                        connector: self.id.clone(),
                        method: id.to_owned(),
                    })?;
                if !method.kind.takes(credential, from_grant) {
                    return Err(AuthMethodMismatch::WrongKind {
                        method: id.to_owned(),
                        kind: kind_name(credential, from_grant),
                    });
                }
                Ok(method)
            }
            None => self
                .auth_methods
                .iter()
                .find(|method| method.kind.takes(credential, from_grant))
                .ok_or_else(|| AuthMethodMismatch::NoneTakes {
                    connector: self.id.clone(),
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    fn bearer() -> Credential {
        Credential::Bearer {
            token: SecretString::from("t"),
        }
    }

    #[test]
    fn a_pasted_token_never_serves_an_oauth_method_and_a_grants_token_does() {
        let oauth = crate::runtime::manifest::oauth2_kind("https://vendor.example/token");
        assert!(!oauth.takes(&bearer(), false));
        assert!(oauth.takes(&bearer(), true));
        assert!(CredentialKindManifest::Bearer.takes(&bearer(), false));
        assert!(CredentialKindManifest::Bearer.takes(&bearer(), true));
        let key = Credential::ApiKey {
            key: SecretString::from("k"),
        };
        assert!(!CredentialKindManifest::Bearer.takes(&key, true));
        assert!(CredentialKindManifest::ApiKey.takes(&key, false));
        assert_eq!(kind_name(&bearer(), true), "oauth2");
    }
}
