//! OAuth state (pending authorizations, the `state` signing key, tenants' OAuth apps) and
//! console sign-in sessions.

use super::connections::put_secret;
use super::{Postgres, count, decode, encode, execute, int};
use crate::store::oauth::SYSTEM;
use crate::store::{Aad, ConsoleSession, OAuthApp, OAuthSession, StoreError};

fn session_aad(id: &str) -> Aad {
    Aad::new(SYSTEM, id, "oauth-session")
}

impl Postgres {
    pub async fn put_oauth_session(&self, session: &OAuthSession) -> Result<(), StoreError> {
        let sealed = self.seal(
            &session_aad(&session.id),
            &zeroize::Zeroizing::new(serde_json::to_vec(session)?),
        )?;
        self.execute(
            "INSERT INTO oauth_sessions (id, tenant, expires_at, sealed) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET tenant = excluded.tenant,
                 expires_at = excluded.expires_at, sealed = excluded.sealed",
            &[
                &session.id,
                &session.tenant,
                &int(session.expires_at),
                &sealed,
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn oauth_session(&self, id: &str) -> Result<Option<OAuthSession>, StoreError> {
        let Some(row) = self
            .one("SELECT sealed FROM oauth_sessions WHERE id = $1", &[&id])
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(serde_json::from_slice(
            &self.open(&session_aad(id), row.get(0))?,
        )?))
    }

    /// Takes a session out (single use): of two hosts completing the same callback, one gets
    /// it.
    pub async fn take_oauth_session(&self, id: &str) -> Result<Option<OAuthSession>, StoreError> {
        let Some(row) = self
            .one(
                "DELETE FROM oauth_sessions WHERE id = $1 RETURNING sealed",
                &[&id],
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(serde_json::from_slice(
            &self.open(&session_aad(id), row.get(0))?,
        )?))
    }

    pub async fn pending_oauth_sessions(
        &self,
        tenant: &str,
        now: u64,
    ) -> Result<usize, StoreError> {
        count(
            self.one(
                "SELECT count(*) FROM oauth_sessions WHERE tenant = $1 AND expires_at > $2",
                &[&tenant, &int(now)],
            )
            .await?,
        )
    }

    pub async fn sweep_oauth_sessions(&self, now: u64) -> Result<usize, StoreError> {
        Ok(self
            .execute(
                "DELETE FROM oauth_sessions WHERE expires_at <= $1",
                &[&int(now)],
            )
            .await? as usize)
    }

    /// The key that signs OAuth `state`, made on first use: of two hosts making it at once,
    /// the first write wins and the other reads it back.
    pub async fn oauth_state_key(&self) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
        let aad = Aad::new(SYSTEM, "oauth", "state-key");
        let mut key = zeroize::Zeroizing::new(vec![0u8; 32]);
        getrandom::fill(&mut key).map_err(|_| StoreError::Io("no randomness available".into()))?;
        let sealed = self.seal(&aad, &key)?;
        let row = self
            .one(
                "WITH made AS (
                     INSERT INTO secrets (tenant, owner, field, sealed) VALUES ($1, $2, $3, $4)
                     ON CONFLICT DO NOTHING RETURNING sealed
                 )
                 SELECT sealed FROM made
                 UNION ALL
                 SELECT sealed FROM secrets WHERE tenant = $1 AND owner = $2 AND field = $3
                 LIMIT 1",
                &[&aad.tenant, &aad.connection, &aad.field, &sealed],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        self.open(&aad, row.get(0))
    }

    pub async fn put_oauth_app(
        &self,
        tenant: &str,
        connector: &str,
        app: &OAuthApp,
    ) -> Result<(), StoreError> {
        let aad = Aad::new(tenant, "_oauth_app", connector);
        let sealed = self.seal(&aad, &zeroize::Zeroizing::new(serde_json::to_vec(app)?))?;
        let client = self.client().await?;
        put_secret(&client, &aad, &sealed).await
    }

    pub async fn oauth_app(
        &self,
        tenant: &str,
        connector: &str,
    ) -> Result<Option<OAuthApp>, StoreError> {
        let aad = Aad::new(tenant, "_oauth_app", connector);
        let Some(sealed) = self.sealed(&aad).await? else {
            return Ok(None);
        };
        Ok(Some(serde_json::from_slice(&self.open(&aad, &sealed)?)?))
    }

    /// Stores a console session, first ending the tenant's sessions that expire soonest
    /// beyond `max_per_tenant`.
    pub async fn create_console_session(
        &self,
        token_digest: &[u8; 32],
        session: &ConsoleSession,
        max_per_tenant: usize,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        execute(
            &tx,
            "DELETE FROM console_sessions WHERE digest IN (
                 SELECT digest FROM console_sessions WHERE tenant = $1
                 ORDER BY expires_at DESC OFFSET $2)",
            &[&session.tenant, &int(max_per_tenant.max(1) as u64 - 1)],
        )
        .await?;
        execute(
            &tx,
            "INSERT INTO console_sessions (digest, tenant, expires_at, record)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (digest) DO UPDATE SET tenant = excluded.tenant,
                 expires_at = excluded.expires_at, record = excluded.record",
            &[
                &&token_digest[..],
                &session.tenant,
                &int(session.expires_at),
                &encode(session)?,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn touch_console_session(
        &self,
        token_digest: &[u8; 32],
        expires_at: u64,
    ) -> Result<(), StoreError> {
        let Some(row) = self
            .one(
                "SELECT record FROM console_sessions WHERE digest = $1",
                &[&&token_digest[..]],
            )
            .await?
        else {
            return Ok(());
        };
        let mut session: ConsoleSession = decode(&row, "record")?;
        session.expires_at = expires_at;
        self.execute(
            "UPDATE console_sessions SET expires_at = $2, record = $3 WHERE digest = $1",
            &[&&token_digest[..], &int(expires_at), &encode(&session)?],
        )
        .await?;
        Ok(())
    }

    pub async fn end_console_sessions(&self, tenant: &str) -> Result<usize, StoreError> {
        Ok(self
            .execute("DELETE FROM console_sessions WHERE tenant = $1", &[&tenant])
            .await? as usize)
    }

    pub async fn sweep_console_sessions(&self, now: u64) -> Result<usize, StoreError> {
        Ok(self
            .execute(
                "DELETE FROM console_sessions WHERE expires_at <= $1",
                &[&int(now)],
            )
            .await? as usize)
    }

    pub async fn console_session(
        &self,
        token_digest: &[u8; 32],
        now: u64,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        let Some(row) = self
            .one(
                "SELECT record FROM console_sessions WHERE digest = $1",
                &[&&token_digest[..]],
            )
            .await?
        else {
            return Ok(None);
        };
        let session: ConsoleSession = decode(&row, "record")?;
        if session.expires_at <= now {
            self.delete_console_session(token_digest).await?;
            return Ok(None);
        }
        Ok(Some(session))
    }

    pub async fn delete_console_session(&self, token_digest: &[u8; 32]) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM console_sessions WHERE digest = $1",
            &[&&token_digest[..]],
        )
        .await?;
        Ok(())
    }
}
