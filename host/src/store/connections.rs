use sled::Transactional as _;
use sled::transaction::ConflictableTransactionError;

use super::token_expiry::{self, expiry_of};
use super::{
    Aad, BoundCredential, ConnectionRecord, ConnectionStatus, Sled, StoreError, scoped_key,
    tenant_prefix,
};

/// Field name of a connection's credential in the `secrets` tree.
pub(super) const CREDENTIAL_FIELD: &str = "credential";

pub(super) fn cursor_field(stream: &str) -> String {
    format!("cursor:{stream}")
}

impl Sled {
    /// Stores a new connection and its sealed credential in one transaction, then flushes.
    pub async fn create_connection(
        &self,
        record: &ConnectionRecord,
        credential: &BoundCredential,
    ) -> Result<(), StoreError> {
        let key = scoped_key(&record.tenant, &record.id);
        let value = serde_json::to_vec(record)?;
        let aad = Aad::new(&record.tenant, &record.id, CREDENTIAL_FIELD);
        let sealed = self.seal_credential(&aad, credential)?;
        let expiry = expiry_of(credential);
        let event_seq = self.db.generate_id()?;
        let event = serde_json::json!({
            "connection_id": record.id,
            "connector": record.connector,
            "name": record.name,
            "status": record.status,
        });
        let trees = (
            &self.connections,
            &self.secrets,
            &self.token_expiry,
            &self.token_expiry_of,
            &self.outbox,
        );
        trees.transaction(|(connections, secrets, by_time, by_connection, outbox)| {
            if connections.get(&key)?.is_some() {
                return Err(ConflictableTransactionError::Abort(StoreError::Conflict));
            }
            connections.insert(key.as_slice(), value.as_slice())?;
            secrets.insert(aad.storage_key(), sealed.as_slice())?;
            token_expiry::set(by_time, by_connection, &key, expiry)?;
            super::events::put(
                outbox,
                event_seq,
                &record.tenant,
                super::EventType::ConnectionCreated,
                event.clone(),
            )?;
            Ok(())
        })?;
        self.flush().await
    }

    /// Replaces a connection's record, and its credential when one is given, in one
    /// transaction, then flushes. `NotFound` if it was deleted meanwhile.
    pub async fn update_connection(
        &self,
        record: &ConnectionRecord,
        credential: Option<&BoundCredential>,
    ) -> Result<(), StoreError> {
        let key = scoped_key(&record.tenant, &record.id);
        let value = serde_json::to_vec(record)?;
        let aad = Aad::new(&record.tenant, &record.id, CREDENTIAL_FIELD);
        let sealed = credential
            .map(|c| self.seal_credential(&aad, c))
            .transpose()?;
        let trees = self.credential_trees();
        trees.transaction(|(connections, secrets, by_time, by_connection)| {
            if connections.get(&key)?.is_none() {
                return Err(ConflictableTransactionError::Abort(StoreError::NotFound));
            }
            connections.insert(key.as_slice(), value.as_slice())?;
            if let (Some(sealed), Some(credential)) = (&sealed, credential) {
                secrets.insert(aad.storage_key(), sealed.as_slice())?;
                token_expiry::set(by_time, by_connection, &key, expiry_of(credential))?;
            }
            Ok(())
        })?;
        self.flush().await
    }

