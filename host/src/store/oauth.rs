//! OAuth state: pending authorization sessions (single use), the key that signs `state`, and
//! tenants' own OAuth client credentials. All sealed.

use serde::{Deserialize, Serialize};

use sled::Transactional as _;
use sled::transaction::ConflictableTransactionError;

use super::{Aad, Sled, StoreError};

fn expiry_of(bytes: &[u8]) -> u64 {
    bytes.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

/// Pseudo-tenant and connection names under which host-wide secrets are sealed.
pub(super) const SYSTEM: &str = "_system";

/// A pending authorization, created by `authorize` and consumed once by the callback.
#[derive(Clone, Serialize, Deserialize)]
pub struct OAuthSession {
    /// The flow's id.
    pub id: String,
    /// The tenant.
    pub tenant: String,
    /// The connector.
    pub connector: String,
    /// The OAuth auth method.
    pub auth_method: String,
    /// Where the vendor sends the user back.
    pub redirect_uri: String,
    /// Where the browser lands after the callback.
    pub return_to: Option<String>,
    /// The new connection's name.
    pub name: Option<String>,
    /// The new connection's config.
    pub config: serde_json::Map<String, serde_json::Value>,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// PKCE verifier; never leaves the host.
    pub verifier: Option<String>,
    /// Unix seconds.
    pub expires_at: u64,
    /// SHA-256 of the cookie the start page set in the browser that opened this authorization;
    /// the browser callback must present it. `None` until the start page is opened.
    #[serde(default)]
    pub browser_binding: Option<String>,
    /// The vendor's authorization URL; only the start page hands it to the bound browser.
    #[serde(default)]
    pub vendor_url: String,
    /// The tenant's connection this grant replaces the credential of (reconnecting a
    /// `needs_reauth` connection); `None`: the grant makes a new connection.
    #[serde(default)]
    pub reconnect: Option<String>,
}

impl std::fmt::Debug for OAuthSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthSession")
            .field("id", &self.id)
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

/// A tenant's own OAuth client for a connector.
#[derive(Clone, Serialize, Deserialize)]
pub struct OAuthApp {
    /// The OAuth client id.
    pub client_id: String,
    /// The OAuth client secret (sealed at rest).
    pub client_secret: String,
    /// Scopes the tenant's app asks for beyond the connector's defaults.
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// Key of a session in the `oauth_pending` index: `tenant/session-id`; the value is its
/// expiry (unix seconds, big-endian), so counting and sweeping never open a sealed session.
fn pending_key(tenant: &str, id: &str) -> Vec<u8> {
    super::scoped_key(tenant, id)
}

impl Sled {
    /// Stores a pending session, sealed, and indexes it under its tenant with its expiry.
    pub async fn put_oauth_session(&self, session: &OAuthSession) -> Result<(), StoreError> {
        let aad = Aad::new(SYSTEM, &session.id, "oauth-session");
        let sealed = self
            .keys
            .seal(&aad, &zeroize::Zeroizing::new(serde_json::to_vec(session)?))?;
        let index_key = pending_key(&session.tenant, &session.id);
        let expiry = session.expires_at.to_be_bytes();
        (&self.oauth_sessions, &self.oauth_pending).transaction(|(sessions, pending)| {
            sessions.insert(aad.storage_key(), sealed.as_slice())?;
            pending.insert(index_key.as_slice(), &expiry[..])?;
            Ok::<_, ConflictableTransactionError<StoreError>>(())
        })?;
        self.flush().await
    }

    /// A pending session, left in place (the start page reads it before the callback).
    pub fn oauth_session(&self, id: &str) -> Result<Option<OAuthSession>, StoreError> {
        let aad = Aad::new(SYSTEM, id, "oauth-session");
        let Some(sealed) = self.oauth_sessions.get(aad.storage_key())? else {
            return Ok(None);
        };
        let plain = self.keys.open(&aad, &sealed)?;
        Ok(Some(serde_json::from_slice(&plain)?))
    }

    /// Removes and returns a pending session: a second call for the same id finds nothing, so a
    /// replayed `state` is refused.
    pub fn take_oauth_session(&self, id: &str) -> Result<Option<OAuthSession>, StoreError> {
        let aad = Aad::new(SYSTEM, id, "oauth-session");
        let Some(sealed) = self.oauth_sessions.remove(aad.storage_key())? else {
            return Ok(None);
        };
        let plain = self.keys.open(&aad, &sealed)?;
        let session: OAuthSession = serde_json::from_slice(&plain)?;
        self.oauth_pending
            .remove(pending_key(&session.tenant, &session.id))?;
        Ok(Some(session))
    }

    /// Pending, unexpired authorizations of one tenant (from the index; nothing is opened).
    pub fn pending_oauth_sessions(&self, tenant: &str, now: u64) -> Result<usize, StoreError> {
        let mut count = 0;
        for entry in self.oauth_pending.scan_prefix(super::tenant_prefix(tenant)) {
            let (_, expiry) = entry?;
            if expiry_of(&expiry) > now {
                count += 1;
            }
        }
        Ok(count)
    }

    /// Deletes every authorization that expired before `now`; returns how many.
    pub fn sweep_oauth_sessions(&self, now: u64) -> Result<usize, StoreError> {
        let mut swept = 0;
        for entry in self.oauth_pending.iter() {
            let (key, expiry) = entry?;
            if expiry_of(&expiry) > now {
                continue;
            }
            let text = String::from_utf8_lossy(&key);
            if let Some((_, id)) = text.split_once('/') {
                let aad = Aad::new(SYSTEM, id, "oauth-session");
                self.oauth_sessions.remove(aad.storage_key())?;
            }
            self.oauth_pending.remove(&key)?;
            swept += 1;
        }
        Ok(swept)
    }

    /// The key that signs OAuth `state`, created on first use and sealed like any secret.
    pub async fn oauth_state_key(&self) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
        let aad = Aad::new(SYSTEM, "oauth", "state-key");
        if let Some(sealed) = self.secrets.get(aad.storage_key())? {
            return Ok(self.keys.open(&aad, &sealed)?);
        }
        let mut key = zeroize::Zeroizing::new(vec![0u8; 32]);
        getrandom::fill(&mut key).map_err(|_| StoreError::Io("no randomness available".into()))?;
        let sealed = self.keys.seal(&aad, &key)?;
        // Two first requests at once: whoever writes first wins, the other reads it back.
        match self.secrets.compare_and_swap(
            aad.storage_key(),
            None as Option<&[u8]>,
            Some(sealed),
        )? {
            Ok(()) => {
                self.flush().await?;
                Ok(key)
            }
            Err(current) => {
                let sealed = current.current.ok_or(StoreError::NotFound)?;
                Ok(self.keys.open(&aad, &sealed)?)
            }
        }
    }

    /// Stores a tenant's OAuth client for `connector`, sealed.
    pub async fn put_oauth_app(
        &self,
        tenant: &str,
        connector: &str,
        app: &OAuthApp,
    ) -> Result<(), StoreError> {
        let aad = Aad::new(tenant, "_oauth_app", connector);
        let sealed = self
            .keys
            .seal(&aad, &zeroize::Zeroizing::new(serde_json::to_vec(app)?))?;
        self.secrets.insert(aad.storage_key(), sealed)?;
        self.flush().await
    }

    /// A tenant's OAuth client for `connector`, if it set one.
    pub fn oauth_app(&self, tenant: &str, connector: &str) -> Result<Option<OAuthApp>, StoreError> {
        let aad = Aad::new(tenant, "_oauth_app", connector);
        let Some(sealed) = self.secrets.get(aad.storage_key())? else {
            return Ok(None);
        };
        Ok(Some(serde_json::from_slice(
            &self.keys.open(&aad, &sealed)?,
        )?))
    }
}
