//! Console sign-in sessions: `console_sessions` maps the SHA-256 of a session token (the cookie
//! holds the token, the store never does) to the tenant, the API key it signed in with, its CSRF
//! token and its expiry.

use serde::{Deserialize, Serialize};

use super::{Sled, StoreError};

/// One signed-in browser.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsoleSession {
    /// The tenant signed in.
    pub tenant: String,
    /// The API key's public id: revoking the key ends the session.
    pub key_id: String,
    /// Every form carries it; a POST without it is refused.
    pub csrf: String,
    /// Unix seconds.
    pub expires_at: u64,
    /// Unix seconds of the sign-in (0 for sessions stored before it was kept), so a session
    /// whose expiry slides with use still ends at an absolute limit.
    #[serde(default)]
    pub started_at: u64,
}

impl Sled {
    /// Stores a session under the digest of its token. A tenant holds at most `max_per_tenant`
    /// live sessions: the ones closest to expiry go first, so repeated sign-ins cannot grow
    /// the tree.
    pub async fn create_console_session(
        &self,
        token_digest: &[u8; 32],
        session: &ConsoleSession,
        max_per_tenant: usize,
    ) -> Result<(), StoreError> {
        let mut same_tenant: Vec<(u64, sled::IVec)> = Vec::new();
        for entry in self.console_sessions.iter() {
            let (key, bytes) = entry?;
            let Ok(other) = serde_json::from_slice::<ConsoleSession>(&bytes) else {
                continue;
            };
            if other.tenant == session.tenant {
                same_tenant.push((other.expires_at, key));
            }
        }
        same_tenant.sort_by_key(|(expires_at, _)| *expires_at);
        let excess = (same_tenant.len() + 1).saturating_sub(max_per_tenant.max(1));
        for (_, key) in same_tenant.into_iter().take(excess) {
            self.console_sessions.remove(key)?;
        }
        self.console_sessions
            .insert(token_digest, serde_json::to_vec(session)?)?;
        self.flush().await
    }

    /// Moves a session's expiry (a sliding idle timeout).
    pub fn touch_console_session(
        &self,
        token_digest: &[u8; 32],
        expires_at: u64,
    ) -> Result<(), StoreError> {
        if let Some(bytes) = self.console_sessions.get(token_digest)? {
            let mut session: ConsoleSession = serde_json::from_slice(&bytes)?;
            session.expires_at = expires_at;
            self.console_sessions
                .insert(token_digest, serde_json::to_vec(&session)?)?;
        }
        Ok(())
    }

    /// Ends every session of `tenant` (the operator's "End all operator sessions"); how many.
    pub async fn end_console_sessions(&self, tenant: &str) -> Result<usize, StoreError> {
        let mut ended = 0;
        for entry in self.console_sessions.iter() {
            let (key, bytes) = entry?;
            if serde_json::from_slice::<ConsoleSession>(&bytes).is_ok_and(|s| s.tenant == tenant) {
                self.console_sessions.remove(key)?;
                ended += 1;
            }
        }
        self.flush().await?;
        Ok(ended)
    }

    /// Deletes expired sessions (and unreadable ones); how many.
    pub fn sweep_console_sessions(&self, now: u64) -> Result<usize, StoreError> {
        let mut swept = 0;
        for entry in self.console_sessions.iter() {
            let (key, bytes) = entry?;
            let live = serde_json::from_slice::<ConsoleSession>(&bytes)
                .is_ok_and(|session| session.expires_at > now);
            if !live {
                self.console_sessions.remove(key)?;
                swept += 1;
            }
        }
        Ok(swept)
    }

    /// The live session of a token digest; an expired one is deleted.
    pub fn console_session(
        &self,
        token_digest: &[u8; 32],
        now: u64,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        let Some(bytes) = self.console_sessions.get(token_digest)? else {
            return Ok(None);
        };
        let session: ConsoleSession = serde_json::from_slice(&bytes)?;
        if session.expires_at <= now {
            self.console_sessions.remove(token_digest)?;
            return Ok(None);
        }
        Ok(Some(session))
    }

    /// Ends a session.
    pub async fn delete_console_session(&self, token_digest: &[u8; 32]) -> Result<(), StoreError> {
        self.console_sessions.remove(token_digest)?;
        self.flush().await
    }
}
