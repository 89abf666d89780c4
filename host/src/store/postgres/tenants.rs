//! Tenants and their API keys (SHA-256 of each key, never the key).

use super::cache::{Entry, api_key_topic};
use super::{Postgres, decode, encode, execute, notify};
use crate::store::tenants::api_key_hash;
use crate::store::{ApiKeyRecord, StoreError, Tenant};

impl Postgres {
    pub async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let inserted = self
            .execute(
                "INSERT INTO tenants (id, record) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&tenant.id, &encode(tenant)?],
            )
            .await?;
        if inserted == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    pub async fn tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
        self.one("SELECT record FROM tenants WHERE id = $1", &[&id])
            .await?
            .map(|row| decode(&row, "record"))
            .transpose()
    }

    pub async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        self.rows("SELECT record FROM tenants ORDER BY id", &[])
            .await?
            .iter()
            .map(|row| decode(row, "record"))
            .collect()
    }

    pub async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let updated = self
            .execute(
                "UPDATE tenants SET record = $2 WHERE id = $1",
                &[&tenant.id, &encode(tenant)?],
            )
            .await?;
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn insert_api_key(&self, key: &str, record: &ApiKeyRecord) -> Result<(), StoreError> {
        let digest = api_key_hash(key);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // The tenant must exist: checked in the statement, so a tenant deleted meanwhile gets
        // no key.
        let inserted = execute(
            &tx,
            "INSERT INTO api_keys (digest, tenant, id, record)
             SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $2)
             ON CONFLICT (digest) DO UPDATE SET record = excluded.record",
            &[&digest, &record.tenant, &record.id, &encode(record)?],
        )
        .await?;
        if inserted == 0 {
            return Err(StoreError::NotFound);
        }
        let topic = api_key_topic(&digest);
        notify(&tx, &topic).await?;
        tx.commit().await?;
        self.forget(&topic);
        Ok(())
    }

    pub async fn api_keys(&self, tenant: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.rows(
            "SELECT record FROM api_keys WHERE tenant = $1 ORDER BY id",
            &[&tenant],
        )
        .await?
        .iter()
        .map(|row| decode(row, "record"))
        .collect()
    }

    /// Revokes a key: every host's cache drops it when the deletion commits.
    pub async fn revoke_api_key(&self, tenant: &str, id: &str) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(row) = super::one(
            &tx,
            "DELETE FROM api_keys WHERE tenant = $1 AND id = $2 RETURNING digest",
            &[&tenant, &id],
        )
        .await?
        else {
            return Ok(false);
        };
        let topic = api_key_topic(row.get(0));
        notify(&tx, &topic).await?;
        tx.commit().await?;
        self.forget(&topic);
        Ok(true)
    }

    /// The key's record, from this host's cache when it holds it (every request reads it).
    /// Unknown keys are never kept: a flood of wrong keys adds nothing here.
    pub async fn api_key_if_local(&self, key: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        match self.cache.get(&api_key_topic(&api_key_hash(key)), 0) {
            Some(Entry::ApiKey(record)) => Ok(Some(record)),
            _ => Ok(None),
        }
    }

    pub async fn api_key(&self, key: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let digest = api_key_hash(key);
        let topic = api_key_topic(&digest);
        if let Some(Entry::ApiKey(record)) = self.cache.get(&topic, 0) {
            return Ok(Some(record));
        }
        let read_at = self.cache.generation();
        let record: Option<ApiKeyRecord> = self
            .one("SELECT record FROM api_keys WHERE digest = $1", &[&digest])
            .await?
            .map(|row| decode(&row, "record"))
            .transpose()?;
        if let Some(record) = &record {
            self.cache
                .put(topic, 0, Entry::ApiKey(record.clone()), read_at);
        }
        Ok(record)
    }
}
