//! Calls to a vendor's token and revocation endpoints, made by the host through the same
//! egress client as plugins (so the address checks apply), with client authentication placed
//! by the host like any credential.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use secrecy::SecretString;
use serde::Deserialize;

use super::OAuthClient;
use crate::egress::{
    ConnectionScope, Credential, CredentialPlacement, EgressBudget, EgressClient, EgressError,
    EgressRequest, HostPattern, Method,
};

/// Longest a token endpoint may take.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(20);
/// Largest token response read.
const MAX_TOKEN_RESPONSE: u64 = 256 << 10;

/// A successful token response (RFC 6749 §5.1). `Debug` hides the tokens.
#[derive(Clone, Deserialize)]
pub struct TokenResponse {
    /// The new access token.
    pub access_token: String,
    /// A new refresh token, when the vendor rotates them.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Seconds until the access token expires.
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// The scopes granted, space-separated.
    #[serde(default)]
    pub scope: Option<String>,
    /// The response's other top-level fields (`instance_url`, `team`), read only for the values
    /// a connector asks to keep; never logged.
    #[serde(skip)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// How a vendor's token endpoint wants to be spoken to, from the connector's manifest.
#[derive(Debug, Clone, Default)]
pub struct TokenStyle {
    /// Parameters as a JSON object rather than a form (Notion).
    pub json: bool,
    /// JSON pointer to the token set in a code exchange's answer when it is not at the top
    /// level (Slack's `/authed_user`). Refresh answers carry it at the top level (Slack puts
    /// a rotated user token there).
    pub token_pointer: Option<String>,
}

impl TokenStyle {
    /// The style an OAuth auth method declares.
    pub fn of(oauth: &crate::runtime::OAuth2Manifest) -> Self {
        Self {
            json: oauth.token_request_format == "json",
            token_pointer: oauth.token_pointer.clone(),
        }
    }

    /// Reads a 2xx token response: the token set at `token_pointer` for a code exchange (or
    /// the top), the other top-level fields kept aside. Some vendors answer errors with a 2xx
    /// (GitHub's `{"error": ...}`, Slack's `{"ok": false, "error": ...}`): those are errors.
    fn parse(&self, body: &[u8], code_exchange: bool) -> Result<TokenResponse, TokenError> {
        let unreadable = |e: String| TokenError::Failed(format!("unreadable token response: {e}"));
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| unreadable(e.to_string()))?;
        if value.get("ok") == Some(&serde_json::Value::Bool(false)) || value.get("error").is_some()
        {
            return Err(match serde_json::from_value::<ErrorBody>(value) {
                Ok(error) => error.into(),
                Err(_) => TokenError::Failed("the token endpoint reported an error".into()),
            });
        }
        let pointer = self.token_pointer.as_ref().filter(|_| code_exchange);
        let tokens = match pointer {
            Some(pointer) => value
                .pointer(pointer)
                .ok_or_else(|| unreadable(format!("no token set at `{pointer}`")))?,
            None => &value,
        };
        let mut response =
            TokenResponse::deserialize(tokens).map_err(|e| unreadable(e.to_string()))?;
        if let serde_json::Value::Object(fields) = value {
            response.fields = fields;
        }
        Ok(response)
    }
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

impl TokenResponse {
    /// Unix seconds when the access token expires, if the vendor said.
    pub fn expires_at(&self) -> Option<u64> {
        self.expires_in.map(|secs| unix_now() + secs)
    }
}

/// Why a token request failed. Messages are the vendor's, never a token.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TokenError {
    /// `invalid_grant`: the code or refresh token is no longer valid.
    #[error("invalid_grant: {0}")]
    InvalidGrant(String),
    /// Any other OAuth error the vendor named (`invalid_client`, `access_denied`, ...).
    #[error("{error}: {description}")]
    Rejected {
        /// The OAuth error code.
        error: String,
        /// The vendor's description.
        description: String,
    },
    /// The endpoint could not be reached or answered something unreadable.
    #[error("token endpoint failed: {0}")]
    Failed(String),
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// Vendors' names for a code or refresh token that is no longer valid: RFC 6749's, GitHub's
/// and Slack's.
const INVALID_GRANT_ERRORS: [&str; 4] = [
    "invalid_grant",
    "bad_verification_code",
    "invalid_code",
    "invalid_refresh_token",
];

impl From<ErrorBody> for TokenError {
    fn from(error: ErrorBody) -> Self {
        let description = error.error_description.unwrap_or_default();
        if INVALID_GRANT_ERRORS.contains(&error.error.as_str()) {
            Self::InvalidGrant(description)
        } else {
            Self::Rejected {
                error: error.error,
                description,
            }
        }
    }
}

/// Now, in Unix seconds.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Talks to token endpoints.
#[derive(Clone)]
pub struct TokenClient {
    egress: EgressClient,
}

impl TokenClient {
    /// A client that reaches token endpoints through the guarded `egress` client.
    pub fn new(egress: EgressClient) -> Self {
        Self { egress }
    }

