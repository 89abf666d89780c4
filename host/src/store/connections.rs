use sled::Transactional as _;
use sled::transaction::ConflictableTransactionError;

use super::{
    Aad, ConnectionRecord, Store, StoreError, StoredCredential, scoped_key, tenant_prefix,
};

/// Field name of a connection's credential in the `secrets` tree.
const CREDENTIAL_FIELD: &str = "credential";

fn cursor_field(stream: &str) -> String {
    format!("cursor:{stream}")
}

impl Store {
    /// Stores a new connection and its sealed credential in one transaction, then flushes.
    pub async fn create_connection(
        &self,
        record: &ConnectionRecord,
        credential: &StoredCredential,
    ) -> Result<(), StoreError> {
        let key = scoped_key(&record.tenant, &record.id);
        let value = serde_json::to_vec(record)?;
        let aad = Aad::new(&record.tenant, &record.id, CREDENTIAL_FIELD);
        let sealed = self.keys.seal(
            &aad,
            &zeroize::Zeroizing::new(serde_json::to_vec(credential)?),
        )?;
        (&self.connections, &self.secrets).transaction(|(connections, secrets)| {
            if connections.get(&key)?.is_some() {
                return Err(ConflictableTransactionError::Abort(StoreError::Conflict));
            }
            connections.insert(key.as_slice(), value.as_slice())?;
            secrets.insert(aad.storage_key(), sealed.as_slice())?;
            Ok(())
        })?;
        self.flush().await
    }

    /// Replaces a connection's record, and its credential when one is given, in one
    /// transaction, then flushes. `NotFound` if it was deleted meanwhile.
    pub async fn update_connection(
        &self,
        record: &ConnectionRecord,
        credential: Option<&StoredCredential>,
    ) -> Result<(), StoreError> {
        let key = scoped_key(&record.tenant, &record.id);
        let value = serde_json::to_vec(record)?;
        let aad = Aad::new(&record.tenant, &record.id, CREDENTIAL_FIELD);
        let sealed = credential
            .map(|c| {
                Ok::<_, StoreError>(
                    self.keys
                        .seal(&aad, &zeroize::Zeroizing::new(serde_json::to_vec(c)?))?,
                )
            })
            .transpose()?;
        (&self.connections, &self.secrets).transaction(|(connections, secrets)| {
            if connections.get(&key)?.is_none() {
                return Err(ConflictableTransactionError::Abort(StoreError::NotFound));
            }
            connections.insert(key.as_slice(), value.as_slice())?;
            if let Some(sealed) = &sealed {
                secrets.insert(aad.storage_key(), sealed.as_slice())?;
            }
            Ok(())
        })?;
        self.flush().await
    }

