//! Verifies a vendor's delivery as its connector declares: an HMAC-SHA256 over a signed-content
//! template (`{body}`, `{timestamp}`, `{header:<name>}`) with the vendor's header, prefix and
//! encoding, and a timestamp within the tolerance; or an HS256 JWT (Atlassian). Missing
//! signatures are refused, never waved through. Comparisons are constant-time.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use crate::runtime::WebhookSignatureManifest;

/// Why a delivery was refused (each counted in metrics by [`VerifyError::reason`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The signature header is missing.
    #[error("the delivery carries no signature (`{0}`)")]
    MissingSignature(String),
    /// The signature does not verify.
    #[error("the signature does not match")]
    BadSignature,
    /// The timestamp header is missing.
    #[error("the delivery carries no timestamp (`{0}`)")]
    MissingTimestamp(String),
    /// The timestamp is older than the tolerance (seconds).
    #[error("the delivery's timestamp is outside the tolerance of {0} s")]
    StaleTimestamp(u32),
    /// The token has expired.
    #[error("the token has expired or is not valid yet")]
    Expired,
    /// The token names another issuer.
    #[error("the token's issuer is not `{0}`")]
    WrongIssuer(String),
    /// The signature or token is malformed.
    #[error("the signature is malformed: {0}")]
    Malformed(String),
    /// The token lives longer than the host accepts (seconds).
    #[error("the token lives longer than {0} s; a vendor's delivery token is short-lived")]
    LongLived(u64),
}

/// The longest lifetime (`exp` from now) of a delivery token accepted: a token is remembered
/// for the dedup window once used, so it must not outlive it; Atlassian's live minutes.
pub const MAX_TOKEN_LIFETIME_SECS: u64 = 3600;

/// A delivery that passed: what identifies its signature, so a replay of the same signature
/// with a new delivery id (or, for a JWT, another body) is recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// SHA-256 of the signature header's value, hex.
    pub signature_id: String,
}

impl Verified {
    fn of(value: &str) -> Self {
        use sha2::Digest as _;
        Self {
            signature_id: hex::encode(Sha256::digest(value.as_bytes())),
        }
    }
}

impl VerifyError {
    /// The metrics label.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MissingSignature(_) => "missing_signature",
            Self::BadSignature => "bad_signature",
            Self::MissingTimestamp(_) => "missing_timestamp",
            Self::StaleTimestamp(_) => "stale_timestamp",
            Self::Expired => "expired_token",
            Self::WrongIssuer(_) => "wrong_issuer",
            Self::Malformed(_) => "malformed_signature",
            Self::LongLived(_) => "long_lived_token",
        }
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length.
    Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable_mac())
}

fn unreachable_mac() -> Hmac<Sha256> {
    // `new_from_slice` never fails for HMAC; this keeps the module free of `unwrap`.
    <Hmac<Sha256> as hmac::digest::KeyInit>::new(&Default::default())
}

/// The signed content of a template, as bytes.
fn signed_content(
    template: &str,
    headers: &[(String, String)],
    timestamp: Option<&str>,
    body: &[u8],
) -> Result<Vec<u8>, VerifyError> {
    let mut out = Vec::with_capacity(body.len() + template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.extend_from_slice(&rest.as_bytes()[..start]);
        let end = rest[start..]
            .find('}')
            .ok_or_else(|| VerifyError::Malformed("template".into()))?;
        let placeholder = &rest[start + 1..start + end];
        match placeholder {
            "body" => out.extend_from_slice(body),
            "timestamp" => out.extend_from_slice(timestamp.unwrap_or_default().as_bytes()),
            other => {
                let name = other
                    .strip_prefix("header:")
                    .ok_or_else(|| VerifyError::Malformed(format!("placeholder `{other}`")))?;
                let value = header(headers, name)
                    .ok_or_else(|| VerifyError::MissingSignature(name.to_owned()))?;
                out.extend_from_slice(value.as_bytes());
            }
        }
        rest = &rest[start + end + 1..];
    }
    out.extend_from_slice(rest.as_bytes());
    Ok(out)
}

