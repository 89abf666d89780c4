//! What a tenant granted an MCP client through the host's own authorization server:
//! `mcp_grants` maps a grant's id to its record. A grant is one consent: it starts with an
//! authorization code, then holds one access token and one refresh token at a time, each as
//! the SHA-256 of its secret (the client holds the tokens, the store never does). Refreshing
//! replaces both, by compare-and-swap on `generation`, so two hosts cannot both redeem one
//! refresh token.

use serde::{Deserialize, Serialize};

use super::{Sled, StoreError};

/// One consent a tenant gave an MCP client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct McpGrant {
    /// Random, unguessable; the prefix of every token the grant issues.
    pub id: String,
    /// The tenant that consented.
    pub tenant: String,
    /// `key:<id>` of the console session that consented.
    pub granted_by: String,
    /// The client's `client_id`: a registration the host signed, or a metadata document's URL.
    pub client_id: String,
    /// What the client calls itself (from its registration or metadata document).
    pub client_name: String,
    /// Where the code went: the token request must name it again.
    pub redirect_uri: String,
    /// The one MCP endpoint the tokens are for, as a path: `/mcp` or `/mcp/connections/{id}`.
    pub resource: String,
    /// The scopes granted, space-separated.
    pub scope: String,
    /// Unix seconds.
    pub created_at: u64,
    /// Bumped by every change; a change names the generation it read.
    pub generation: u64,
    /// Until the code is redeemed.
    pub code: Option<PendingCode>,
    /// The access token in force.
    pub access: Option<IssuedToken>,
    /// The refresh token in force; an older one presented again revokes the grant.
    pub refresh: Option<IssuedToken>,
    /// Unix seconds after which nothing of the grant is usable and the sweep deletes it: the
    /// code's expiry while pending, then the refresh token's.
    pub expires_at: u64,
    /// Unix seconds of the last token issued.
    pub last_used_at: u64,
}

/// An authorization code waiting for its token request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCode {
    /// Hex SHA-256 of the code's secret.
    pub digest: String,
    /// The PKCE S256 challenge the authorization request carried.
    pub challenge: String,
    /// Unix seconds.
    pub expires_at: u64,
}

/// A token issued, as the digest of its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedToken {
    /// Hex SHA-256 of the token's secret.
    pub digest: String,
    /// Unix seconds.
    pub expires_at: u64,
}

impl Sled {
    /// Stores a new grant. A tenant holds at most `max_per_tenant`: the ones that expire
    /// soonest go first, so repeated consents cannot grow the tree.
    pub async fn create_mcp_grant(
        &self,
        grant: &McpGrant,
        max_per_tenant: usize,
    ) -> Result<(), StoreError> {
        let mut same_tenant: Vec<(u64, sled::IVec)> = Vec::new();
        for entry in self.mcp_grants.iter() {
            let (key, bytes) = entry?;
            if let Ok(other) = serde_json::from_slice::<McpGrant>(&bytes)
                && other.tenant == grant.tenant
            {
                same_tenant.push((other.expires_at, key));
            }
        }
        same_tenant.sort_by_key(|(expires_at, _)| *expires_at);
        let excess = (same_tenant.len() + 1).saturating_sub(max_per_tenant.max(1));
        for (_, key) in same_tenant.into_iter().take(excess) {
            self.mcp_grants.remove(key)?;
        }
        self.mcp_grants
            .insert(grant.id.as_bytes(), serde_json::to_vec(grant)?)?;
        self.flush().await
    }

    /// A grant by id, whatever its state.
    pub fn mcp_grant(&self, id: &str) -> Result<Option<McpGrant>, StoreError> {
        self.mcp_grants
            .get(id.as_bytes())?
            .map(|bytes| serde_json::from_slice(&bytes).map_err(StoreError::from))
            .transpose()
    }

    /// Replaces a grant if it is still at `grant.generation - 1`; false (nothing written) when
    /// another request changed or deleted it first.
    pub async fn replace_mcp_grant(&self, grant: &McpGrant) -> Result<bool, StoreError> {
        let Some(current) = self.mcp_grants.get(grant.id.as_bytes())? else {
            return Ok(false);
        };
        let read: McpGrant = serde_json::from_slice(&current)?;
        if read.generation + 1 != grant.generation {
            return Ok(false);
        }
        let swapped = self
            .mcp_grants
            .compare_and_swap(
                grant.id.as_bytes(),
                Some(current),
                Some(serde_json::to_vec(grant)?),
            )?
            .is_ok();
        self.flush().await?;
        Ok(swapped)
    }

    /// Deletes a grant of `tenant`; whether there was one.
    pub async fn delete_mcp_grant(&self, tenant: &str, id: &str) -> Result<bool, StoreError> {
        let Some(grant) = self.mcp_grant(id)? else {
            return Ok(false);
        };
        if grant.tenant != tenant {
            return Ok(false);
        }
        let removed = self.mcp_grants.remove(id.as_bytes())?.is_some();
        self.flush().await?;
        Ok(removed)
    }

    /// The grants of `tenant`, oldest first.
    pub fn mcp_grants(&self, tenant: &str) -> Result<Vec<McpGrant>, StoreError> {
        let mut grants = Vec::new();
        for entry in self.mcp_grants.iter() {
            let (_, bytes) = entry?;
            if let Ok(grant) = serde_json::from_slice::<McpGrant>(&bytes)
                && grant.tenant == tenant
            {
                grants.push(grant);
            }
        }
        grants.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(grants)
    }

    /// Deletes grants expired at `now` (and unreadable ones); how many.
    pub fn sweep_mcp_grants(&self, now: u64) -> Result<usize, StoreError> {
        let mut swept = 0;
        for entry in self.mcp_grants.iter() {
            let (key, bytes) = entry?;
            let live = serde_json::from_slice::<McpGrant>(&bytes)
                .is_ok_and(|grant| grant.expires_at > now);
            if !live {
                self.mcp_grants.remove(key)?;
                swept += 1;
            }
        }
        Ok(swept)
    }
}