    /// One connection of one tenant.
    pub fn connection(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<ConnectionRecord>, StoreError> {
        self.connections
            .get(scoped_key(tenant, id))?
            .map(|v| serde_json::from_slice(&v).map_err(StoreError::from))
            .transpose()
    }

    /// Every connection of one tenant, by id.
    pub fn connections(&self, tenant: &str) -> Result<Vec<ConnectionRecord>, StoreError> {
        self.connections
            .scan_prefix(tenant_prefix(tenant))
            .values()
            .map(|v| Ok(serde_json::from_slice(&v?)?))
            .collect()
    }

    /// Deletes a connection with its credential and cursors; `false` if there was none.
    pub async fn delete_connection(&self, tenant: &str, id: &str) -> Result<bool, StoreError> {
        let key = scoped_key(tenant, id);
        let secret_prefix = format!("{tenant}/{id}/").into_bytes();
        let secret_keys: Vec<sled::IVec> = self
            .secrets
            .scan_prefix(&secret_prefix)
            .keys()
            .collect::<Result<_, _>>()?;
        let cursor_keys: Vec<sled::IVec> = self
            .cursors
            .scan_prefix(&secret_prefix)
            .keys()
            .collect::<Result<_, _>>()?;
        let existed = (&self.connections, &self.secrets, &self.cursors).transaction(
            |(connections, secrets, cursors)| {
                let existed = connections.remove(key.as_slice())?.is_some();
                for k in &secret_keys {
                    secrets.remove(k)?;
                }
                for k in &cursor_keys {
                    cursors.remove(k)?;
                }
                Ok::<_, ConflictableTransactionError<StoreError>>(existed)
            },
        )?;
        self.flush().await?;
        Ok(existed)
    }

    /// The connection's credential, opened.
    pub fn credential(&self, tenant: &str, id: &str) -> Result<StoredCredential, StoreError> {
        let aad = Aad::new(tenant, id, CREDENTIAL_FIELD);
        let sealed = self
            .secrets
            .get(aad.storage_key())?
            .ok_or(StoreError::NotFound)?;
        let plain = self.keys.open(&aad, &sealed)?;
        Ok(serde_json::from_slice(&plain)?)
    }

    /// Stores a sync cursor for `stream`, sealed.
    pub async fn put_cursor(
        &self,
        tenant: &str,
        connection: &str,
        stream: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        let aad = Aad::new(tenant, connection, &cursor_field(stream));
        let sealed = self.keys.seal(&aad, value.as_bytes())?;
        self.cursors.insert(aad.storage_key(), sealed)?;
        self.flush().await
    }

    /// A stored sync cursor.
    pub fn cursor(
        &self,
        tenant: &str,
        connection: &str,
        stream: &str,
    ) -> Result<Option<String>, StoreError> {
        let aad = Aad::new(tenant, connection, &cursor_field(stream));
        let Some(sealed) = self.cursors.get(aad.storage_key())? else {
            return Ok(None);
        };
        let plain = self.keys.open(&aad, &sealed)?;
        Ok(Some(
            String::from_utf8(plain.to_vec()).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        ))
    }

    /// Every stored cursor of a connection, as `(stream, value)`.
    pub fn cursors(
        &self,
        tenant: &str,
        connection: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let prefix = format!("{tenant}/{connection}/cursor:").into_bytes();
        self.cursors
            .scan_prefix(&prefix)
            .map(|entry| {
                let (key, sealed) = entry?;
                let aad = Aad::from_storage_key(&key)?;
                let plain = self.keys.open(&aad, &sealed)?;
                let stream = aad.field.trim_start_matches("cursor:").to_owned();
                Ok((
                    stream,
                    String::from_utf8(plain.to_vec())
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                ))
            })
            .collect()
    }

    /// Deletes a stored cursor; `false` if there was none.
    pub async fn delete_cursor(
        &self,
        tenant: &str,
        connection: &str,
        stream: &str,
    ) -> Result<bool, StoreError> {
        let aad = Aad::new(tenant, connection, &cursor_field(stream));
        let existed = self.cursors.remove(aad.storage_key())?.is_some();
        self.flush().await?;
        Ok(existed)
    }

    /// The raw sealed credential bytes (for tests that move ciphertexts between tenants).
    #[doc(hidden)]
    pub fn sealed_credential(&self, tenant: &str, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .secrets
            .get(Aad::new(tenant, id, CREDENTIAL_FIELD).storage_key())?
            .map(|v| v.to_vec()))
    }

    /// Writes raw sealed credential bytes (for tests that move ciphertexts between tenants).
    #[doc(hidden)]
    pub fn put_sealed_credential(
        &self,
        tenant: &str,
        id: &str,
        sealed: &[u8],
    ) -> Result<(), StoreError> {
        self.secrets
            .insert(Aad::new(tenant, id, CREDENTIAL_FIELD).storage_key(), sealed)?;
        Ok(())
    }
}

impl Store {
    /// Replaces only a connection's sealed credential (token refresh), then flushes.
    /// `NotFound` if the connection was deleted meanwhile.
    pub async fn replace_credential(
        &self,
        tenant: &str,
        id: &str,
        credential: &StoredCredential,
    ) -> Result<(), StoreError> {
        let key = scoped_key(tenant, id);
        let aad = Aad::new(tenant, id, CREDENTIAL_FIELD);
        let sealed = self.keys.seal(
            &aad,
            &zeroize::Zeroizing::new(serde_json::to_vec(credential)?),
        )?;
        (&self.connections, &self.secrets).transaction(|(connections, secrets)| {
            if connections.get(&key)?.is_none() {
                return Err(ConflictableTransactionError::Abort(StoreError::NotFound));
            }
            secrets.insert(aad.storage_key(), sealed.as_slice())?;
            Ok(())
        })?;
        self.flush().await
    }
}

impl Store {
    /// Writes many connections in two batches with a single flush. For benchmarks that need a
    /// large store quickly; the API path uses [`Store::create_connection`].
    #[doc(hidden)]
    pub async fn seed_connections(
        &self,
        entries: &[(ConnectionRecord, StoredCredential)],
    ) -> Result<(), StoreError> {
        let mut records = sled::Batch::default();
        let mut secrets = sled::Batch::default();
        for (record, credential) in entries {
            let aad = Aad::new(&record.tenant, &record.id, CREDENTIAL_FIELD);
            let sealed = self.keys.seal(
                &aad,
                &zeroize::Zeroizing::new(serde_json::to_vec(credential)?),
            )?;
            records.insert(
                scoped_key(&record.tenant, &record.id),
                serde_json::to_vec(record)?,
            );
            secrets.insert(aad.storage_key(), sealed);
        }
        self.connections.apply_batch(records)?;
        self.secrets.apply_batch(secrets)?;
        self.flush().await
    }
}
