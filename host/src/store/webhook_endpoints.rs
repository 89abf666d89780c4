//! Tenants' webhook endpoints: the record in `webhook_endpoints` (`tenant/id`), the signing
//! secrets sealed in `secrets` (bound to tenant, endpoint and field like a credential).

use serde::{Deserialize, Serialize};

use super::{Aad, EventType, Sled, StoreError, scoped_key, tenant_prefix};

pub(super) const SECRET_FIELD: &str = "webhook-secret";

/// An endpoint as stored. Never holds its secret.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EndpointRecord {
    /// `we_` and random characters.
    pub id: String,
    /// The tenant.
    pub tenant: String,
    /// Where deliveries go.
    pub url: String,
    /// The event types delivered to it.
    pub events: Vec<EventType>,
    /// The tenant's note.
    pub description: Option<String>,
    /// Disabled endpoints get nothing; a receiver answering 410 disables its endpoint.
    pub enabled: bool,
    /// Why it is disabled, when it is.
    pub disabled_reason: Option<String>,
    /// When it was created.
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
    /// Failed attempts in a row (the circuit breaker's count).
    #[serde(default)]
    pub consecutive_failures: u32,
    /// While the breaker is open, deliveries wait until this time (unix milliseconds).
    #[serde(default)]
    pub breaker_open_until_ms: Option<u64>,
}

/// The secrets deliveries are signed with: during a rotation, both.
#[derive(Clone, Serialize, Deserialize)]
pub struct EndpointSecrets {
    /// `whsec_` and base64 of the key bytes.
    pub current: String,
    /// The previous secret, during a rotation's overlap.
    pub previous: Option<String>,
    /// Until when (unix milliseconds) deliveries also carry the previous secret's signature.
    pub previous_until_ms: Option<u64>,
}

impl std::fmt::Debug for EndpointSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EndpointSecrets([redacted])")
    }
}

impl EndpointSecrets {
    /// The secrets to sign with at `now_ms`: the current one, and the previous one while its
    /// overlap lasts.
    pub fn signing(&self, now_ms: u64) -> Vec<&str> {
        let mut secrets = vec![self.current.as_str()];
        if let (Some(previous), Some(until)) = (&self.previous, self.previous_until_ms)
            && until > now_ms
        {
            secrets.push(previous);
        }
        secrets
    }
}

impl Sled {
    /// Stores a new endpoint with its secrets.
    pub async fn create_endpoint(
        &self,
        endpoint: &EndpointRecord,
        secrets: &EndpointSecrets,
    ) -> Result<(), StoreError> {
        self.put_endpoint_secrets(&endpoint.tenant, &endpoint.id, secrets)?;
        self.webhook_endpoints
            .compare_and_swap(
                scoped_key(&endpoint.tenant, &endpoint.id),
                None as Option<&[u8]>,
                Some(serde_json::to_vec(endpoint)?),
            )?
            .map_err(|_| StoreError::Conflict)?;
        self.flush().await
    }

    /// One endpoint of the tenant.
    pub fn endpoint(&self, tenant: &str, id: &str) -> Result<Option<EndpointRecord>, StoreError> {
        match self.webhook_endpoints.get(scoped_key(tenant, id))? {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    /// The tenant's endpoints, in id order.
    pub fn endpoints(&self, tenant: &str) -> Result<Vec<EndpointRecord>, StoreError> {
        self.webhook_endpoints
            .scan_prefix(tenant_prefix(tenant))
            .values()
            .map(|bytes| Ok(serde_json::from_slice(&bytes?)?))
            .collect()
    }

    /// Changes an endpoint atomically; `None` when it does not exist.
    pub async fn update_endpoint(
        &self,
        tenant: &str,
        id: &str,
        change: impl Fn(&mut EndpointRecord),
    ) -> Result<Option<EndpointRecord>, StoreError> {
        let mut updated = None;
        self.webhook_endpoints
            .fetch_and_update(scoped_key(tenant, id), |current| {
                let bytes = current?;
                let Ok(mut record) = serde_json::from_slice::<EndpointRecord>(bytes) else {
                    return Some(bytes.to_vec());
                };
                change(&mut record);
                let encoded = serde_json::to_vec(&record).unwrap_or_else(|_| bytes.to_vec());
                updated = Some(record);
                Some(encoded)
            })?;
        self.flush().await?;
        Ok(updated)
    }

    /// Seals and stores an endpoint's secrets.
    pub fn put_endpoint_secrets(
        &self,
        tenant: &str,
        id: &str,
        secrets: &EndpointSecrets,
    ) -> Result<(), StoreError> {
        let aad = Aad::new(tenant, id, SECRET_FIELD);
        let sealed = self.keys.seal(&aad, &serde_json::to_vec(secrets)?)?;
        self.secrets.insert(aad.storage_key(), sealed)?;
        Ok(())
    }

    /// An endpoint's secrets, opened.
    pub fn endpoint_secrets(&self, tenant: &str, id: &str) -> Result<EndpointSecrets, StoreError> {
        let aad = Aad::new(tenant, id, SECRET_FIELD);
        let sealed = self
            .secrets
            .get(aad.storage_key())?
            .ok_or(StoreError::NotFound)?;
        Ok(serde_json::from_slice(&self.keys.open(&aad, &sealed)?)?)
    }

    /// Deletes an endpoint, its secrets, its delivery log and its queued deliveries.
    pub async fn delete_endpoint(&self, tenant: &str, id: &str) -> Result<bool, StoreError> {
        let existed = self
            .webhook_endpoints
            .remove(scoped_key(tenant, id))?
            .is_some();
        self.secrets
            .remove(Aad::new(tenant, id, SECRET_FIELD).storage_key())?;
        self.delete_deliveries_of(tenant, id)?;
        self.flush().await?;
        Ok(existed)
    }
}