    /// Exchanges an authorization code (with its PKCE verifier).
    #[allow(clippy::too_many_arguments)]
    pub async fn exchange_code(
        &self,
        token_url: &str,
        client: &OAuthClient,
        basic_auth: bool,
        style: &TokenStyle,
        code: &str,
        redirect_uri: &str,
        verifier: Option<&str>,
    ) -> Result<TokenResponse, TokenError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier));
        }
        self.post_form(token_url, client, basic_auth, style, &form)
            .await
    }

    /// Trades a refresh token for new tokens.
    pub async fn refresh(
        &self,
        token_url: &str,
        client: &OAuthClient,
        basic_auth: bool,
        style: &TokenStyle,
        refresh_token: &str,
    ) -> Result<TokenResponse, TokenError> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        self.post_form(token_url, client, basic_auth, style, &form)
            .await
    }

    /// Revokes a token (RFC 7009). The vendor's answer is only logged: the connection goes
    /// away either way.
    pub async fn revoke(
        &self,
        revoke_url: &str,
        client: &OAuthClient,
        basic_auth: bool,
        token: &str,
        hint: &str,
    ) {
        let form = [("token", token), ("token_type_hint", hint)];
        let style = TokenStyle::default();
        match self
            .send_form(revoke_url, client, basic_auth, &style, &form)
            .await
        {
            Ok((status, _)) if (200..300).contains(&status) => {
                tracing::info!("token revoked at the vendor")
            }
            Ok((status, _)) => tracing::warn!(status, "the vendor refused to revoke the token"),
            Err(error) => tracing::warn!(%error, "could not reach the revocation endpoint"),
        }
    }

    async fn post_form(
        &self,
        url: &str,
        client: &OAuthClient,
        basic_auth: bool,
        style: &TokenStyle,
        form: &[(&str, &str)],
    ) -> Result<TokenResponse, TokenError> {
        let (status, body) = self.send_form(url, client, basic_auth, style, form).await?;
        if (200..300).contains(&status) {
            let code_exchange = form
                .iter()
                .any(|(k, v)| *k == "grant_type" && *v == "authorization_code");
            return style.parse(&body, code_exchange);
        }
        match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(error) => Err(error.into()),
            Err(_) => Err(TokenError::Failed(format!(
                "token endpoint answered {status}"
            ))),
        }
    }

    async fn send_form(
        &self,
        url: &str,
        client: &OAuthClient,
        basic_auth: bool,
        style: &TokenStyle,
        form: &[(&str, &str)],
    ) -> Result<(u16, Vec<u8>), TokenError> {
        let parsed = url::Url::parse(url)
            .map_err(|e| TokenError::Failed(format!("bad endpoint URL: {e}")))?;
        let host = parsed
            .host_str()
            .ok_or_else(|| TokenError::Failed("endpoint URL has no host".into()))?;
        let host_pattern = HostPattern::parse(host).map_err(TokenError::Failed)?;
        let mut params: Vec<(&str, &str)> = form.to_vec();
        if !basic_auth {
            params.push(("client_id", &client.client_id));
            params.push(("client_secret", &client.client_secret));
        }
        let (content_type, body) = if style.json {
            let object: serde_json::Map<String, serde_json::Value> = params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
                .collect();
            let bytes = serde_json::to_vec(&object)
                .map_err(|e| TokenError::Failed(format!("could not encode the request: {e}")))?;
            ("application/json", bytes)
        } else {
            // Built in a block: the serializer is not Send and must not live across an await.
            let bytes = {
                let mut pairs = url::form_urlencoded::Serializer::new(String::new());
                for (k, v) in &params {
                    pairs.append_pair(k, v);
                }
                pairs.finish().into_bytes()
            };
            ("application/x-www-form-urlencoded", bytes)
        };
        let credential = basic_auth.then(|| {
            let basic = Credential::Basic {
                username: client.client_id.clone(),
                password: SecretString::from(client.client_secret.clone()),
            };
            Arc::new((basic, CredentialPlacement::Basic))
        });
        let scope = ConnectionScope {
            plugin_hosts: vec![host_pattern.clone()],
            origin: None,
            credential,
            credential_hosts: vec![host_pattern],
            requester: std::sync::Arc::from("oauth"),
            ..ConnectionScope::default()
        };
        let request = EgressRequest {
            method: Method::Post,
            url: url.to_owned(),
            headers: vec![
                ("content-type".into(), content_type.into()),
                ("accept".into(), "application/json".into()),
            ],
            body: Some(body),
            with_credential: basic_auth,
            timeout: None,
        };
        let response = self
            .egress
            .send(
                &scope,
                request,
                Instant::now() + TOKEN_TIMEOUT,
                MAX_TOKEN_RESPONSE,
                &EgressBudget::unlimited(),
            )
            .await
            .map_err(|e: EgressError| TokenError::Failed(e.to_string()))?;
        Ok((response.status, response.body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_read_at_the_pointer_and_other_fields_kept() {
        let slack = TokenStyle {
            json: false,
            token_pointer: Some("/authed_user".into()),
        };
        let body = br#"{"ok":true,"team":{"id":"T1"},"authed_user":{"access_token":"xoxp-1","refresh_token":"r-1","expires_in":60}}"#;
        let parsed = slack.parse(body, true).unwrap();
        assert_eq!(parsed.access_token, "xoxp-1");
        assert_eq!(parsed.refresh_token.as_deref(), Some("r-1"));
        assert_eq!(parsed.fields["team"]["id"], "T1");
        assert!(slack.parse(br#"{"access_token":"top"}"#, true).is_err());
        let rotated = slack
            .parse(
                br#"{"ok":true,"access_token":"xoxe.xoxp-2","token_type":"user"}"#,
                false,
            )
            .unwrap();
        assert_eq!(
            rotated.access_token, "xoxe.xoxp-2",
            "refreshes answer at the top"
        );

        let plain = TokenStyle::default();
        let parsed = plain
            .parse(
                br#"{"access_token":"a","instance_url":"https://acme.my.salesforce.com"}"#,
                true,
            )
            .unwrap();
        assert_eq!(
            parsed.fields["instance_url"],
            "https://acme.my.salesforce.com"
        );
        assert!(!format!("{parsed:?}").contains("\"a\""));
    }

    #[test]
    fn errors_answered_with_a_success_status_are_errors() {
        let plain = TokenStyle::default();
        let github = br#"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}"#;
        assert!(matches!(
            plain.parse(github, true),
            Err(TokenError::InvalidGrant(d)) if d.contains("incorrect")
        ));
        let slack = br#"{"ok":false,"error":"invalid_client_id"}"#;
        assert!(matches!(
            plain.parse(slack, true),
            Err(TokenError::Rejected { error, .. }) if error == "invalid_client_id"
        ));
        assert!(matches!(
            plain.parse(br#"{"ok":false}"#, false),
            Err(TokenError::Failed(_))
        ));
    }
}
