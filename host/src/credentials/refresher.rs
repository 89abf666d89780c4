//! Keeps OAuth access tokens valid without ever racing: one refresh in flight per connection,
//! the stored token re-read under the lock, the old refresh token kept when the vendor sends
//! none, and an `invalid_grant` double-checked before a grant is declared dead.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::clients::{self, OAuthClientConfig};
use super::token_client::{TokenClient, TokenError, TokenStyle, unix_now};
use crate::runtime::Runtime;
use crate::store::{
    BoundCredential, ConnectionRecord, ConnectionStatus, Store, StoreError, StoredCredential,
    now_rfc3339,
};

/// Why a usable token could not be had.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// The grant is gone (revoked, expired, no refresh token); the user must authorize again.
    /// The connection is now `needs_reauth`.
    #[error("the connection must be authorized again: {0}")]
    NeedsReauth(String),
    /// The token endpoint failed in a way that may pass.
    #[error("could not refresh the access token: {0}")]
    Transient(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Refreshes tokens for every connection of the host.
pub struct Refresher {
    store: Store,
    runtime: Runtime,
    tokens: TokenClient,
    settings: BTreeMap<String, OAuthClientConfig>,
    /// Refresh this long before expiry. Default: 5 minutes.
    margin: Duration,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Refresher {
    /// The refresher over `store` and `runtime`, refreshing through `tokens` with the operator's
    /// clients, `margin` before tokens expire.
    pub fn new(
        store: Store,
        runtime: Runtime,
        tokens: TokenClient,
        settings: BTreeMap<String, OAuthClientConfig>,
        margin: Duration,
    ) -> Self {
        Self {
            store,
            runtime,
            tokens,
            settings,
            margin,
            locks: Mutex::default(),
        }
    }

    /// Whether an OAuth credential should be refreshed before use.
    pub fn is_due(&self, credential: &StoredCredential) -> bool {
        matches!(credential, StoredCredential::Oauth2 { expires_at: Some(at), .. }
            if *at <= unix_now() + self.margin.as_secs())
    }

    /// A credential fit to use now: the given one, or a refreshed one if it is due.
    pub async fn fresh(
        &self,
        record: &ConnectionRecord,
        credential: BoundCredential,
    ) -> Result<BoundCredential, RefreshError> {
        match &credential.credential {
            StoredCredential::Oauth2 { access_token, .. }
                if self.is_due(&credential.credential) =>
            {
                let seen = access_token.clone();
                self.refresh(record, &seen).await
            }
            _ => Ok(credential),
        }
    }

    /// Refreshes the connection's token unless someone already replaced `seen_access_token`.
    /// Callers that saw a vendor 401 with `seen_access_token` call this once, then retry once.
    pub async fn refresh(
        &self,
        record: &ConnectionRecord,
        seen_access_token: &str,
    ) -> Result<BoundCredential, RefreshError> {
        let span = crate::otel_span!(
            "token refresh",
            connector = record.connector.as_str(),
            tenant.id = record.tenant.as_str(),
            connection.id = record.id.as_str(),
            refresh.role = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        let result = tracing::Instrument::instrument(
            self.refresh_once(record, seen_access_token),
            span.clone(),
        )
        .await;
        if result.is_err() {
            span.record("otel.status_code", "error");
        }
        result
    }

    /// [`Self::refresh`] inside its span: the caller that asks the vendor records itself as
    /// the single-flight `leader`, one that finds the token already replaced as a `waiter`.
    async fn refresh_once(
        &self,
        record: &ConnectionRecord,
        seen_access_token: &str,
    ) -> Result<BoundCredential, RefreshError> {
        let lock = self.lock_for(record);
        let _guard = lock.lock().await;
        // Other hosts on the same database wait here too; whoever comes second reads the
        // tokens the first wrote, below.
        let _cluster = self.store.refresh_lock(&record.tenant, &record.id).await?;

        // Someone may have refreshed while we waited for the lock. The version read here is
        // what the refreshed tokens replace, and only it.
        let (current, version) = self
            .store
            .credential_versioned(&record.tenant, &record.id)
            .await?;
        let StoredCredential::Oauth2 {
            access_token,
            refresh_token,
            ..
        } = &current.credential
        else {
            return Ok(current);
        };
        if access_token != seen_access_token && !self.is_due(&current.credential) {
            tracing::Span::current().record("refresh.role", "waiter");
            return Ok(current);
        }
        tracing::Span::current().record("refresh.role", "leader");
        let Some(refresh_token) = refresh_token.clone() else {
            return Err(self
                .grant_dead(record, "the vendor issued no refresh token")
                .await);
        };
        let plugin = self.runtime.plugin(&record.connector).ok_or_else(|| {
            RefreshError::Transient(format!("connector `{}` is not installed", record.connector))
        })?;
        let endpoints = clients::endpoints(&plugin, &self.settings, Some(&record.auth_method))
            .ok_or_else(|| {
                RefreshError::Transient(format!(
                    "the connector declares no OAuth method `{}`",
                    record.auth_method
                ))
            })?;
        let client = clients::client_for(
            &self.store,
            &self.settings,
            &record.tenant,
            &record.connector,
        )
        .await?
        .ok_or_else(|| {
            RefreshError::Transient("no OAuth client is configured for this connector".into())
        })?;
        let basic = endpoints.declared.client_auth == "basic";

        // The endpoint the grant came from, never one a later plugin version declares.
        let refresh_url = current
            .refresh_url
            .clone()
            .unwrap_or_else(|| endpoints.refresh_url.clone());
        match self
            .tokens
            .refresh(
                &refresh_url,
                &client,
                basic,
                &TokenStyle::of(&endpoints.declared),
                &refresh_token,
            )
            .await
        {
            Ok(response) => {
                // The new tokens stay bound to the origin the grant was verified against.
                let refreshed = BoundCredential::new(
                    StoredCredential::Oauth2 {
                        expires_at: response.expires_at(),
                        // Vendors that do not rotate refresh tokens send none: keep the old one.
                        refresh_token: response.refresh_token.clone().or(Some(refresh_token)),
                        scope: response.scope.clone(),
                        access_token: response.access_token,
                    },
                    current.origin.clone(),
                )
                .with_refresh_url(current.refresh_url.clone());
                let replaced = self
                    .store
                    .replace_credential_if(&record.tenant, &record.id, &version, &refreshed)
                    .await;
                match replaced {
                    Ok(()) => {
                        tracing::info!(tenant = %record.tenant, connection = %record.id, "access token refreshed");
                        Ok(refreshed)
                    }
                    // The credential was written while the vendor answered (a reconnect, a
                    // new credential, another host's refresh): that write stands, and the
                    // call goes on with it.
                    Err(StoreError::Conflict) => {
                        tracing::info!(tenant = %record.tenant, connection = %record.id, "a refreshed token was dropped: the credential changed meanwhile");
                        Ok(self.store.credential(&record.tenant, &record.id).await?)
                    }
                    Err(error) => Err(error.into()),
                }
            }
            Err(TokenError::InvalidGrant(message)) => {
                // Another host process may have rotated the refresh token in between.
                let stored = self.store.credential(&record.tenant, &record.id).await?;
                if let StoredCredential::Oauth2 {
                    refresh_token: Some(now),
                    ..
                } = &stored.credential
                    && *now != refresh_token
                {
                    return Ok(stored);
                }
                Err(self
                    .grant_dead(record, &format!("invalid_grant: {message}"))
                    .await)
            }
            Err(error) => Err(RefreshError::Transient(error.to_string())),
        }
    }

    /// Marks the connection `needs_reauth` with the vendor's message, audited.
    async fn grant_dead(&self, record: &ConnectionRecord, message: &str) -> RefreshError {
        let now = now_rfc3339();
        let last_error = format!("token refresh failed: {message}");
        let marked = self
            .store
            .update_status(&record.tenant, &record.id, |current| {
                current.status = ConnectionStatus::NeedsReauth;
                current.last_error = Some(last_error.clone());
                current.updated_at = now.clone();
                true
            })
            .await;
        if let Err(error) = marked {
            tracing::error!(%error, connection = %record.id, "could not record needs_reauth");
        }
        let details = serde_json::json!({ "error": message });
        let _ = self
            .store
            .audit(
                Some(&record.tenant),
                "host",
                "oauth.refresh_failed",
                &record.id,
                details,
            )
            .await;
        tracing::warn!(tenant = %record.tenant, connection = %record.id, error = %message, "OAuth grant is dead; needs reauthorization");
        RefreshError::NeedsReauth(message.to_owned())
    }

    fn lock_for(&self, record: &ConnectionRecord) -> Arc<tokio::sync::Mutex<()>> {
        let key = format!("{}/{}", record.tenant, record.id);
        let mut locks = self
            .locks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        locks.entry(key).or_default().clone()
    }

    /// Refreshes every active OAuth connection that would expire before the next sweep, so
    /// idle connections do not lapse. Returns how many were refreshed.
    pub async fn sweep(&self, horizon: Duration) -> usize {
        // Locks nobody holds or waits on are dropped, so the map holds only refreshes under
        // way, not one entry for every connection ever refreshed.
        self.locks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|_, lock| Arc::strong_count(lock) > 1);
        let deadline = unix_now() + self.margin.as_secs() + horizon.as_secs();
        // The expiry index lists only the connections due, soonest first.
        let due = match self.store.tokens_due(deadline).await {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(%error, "could not read the token expiry index");
                return 0;
            }
        };
        let mut refreshed = 0;
        for (tenant, id) in due {
            let Ok(Some(record)) = self.store.connection(&tenant, &id).await else {
                continue;
            };
            if record.status != ConnectionStatus::Active {
                continue;
            }
            let Ok(credential) = self.store.credential(&tenant, &id).await else {
                continue;
            };
            let StoredCredential::Oauth2 { access_token, .. } = &credential.credential else {
                continue;
            };
            match self.refresh(&record, access_token).await {
                Ok(_) => refreshed += 1,
                Err(error) => {
                    tracing::warn!(connection = %record.id, %error, "background refresh failed")
                }
            }
        }
        refreshed
    }
}
