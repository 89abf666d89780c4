//! MCP clients' grants (see `store/mcp_grants.rs`): one row per grant, the record as the
//! embedded backend stores it, with its generation as a column so a refresh is one
//! compare-and-swap `UPDATE`.

use super::{Postgres, decode, encode, int, uint};
use crate::store::{McpGrant, StoreError};

impl Postgres {
    /// Stores a new grant, first deleting the tenant's grants that expire soonest beyond
    /// `max_per_tenant`.
    pub async fn create_mcp_grant(
        &self,
        grant: &McpGrant,
        max_per_tenant: usize,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        super::execute(
            &tx,
            "DELETE FROM mcp_grants WHERE id IN (
                 SELECT id FROM mcp_grants WHERE tenant = $1
                 ORDER BY expires_at DESC OFFSET $2)",
            &[&grant.tenant, &int(max_per_tenant.max(1) as u64 - 1)],
        )
        .await?;
        super::execute(
            &tx,
            "INSERT INTO mcp_grants (id, tenant, generation, created_at, expires_at, record)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &grant.id,
                &grant.tenant,
                &int(grant.generation),
                &int(grant.created_at),
                &int(grant.expires_at),
                &encode(grant)?,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn mcp_grant(&self, id: &str) -> Result<Option<McpGrant>, StoreError> {
        self.one("SELECT record FROM mcp_grants WHERE id = $1", &[&id])
            .await?
            .map(|row| decode(&row, "record"))
            .transpose()
    }

    pub async fn replace_mcp_grant(&self, grant: &McpGrant) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                "UPDATE mcp_grants SET generation = $2, expires_at = $3, record = $4
                 WHERE id = $1 AND generation = $5",
                &[
                    &grant.id,
                    &int(grant.generation),
                    &int(grant.expires_at),
                    &encode(grant)?,
                    &int(grant.generation.saturating_sub(1)),
                ],
            )
            .await?;
        Ok(changed == 1)
    }

    pub async fn delete_mcp_grant(&self, tenant: &str, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .execute(
                "DELETE FROM mcp_grants WHERE tenant = $1 AND id = $2",
                &[&tenant, &id],
            )
            .await?
            == 1)
    }

    pub async fn mcp_grants(&self, tenant: &str) -> Result<Vec<McpGrant>, StoreError> {
        self.rows(
            "SELECT record FROM mcp_grants WHERE tenant = $1 ORDER BY created_at, id",
            &[&tenant],
        )
        .await?
        .iter()
        .map(|row| decode(row, "record"))
        .collect()
    }

    pub async fn sweep_mcp_grants(&self, now: u64) -> Result<usize, StoreError> {
        let swept = self
            .execute(
                "DELETE FROM mcp_grants WHERE expires_at <= $1",
                &[&int(now)],
            )
            .await?;
        Ok(uint(swept as i64) as usize)
    }
}