/// Checks `body` and `headers` against the declaration with `secret`, at `now_secs`.
pub fn verify(
    signature: &WebhookSignatureManifest,
    secret: &[u8],
    headers: &[(String, String)],
    body: &[u8],
    now_secs: u64,
) -> Result<Verified, VerifyError> {
    match signature {
        WebhookSignatureManifest::HmacSha256 {
            header: name,
            prefix,
            encoding,
            signed_content: template,
            timestamp_header,
            tolerance_secs,
        } => {
            let value = header(headers, name)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| VerifyError::MissingSignature(name.clone()))?;
            let timestamp = match timestamp_header {
                Some(ts_name) => {
                    let ts = header(headers, ts_name)
                        .ok_or_else(|| VerifyError::MissingTimestamp(ts_name.clone()))?;
                    let secs: u64 = ts
                        .trim()
                        .parse()
                        .map_err(|_| VerifyError::MissingTimestamp(ts_name.clone()))?;
                    if secs.abs_diff(now_secs) > u64::from(*tolerance_secs) {
                        return Err(VerifyError::StaleTimestamp(*tolerance_secs));
                    }
                    Some(ts)
                }
                None => None,
            };
            let content = signed_content(template, headers, timestamp, body)?;
            // Some vendors send several signatures (rotations), comma- or space-separated.
            let mut any = false;
            for candidate in value.split([' ', ',']).filter(|c| !c.is_empty()) {
                let Some(encoded) = candidate.strip_prefix(prefix.as_str()) else {
                    continue;
                };
                let decoded = match *encoding {
                    "hex" => hex::decode(encoded.trim()).ok(),
                    _ => STANDARD.decode(encoded.trim()).ok(),
                };
                let Some(expected) = decoded else {
                    continue;
                };
                any = true;
                let mut mac = mac(secret);
                mac.update(&content);
                if mac.verify_slice(&expected).is_ok() {
                    return Ok(Verified::of(value));
                }
            }
            if any {
                Err(VerifyError::BadSignature)
            } else {
                Err(VerifyError::Malformed(format!(
                    "`{name}` holds no `{prefix}` signature"
                )))
            }
        }
        WebhookSignatureManifest::JwtHs256 {
            header: name,
            prefix,
            issuer,
        } => {
            let value = header(headers, name)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| VerifyError::MissingSignature(name.clone()))?;
            let token = value
                .strip_prefix(prefix.as_str())
                .ok_or_else(|| VerifyError::Malformed(format!("`{name}` lacks `{prefix}`")))?
                .trim();
            verify_jwt(token, secret, issuer.as_deref(), now_secs)?;
            Ok(Verified::of(token))
        }
    }
}

