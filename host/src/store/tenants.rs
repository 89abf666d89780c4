use sha2::{Digest, Sha256};

use super::{ApiKeyRecord, Store, StoreError, Tenant};

/// SHA-256 of an API key, hex: what the `api_keys` tree is keyed by.
pub(crate) fn api_key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl Store {
    /// Creates a tenant; `Conflict` if the id is taken.
    pub async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let value = serde_json::to_vec(tenant)?;
        self.tenants
            .compare_and_swap(tenant.id.as_bytes(), None as Option<&[u8]>, Some(value))?
            .map_err(|_| StoreError::Conflict)?;
        self.flush().await
    }

    pub fn tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
        self.tenants
            .get(id.as_bytes())?
            .map(|v| serde_json::from_slice(&v).map_err(StoreError::from))
            .transpose()
    }

    pub fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        self.tenants
            .iter()
            .values()
            .map(|v| Ok(serde_json::from_slice(&v?)?))
            .collect()
    }

    /// Stores an API key's hash for `tenant`; the key itself is never stored.
    pub async fn insert_api_key(&self, key: &str, record: &ApiKeyRecord) -> Result<(), StoreError> {
        if self.tenant(&record.tenant)?.is_none() {
            return Err(StoreError::NotFound);
        }
        self.api_keys
            .insert(api_key_hash(key).as_bytes(), serde_json::to_vec(record)?)?;
        self.flush().await
    }

    /// The record of the key, if it is one this store issued.
    pub fn api_key(&self, key: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.api_keys
            .get(api_key_hash(key).as_bytes())?
            .map(|v| serde_json::from_slice(&v).map_err(StoreError::from))
            .transpose()
    }
}