    /// Changes a connection's record in place: `change` sees the record as stored at that
    /// moment (re-read inside the transaction, so a concurrent PATCH is never overwritten) and
    /// returns whether it changed anything. Returns the record as stored after, `None` if the
    /// connection is gone.
    pub async fn update_status(
        &self,
        tenant: &str,
        id: &str,
        change: impl Fn(&mut ConnectionRecord) -> bool,
    ) -> Result<Option<ConnectionRecord>, StoreError> {
        let key = scoped_key(tenant, id);
        let event_seq = self.db.generate_id()?;
        let trees = (&self.connections, &self.outbox);
        let (stored, wrote) = trees.transaction(|(connections, outbox)| {
            let Some(bytes) = connections.get(&key)? else {
                return Ok((None, false));
            };
            let mut record: ConnectionRecord = serde_json::from_slice(&bytes)
                .map_err(|e| ConflictableTransactionError::Abort(StoreError::from(e)))?;
            let before = record.status;
            let wrote = change(&mut record);
            if wrote {
                let value = serde_json::to_vec(&record)
                    .map_err(|e| ConflictableTransactionError::Abort(StoreError::from(e)))?;
                connections.insert(key.as_slice(), value)?;
                // The tenant hears once, when the grant dies, not on every refused call.
                if record.status == ConnectionStatus::NeedsReauth
                    && before != ConnectionStatus::NeedsReauth
                {
                    super::events::put(
                        outbox,
                        event_seq,
                        tenant,
                        super::EventType::ConnectionNeedsReauth,
                        serde_json::json!({
                            "connection_id": record.id,
                            "connector": record.connector,
                            "error": record.last_error,
                        }),
                    )?;
                }
            }
            Ok((Some(record), wrote))
        })?;
        if wrote {
            self.flush().await?;
        }
        Ok(stored)
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

    /// How many connections one tenant holds (keys only, no records parsed).
    pub fn connection_count(&self, tenant: &str) -> Result<usize, StoreError> {
        let mut count = 0;
        for key in self.connections.scan_prefix(tenant_prefix(tenant)).keys() {
            key?;
            count += 1;
        }
        Ok(count)
    }

    /// One page of a tenant's connections in id order: up to `limit` records with an id after
    /// `after`.
    pub fn connections_page(
        &self,
        tenant: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ConnectionRecord>, StoreError> {
        let prefix = tenant_prefix(tenant);
        let start = match after {
            // The first key after `after`: `after` itself followed by a zero byte.
            Some(id) => {
                let mut key = scoped_key(tenant, id);
                key.push(0);
                key
            }
            None => prefix.clone(),
        };
        self.connections
            .range(start..)
            .take_while(|entry| {
                entry
                    .as_ref()
                    .map_or(true, |(key, _)| key.starts_with(&prefix))
            })
            .take(limit)
            .map(|entry| Ok(serde_json::from_slice(&entry?.1)?))
            .collect()
    }

    /// Every connection of one tenant, by id.
    pub fn connections(&self, tenant: &str) -> Result<Vec<ConnectionRecord>, StoreError> {
        self.connections
            .scan_prefix(tenant_prefix(tenant))
            .values()
            .map(|v| Ok(serde_json::from_slice(&v?)?))
            .collect()
    }

    /// Connections of any tenant to `connector` holding `value` among the values the host
    /// learned for them under their own credential (a Slack team id, an Atlassian site), to
    /// route an app-signed webhook delivery. Config is never consulted: a tenant types it.
    pub fn connections_with_value(
        &self,
        connector: &str,
        value: &str,
    ) -> Result<Vec<ConnectionRecord>, StoreError> {
        let mut found = Vec::new();
        for bytes in self.connections.iter().values() {
            let record: ConnectionRecord = serde_json::from_slice(&bytes?)?;
            // Values only, learned under the connection's credential; never its config.
            if record.connector == connector
                && record
                    .values
                    .values()
                    .any(|v| v.trim_end_matches('/') == value)
            {
                found.push(record);
            }
        }
        Ok(found)
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
        let event_seq = self.db.generate_id()?;
        let trees = (
            &self.connections,
            &self.secrets,
            &self.cursors,
            &self.token_expiry,
            &self.token_expiry_of,
            &self.outbox,
        );
        let existed = trees.transaction(
            |(connections, secrets, cursors, by_time, by_connection, outbox)| {
                token_expiry::set(by_time, by_connection, &key, None)?;
                let removed = connections.remove(key.as_slice())?;
                let existed = removed.is_some();
                if let Some(bytes) = removed {
                    let connector = serde_json::from_slice::<ConnectionRecord>(&bytes)
                        .map(|r| r.connector)
                        .unwrap_or_default();
                    super::events::put(
                        outbox,
                        event_seq,
                        tenant,
                        super::EventType::ConnectionDeleted,
                        serde_json::json!({"connection_id": id, "connector": connector}),
                    )?;
                }
                for k in &secret_keys {
                    secrets.remove(k)?;
                }
                for k in &cursor_keys {
                    cursors.remove(k)?;
                }
                Ok::<_, ConflictableTransactionError<StoreError>>(existed)
            },
        )?;
        self.delete_syncs_of(tenant, id)?;
        self.delete_changes_of(tenant, id)?;
        self.delete_registrations_of(tenant, id)?;
        self.flush().await?;
        Ok(existed)
    }

    /// The connection's credential with the origin it is bound to, opened.
    pub fn credential(&self, tenant: &str, id: &str) -> Result<BoundCredential, StoreError> {
        let aad = Aad::new(tenant, id, CREDENTIAL_FIELD);
        let sealed = self
            .secrets
            .get(aad.storage_key())?
            .ok_or(StoreError::NotFound)?;
        let plain = self.keys.open(&aad, &sealed)?;
        Ok(BoundCredential::from_sealed_json(&plain)?)
    }

    /// A credential with the version a [`Store::replace_credential_if`] checks: a digest of its
    /// sealed bytes, which every write changes (each seal has a fresh nonce).
    pub fn credential_versioned(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<(BoundCredential, CredentialVersion), StoreError> {
        let aad = Aad::new(tenant, id, CREDENTIAL_FIELD);
        let sealed = self
            .secrets
            .get(aad.storage_key())?
            .ok_or(StoreError::NotFound)?;
        let plain = self.keys.open(&aad, &sealed)?;
        Ok((
            BoundCredential::from_sealed_json(&plain)?,
            CredentialVersion::of(&sealed),
        ))
    }

    /// The trees a credential write changes together: the record, the sealed credential and
    /// the token expiry index.
    fn credential_trees(&self) -> (&sled::Tree, &sled::Tree, &sled::Tree, &sled::Tree) {
        (
            &self.connections,
            &self.secrets,
            &self.token_expiry,
            &self.token_expiry_of,
        )
    }

    fn seal_credential(
        &self,
        aad: &Aad,
        credential: &BoundCredential,
    ) -> Result<Vec<u8>, StoreError> {
        Ok(self
            .keys
            .seal(aad, &zeroize::Zeroizing::new(credential.to_sealed_json()?))?)
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

    /// How many cursors a connection holds (keys only).
    pub fn cursor_count(&self, tenant: &str, connection: &str) -> Result<usize, StoreError> {
        let prefix = format!("{tenant}/{connection}/cursor:").into_bytes();
        let mut count = 0;
        for key in self.cursors.scan_prefix(&prefix).keys() {
            key?;
            count += 1;
        }
        Ok(count)
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

impl Sled {
    /// One process: the refresher's own lock is the only one needed.
    pub async fn refresh_lock(
        &self,
        _tenant: &str,
        _connection: &str,
    ) -> Result<super::RefreshLock, StoreError> {
        Ok(super::RefreshLock(None))
    }

    /// Writes the sealed credential and its expiry index together, when the connection exists
    /// and (given `expected`) the stored credential is still that version.
    pub async fn write_credential(
        &self,
        tenant: &str,
        id: &str,
        expected: Option<&CredentialVersion>,
        credential: &BoundCredential,
    ) -> Result<(), StoreError> {
        let key = scoped_key(tenant, id);
        let aad = Aad::new(tenant, id, CREDENTIAL_FIELD);
        let sealed = self.seal_credential(&aad, credential)?;
        let expiry = expiry_of(credential);
        let trees = self.credential_trees();
        trees.transaction(|(connections, secrets, by_time, by_connection)| {
            if connections.get(&key)?.is_none() {
                return Err(ConflictableTransactionError::Abort(StoreError::NotFound));
            }
            if let Some(expected) = expected {
                let current = secrets.get(aad.storage_key())?;
                if current.as_deref().map(CredentialVersion::of).as_ref() != Some(expected) {
                    return Err(ConflictableTransactionError::Abort(StoreError::Conflict));
                }
            }
            secrets.insert(aad.storage_key(), sealed.as_slice())?;
            token_expiry::set(by_time, by_connection, &key, expiry)?;
            Ok(())
        })?;
        self.flush().await
    }
}

/// Which write of a credential was read: a digest of its sealed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialVersion([u8; 32]);

impl CredentialVersion {
    pub(super) fn of(sealed: &[u8]) -> Self {
        use sha2::Digest as _;
        Self(sha2::Sha256::digest(sealed).into())
    }
}

impl Sled {
    /// Writes many connections in two batches with a single flush. For benchmarks that need a
    /// large store quickly; the API path uses [`Store::create_connection`].
    #[doc(hidden)]
    pub async fn seed_connections(
        &self,
        entries: &[(ConnectionRecord, BoundCredential)],
    ) -> Result<(), StoreError> {
        let mut records = sled::Batch::default();
        let mut secrets = sled::Batch::default();
        for (record, credential) in entries {
            let aad = Aad::new(&record.tenant, &record.id, CREDENTIAL_FIELD);
            let sealed = self.seal_credential(&aad, credential)?;
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
