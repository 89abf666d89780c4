use sha2::{Digest, Sha256};
use sled::Transactional as _;
use sled::transaction::ConflictableTransactionError;

use super::{ApiKeyRecord, Sled, StoreError, Tenant, scoped_key, tenant_prefix};

/// SHA-256 of an API key, hex: what the `api_keys` tree is keyed by.
pub(crate) fn api_key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl Sled {
    /// Creates a tenant; `Conflict` if the id is taken.
    pub async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let value = serde_json::to_vec(tenant)?;
        self.tenants
            .compare_and_swap(tenant.id.as_bytes(), None as Option<&[u8]>, Some(value))?
            .map_err(|_| StoreError::Conflict)?;
        self.flush().await
    }

    /// Tenant `id`, if it exists.
    pub fn tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
        self.tenants
            .get(id.as_bytes())?
            .map(|v| serde_json::from_slice(&v).map_err(StoreError::from))
            .transpose()
    }

    /// Every tenant.
    pub fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        self.tenants
            .iter()
            .values()
            .map(|v| Ok(serde_json::from_slice(&v?)?))
            .collect()
    }

    /// Replaces a tenant's record (its settings); `NotFound` if it does not exist.
    pub async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let value = serde_json::to_vec(tenant)?;
        let key = tenant.id.as_bytes();
        self.tenants
            .fetch_and_update(key, |current| current.map(|_| value.clone()))?
            .ok_or(StoreError::NotFound)?;
        self.flush().await
    }

    /// Stores an API key's hash for `tenant`, indexed by the tenant and the key's id; the key
    /// itself is never stored.
    pub async fn insert_api_key(&self, key: &str, record: &ApiKeyRecord) -> Result<(), StoreError> {
        if self.tenant(&record.tenant)?.is_none() {
            return Err(StoreError::NotFound);
        }
        let hash = api_key_hash(key);
        let value = serde_json::to_vec(record)?;
        let index_key = scoped_key(&record.tenant, &record.id);
        (&self.api_keys, &self.api_key_ids).transaction(|(keys, ids)| {
            keys.insert(hash.as_bytes(), value.as_slice())?;
            ids.insert(index_key.as_slice(), hash.as_bytes())?;
            Ok::<_, ConflictableTransactionError<StoreError>>(())
        })?;
        self.flush().await
    }

    /// A tenant's API keys (records only, never secrets), by id.
    pub fn api_keys(&self, tenant: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let mut records = Vec::new();
        for entry in self.api_key_ids.scan_prefix(tenant_prefix(tenant)) {
            let (_, hash) = entry?;
            if let Some(value) = self.api_keys.get(&hash)? {
                records.push(serde_json::from_slice(&value)?);
            }
        }
        Ok(records)
    }

    /// Revokes one of a tenant's keys; `false` if it has no key with this id. The key answers
    /// 401 from the next request on.
    pub async fn revoke_api_key(&self, tenant: &str, id: &str) -> Result<bool, StoreError> {
        let index_key = scoped_key(tenant, id);
        let revoked = (&self.api_keys, &self.api_key_ids).transaction(|(keys, ids)| {
            let Some(hash) = ids.remove(index_key.as_slice())? else {
                return Ok(false);
            };
            keys.remove(hash)?;
            Ok::<_, ConflictableTransactionError<StoreError>>(true)
        })?;
        self.flush().await?;
        Ok(revoked)
    }

    /// Indexes keys issued before the id index existed, so they can be listed and revoked.
    pub(crate) fn index_legacy_api_keys(&self) -> Result<(), StoreError> {
        for entry in self.api_keys.iter() {
            let (hash, value) = entry?;
            let record: ApiKeyRecord = serde_json::from_slice(&value)?;
            let index_key = scoped_key(&record.tenant, &record.id);
            if self.api_key_ids.get(&index_key)?.is_none() {
                self.api_key_ids.insert(index_key, hash)?;
            }
        }
        Ok(())
    }

    /// The record of the key, if it is one this store issued.
    /// The embedded store is local: the same as [`Sled::api_key`].
    pub fn api_key_if_local(&self, key: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.api_key(key)
    }

    pub fn api_key(&self, key: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.api_keys
            .get(api_key_hash(key).as_bytes())?
            .map(|v| serde_json::from_slice(&v).map_err(StoreError::from))
            .transpose()
    }
}
