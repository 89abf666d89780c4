//! Console sign-in sessions: `console_sessions` maps the SHA-256 of a session token (the cookie
//! holds the token, the store never does) to the tenant, the API key it signed in with, its CSRF
//! token and its expiry.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError};

/// One signed-in browser.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsoleSession {
    pub tenant: String,
    /// The API key's public id: revoking the key ends the session.
    pub key_id: String,
    /// Every form carries it; a POST without it is refused.
    pub csrf: String,
    /// Unix seconds.
    pub expires_at: u64,
}

impl Store {
    /// Stores a session under the digest of its token.
    pub async fn create_console_session(
        &self,
        token_digest: &[u8; 32],
        session: &ConsoleSession,
    ) -> Result<(), StoreError> {
        self.console_sessions
            .insert(token_digest, serde_json::to_vec(session)?)?;
        self.flush().await
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