/// An HS256 JWT: `alg` must be HS256 (never `none`), the signature must match, `exp` must be
/// in the future and `nbf`/`iat` not far in it, `iss` as declared.
fn verify_jwt(
    token: &str,
    secret: &[u8],
    issuer: Option<&str>,
    now_secs: u64,
) -> Result<(), VerifyError> {
    let mut parts = token.split('.');
    let (Some(head), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed("not a JWT".into()));
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .map_err(|_| VerifyError::Malformed("JWT part is not base64url".into()))
    };
    let header: serde_json::Value = serde_json::from_slice(&decode(head)?)
        .map_err(|_| VerifyError::Malformed("JWT header is not JSON".into()))?;
    if header["alg"] != "HS256" {
        return Err(VerifyError::Malformed(format!(
            "JWT alg {} is not HS256",
            header["alg"]
        )));
    }
    let mut mac = mac(secret);
    mac.update(head.as_bytes());
    mac.update(b".");
    mac.update(claims.as_bytes());
    mac.verify_slice(&decode(signature)?)
        .map_err(|_| VerifyError::BadSignature)?;
    let claims: serde_json::Value = serde_json::from_slice(&decode(claims)?)
        .map_err(|_| VerifyError::Malformed("JWT claims are not JSON".into()))?;
    let exp = claims["exp"].as_u64().ok_or(VerifyError::Expired)?;
    // A minute of leeway for clock skew either way.
    if exp + 60 < now_secs {
        return Err(VerifyError::Expired);
    }
    if exp > now_secs + MAX_TOKEN_LIFETIME_SECS {
        return Err(VerifyError::LongLived(MAX_TOKEN_LIFETIME_SECS));
    }
    for early in ["nbf", "iat"] {
        if claims[early].as_u64().is_some_and(|at| at > now_secs + 60) {
            return Err(VerifyError::Expired);
        }
    }
    if let Some(issuer) = issuer
        && claims["iss"].as_str() != Some(issuer)
    {
        return Err(VerifyError::WrongIssuer(issuer.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn github() -> WebhookSignatureManifest {
        WebhookSignatureManifest::HmacSha256 {
            header: "x-hub-signature-256".into(),
            prefix: "sha256=".into(),
            encoding: "hex",
            signed_content: "{body}".into(),
            timestamp_header: None,
            tolerance_secs: 0,
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    /// GitHub's documented example: secret "It's a Secret to Everybody", body "Hello, World!".
    #[test]
    fn githubs_documented_example_verifies() {
        let signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let headers = pairs(&[("X-Hub-Signature-256", signature)]);
        assert_eq!(
            verify(
                &github(),
                b"It's a Secret to Everybody",
                &headers,
                b"Hello, World!",
                0
            )
            .map(|_| ()),
            Ok(())
        );
        assert_eq!(
            verify(&github(), b"another secret", &headers, b"Hello, World!", 0),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify(
                &github(),
                b"It's a Secret to Everybody",
                &headers,
                b"Hello, World?",
                0
            ),
            Err(VerifyError::BadSignature)
        );
        assert!(matches!(
            verify(&github(), b"s", &[], b"x", 0),
            Err(VerifyError::MissingSignature(_))
        ));
    }

    #[test]
    fn slack_timestamps_outside_the_tolerance_are_refused() {
        let slack = WebhookSignatureManifest::HmacSha256 {
            header: "x-slack-signature".into(),
            prefix: "v0=".into(),
            encoding: "hex",
            signed_content: "v0:{timestamp}:{body}".into(),
            timestamp_header: Some("x-slack-request-timestamp".into()),
            tolerance_secs: 300,
        };
        let mut mac = mac(b"8f742231b10e8888abcd99yyyzzz85a5");
        mac.update(b"v0:1531420618:token=x");
        let signature = format!("v0={}", hex::encode(mac.finalize().into_bytes()));
        let headers = pairs(&[
            ("x-slack-signature", &signature),
            ("x-slack-request-timestamp", "1531420618"),
        ]);
        let secret = b"8f742231b10e8888abcd99yyyzzz85a5";
        assert_eq!(
            verify(&slack, secret, &headers, b"token=x", 1531420618 + 299).map(|_| ()),
            Ok(())
        );
        assert_eq!(
            verify(&slack, secret, &headers, b"token=x", 1531420618 + 301),
            Err(VerifyError::StaleTimestamp(300))
        );
        let without = pairs(&[("x-slack-signature", &signature)]);
        assert!(matches!(
            verify(&slack, secret, &without, b"token=x", 1531420618),
            Err(VerifyError::MissingTimestamp(_))
        ));
    }

    fn jwt(secret: &[u8], alg: &str, claims: serde_json::Value) -> String {
        let head =
            URL_SAFE_NO_PAD.encode(serde_json::json!({"alg": alg, "typ": "JWT"}).to_string());
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut mac = mac(secret);
        mac.update(format!("{head}.{body}").as_bytes());
        format!(
            "{head}.{body}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    #[test]
    fn jwts_are_checked_for_algorithm_signature_expiry_and_issuer() {
        let manifest = WebhookSignatureManifest::JwtHs256 {
            header: "authorization".into(),
            prefix: "Bearer ".into(),
            issuer: Some("jira".into()),
        };
        let now = 1_800_000_000;
        let check = |token: String| {
            verify(
                &manifest,
                b"app-secret",
                &pairs(&[("authorization", &format!("Bearer {token}"))]),
                b"{}",
                now,
            )
            .map(|_| ())
        };
        let good = serde_json::json!({"iss": "jira", "exp": now + 60, "iat": now});
        // A token that would outlive the window it is remembered for is refused.
        assert_eq!(
            check(jwt(
                b"app-secret",
                "HS256",
                serde_json::json!({"iss": "jira", "exp": now + MAX_TOKEN_LIFETIME_SECS + 1})
            )),
            Err(VerifyError::LongLived(MAX_TOKEN_LIFETIME_SECS))
        );
        assert_eq!(check(jwt(b"app-secret", "HS256", good.clone())), Ok(()));
        assert_eq!(
            check(jwt(b"wrong", "HS256", good.clone())),
            Err(VerifyError::BadSignature)
        );
        assert!(matches!(
            check(jwt(b"app-secret", "none", good.clone())),
            Err(VerifyError::Malformed(_))
        ));
        assert_eq!(
            check(jwt(
                b"app-secret",
                "HS256",
                serde_json::json!({"iss": "jira", "exp": now - 3600})
            )),
            Err(VerifyError::Expired)
        );
        assert!(matches!(
            check(jwt(
                b"app-secret",
                "HS256",
                serde_json::json!({"iss": "evil", "exp": now + 60})
            )),
            Err(VerifyError::WrongIssuer(_))
        ));
    }
}
