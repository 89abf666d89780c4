//! Connections, their sealed credentials (with the token expiry index) and sealed cursors.

use deadpool_postgres::GenericClient;

use super::cache::{Entry, connection_topic};
use super::{Postgres, count, decode, encode, execute, int, notify, one, uint};
use crate::store::connections::{CREDENTIAL_FIELD, cursor_field};
use crate::store::refresh_lock::lock_key;
use crate::store::token_expiry::expiry_of;
use crate::store::{
    Aad, BoundCredential, ConnectionRecord, ConnectionStatus, CredentialVersion, EventType,
    RefreshLock, StoreError,
};

/// Which record of a connection a cache entry is.
const CONNECTION: u8 = 1;
const CREDENTIAL: u8 = 2;

impl Postgres {
    fn seal_credential(
        &self,
        aad: &Aad,
        credential: &BoundCredential,
    ) -> Result<Vec<u8>, StoreError> {
        self.seal(aad, &zeroize::Zeroizing::new(credential.to_sealed_json()?))
    }

    pub async fn create_connection(
        &self,
        record: &ConnectionRecord,
        credential: &BoundCredential,
    ) -> Result<(), StoreError> {
        let aad = Aad::new(&record.tenant, &record.id, CREDENTIAL_FIELD);
        let sealed = self.seal_credential(&aad, credential)?;
        let event_seq = self.next_id().await?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let inserted = execute(
            &tx,
            "INSERT INTO connections (tenant, id, connector, record) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
            &[
                &record.tenant,
                &record.id,
                &record.connector,
                &encode(record)?,
            ],
        )
        .await?;
        if inserted == 0 {
            return Err(StoreError::Conflict);
        }
        put_secret(&tx, &aad, &sealed).await?;
        set_expiry(&tx, &record.tenant, &record.id, expiry_of(credential)).await?;
        self.put_event(
            &tx,
            event_seq,
            &record.tenant,
            EventType::ConnectionCreated,
            serde_json::json!({
                "connection_id": record.id,
                "connector": record.connector,
                "name": record.name,
                "status": record.status,
            }),
        )
        .await?;
        let topic = connection_topic(&record.tenant, &record.id);
        notify(&tx, &topic).await?;
        tx.commit().await?;
        self.forget(&topic);
        Ok(())
    }

    pub async fn update_connection(
        &self,
        record: &ConnectionRecord,
        credential: Option<&BoundCredential>,
    ) -> Result<(), StoreError> {
        let aad = Aad::new(&record.tenant, &record.id, CREDENTIAL_FIELD);
        let sealed = credential
            .map(|c| self.seal_credential(&aad, c))
            .transpose()?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let updated = execute(
            &tx,
            "UPDATE connections SET record = $3 WHERE tenant = $1 AND id = $2",
            &[&record.tenant, &record.id, &encode(record)?],
        )
        .await?;
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        if let (Some(sealed), Some(credential)) = (&sealed, credential) {
            put_secret(&tx, &aad, sealed).await?;
            set_expiry(&tx, &record.tenant, &record.id, expiry_of(credential)).await?;
        }
        let topic = connection_topic(&record.tenant, &record.id);
        notify(&tx, &topic).await?;
        tx.commit().await?;
        self.forget(&topic);
        Ok(())
    }

    pub async fn update_status(
        &self,
        tenant: &str,
        id: &str,
        change: impl Fn(&mut ConnectionRecord) -> bool,
    ) -> Result<Option<ConnectionRecord>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Locked until the commit: a concurrent PATCH waits, and is never overwritten.
        let Some(row) = one(
            &tx,
            "SELECT record FROM connections WHERE tenant = $1 AND id = $2 FOR UPDATE",
            &[&tenant, &id],
        )
        .await?
        else {
            return Ok(None);
        };
        let mut record: ConnectionRecord = decode(&row, "record")?;
        let before = record.status;
        let changed = change(&mut record);
        if changed {
            execute(
                &tx,
                "UPDATE connections SET record = $3 WHERE tenant = $1 AND id = $2",
                &[&tenant, &id, &encode(&record)?],
            )
            .await?;
            notify(&tx, &connection_topic(tenant, id)).await?;
            // The tenant hears once, when the grant dies, not on every refused call.
            if record.status == ConnectionStatus::NeedsReauth
                && before != ConnectionStatus::NeedsReauth
            {
                let seq = one(&tx, "SELECT nextval('ids')", &[])
                    .await?
                    .map_or(0, |row| uint(row.get(0)));
                self.put_event(
                    &tx,
                    seq,
                    tenant,
                    EventType::ConnectionNeedsReauth,
                    serde_json::json!({
                        "connection_id": record.id,
                        "connector": record.connector,
                        "error": record.last_error,
                    }),
                )
                .await?;
            }
        }
        tx.commit().await?;
        if changed {
            self.forget(&connection_topic(tenant, id));
        }
        Ok(Some(record))
    }

    pub async fn connection(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<ConnectionRecord>, StoreError> {
        let topic = connection_topic(tenant, id);
        if let Some(Entry::Connection(record)) = self.cache.get(&topic, CONNECTION) {
            return Ok(Some(record));
        }
        let read_at = self.cache.generation();
        let record: Option<ConnectionRecord> = self
            .one(
                "SELECT record FROM connections WHERE tenant = $1 AND id = $2",
                &[&tenant, &id],
            )
            .await?
            .map(|row| decode(&row, "record"))
            .transpose()?;
        if let Some(record) = &record {
            self.cache.put(
                topic,
                CONNECTION,
                Entry::Connection(record.clone()),
                read_at,
            );
        }
        Ok(record)
    }

    pub async fn connection_count(&self, tenant: &str) -> Result<usize, StoreError> {
        count(
            self.one(
                "SELECT count(*) FROM connections WHERE tenant = $1",
                &[&tenant],
            )
            .await?,
        )
    }

    pub async fn connections_page(
        &self,
        tenant: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ConnectionRecord>, StoreError> {
        self.rows(
            "SELECT record FROM connections WHERE tenant = $1 AND id > $2 ORDER BY id LIMIT $3",
            &[&tenant, &after.unwrap_or(""), &int(limit as u64)],
        )
        .await?
        .iter()
        .map(|row| decode(row, "record"))
        .collect()
    }

    pub async fn connections(&self, tenant: &str) -> Result<Vec<ConnectionRecord>, StoreError> {
        self.rows(
            "SELECT record FROM connections WHERE tenant = $1 ORDER BY id",
            &[&tenant],
        )
        .await?
        .iter()
        .map(|row| decode(row, "record"))
        .collect()
    }

    pub async fn connections_with_value(
        &self,
        connector: &str,
        value: &str,
    ) -> Result<Vec<ConnectionRecord>, StoreError> {
        let mut found = Vec::new();
        for row in self
            .rows(
                "SELECT record FROM connections WHERE connector = $1 ORDER BY tenant, id",
                &[&connector],
            )
            .await?
        {
            let record: ConnectionRecord = decode(&row, "record")?;
            // Values only, learned under the connection's credential; never its config.
            if record
                .values
                .values()
                .any(|v| v.trim_end_matches('/') == value)
            {
                found.push(record);
            }
        }
        Ok(found)
    }

    pub async fn delete_connection(&self, tenant: &str, id: &str) -> Result<bool, StoreError> {
        let event_seq = self.next_id().await?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let removed = one(
            &tx,
            "DELETE FROM connections WHERE tenant = $1 AND id = $2 RETURNING record",
            &[&tenant, &id],
        )
        .await?;
        let existed = removed.is_some();
        if let Some(row) = removed {
            let connector = decode::<ConnectionRecord>(&row, "record")
                .map(|r| r.connector)
                .unwrap_or_default();
            self.put_event(
                &tx,
                event_seq,
                tenant,
                EventType::ConnectionDeleted,
                serde_json::json!({"connection_id": id, "connector": connector}),
            )
            .await?;
        }
        // Everything the connection owned goes with it, in the same transaction (its changes
        // feed included; its routes too, except the shared app route of app-signed ones).
        for statement in [
            "DELETE FROM secrets WHERE tenant = $1 AND owner = $2",
            "DELETE FROM cursors WHERE tenant = $1 AND connection = $2",
            "DELETE FROM token_expiry WHERE tenant = $1 AND connection = $2",
            "DELETE FROM syncs WHERE tenant = $1 AND connection = $2",
            "DELETE FROM sync_state WHERE tenant = $1 AND connection = $2",
            "DELETE FROM sync_seen WHERE tenant = $1 AND connection = $2",
            "DELETE FROM sync_runs WHERE tenant = $1 AND connection = $2",
            "DELETE FROM leases WHERE tenant = $1 AND connection = $2",
            "DELETE FROM changes WHERE tenant = $1 AND connection = $2",
            "DELETE FROM change_counters WHERE tenant = $1 AND connection = $2",
            "DELETE FROM webhook_routes WHERE tenant = $1 AND connection = $2",
            "DELETE FROM webhook_registrations WHERE tenant = $1 AND connection = $2",
        ] {
            execute(&tx, statement, &[&tenant, &id]).await?;
        }
        let topic = connection_topic(tenant, id);
        notify(&tx, &topic).await?;
        tx.commit().await?;
        self.forget(&topic);
        Ok(existed)
    }

    /// The credential, from this host's cache when it holds it (the call path's read).
    pub async fn credential(&self, tenant: &str, id: &str) -> Result<BoundCredential, StoreError> {
        let topic = connection_topic(tenant, id);
        if let Some(Entry::Credential(credential)) = self.cache.get(&topic, CREDENTIAL) {
            return Ok(credential);
        }
        let read_at = self.cache.generation();
        let credential = self.credential_versioned(tenant, id).await?.0;
        self.cache.put(
            topic,
            CREDENTIAL,
            Entry::Credential(credential.clone()),
            read_at,
        );
        Ok(credential)
    }

    /// Always from the database: what a refresh's compare-and-swap replaces.
    pub async fn credential_versioned(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<(BoundCredential, CredentialVersion), StoreError> {
        let aad = Aad::new(tenant, id, CREDENTIAL_FIELD);
        let sealed = self.sealed(&aad).await?.ok_or(StoreError::NotFound)?;
        let plain = self.open(&aad, &sealed)?;
        Ok((
            BoundCredential::from_sealed_json(&plain)?,
            CredentialVersion::of(&sealed),
        ))
    }

    pub async fn put_cursor(
        &self,
        tenant: &str,
        connection: &str,
        stream: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        let aad = Aad::new(tenant, connection, &cursor_field(stream));
        let sealed = self.seal(&aad, value.as_bytes())?;
        self.execute(
            "INSERT INTO cursors (tenant, connection, stream, sealed) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant, connection, stream) DO UPDATE SET sealed = excluded.sealed",
            &[&tenant, &connection, &stream, &sealed],
        )
        .await?;
        Ok(())
    }

    pub async fn cursor(
        &self,
        tenant: &str,
        connection: &str,
        stream: &str,
    ) -> Result<Option<String>, StoreError> {
        let Some(row) = self
            .one(
                "SELECT sealed FROM cursors WHERE tenant = $1 AND connection = $2 AND stream = $3",
                &[&tenant, &connection, &stream],
            )
            .await?
        else {
            return Ok(None);
        };
        let aad = Aad::new(tenant, connection, &cursor_field(stream));
        let plain = self.open(&aad, row.get(0))?;
        Ok(Some(
            String::from_utf8(plain.to_vec()).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        ))
    }

    pub async fn cursor_count(&self, tenant: &str, connection: &str) -> Result<usize, StoreError> {
        count(
            self.one(
                "SELECT count(*) FROM cursors WHERE tenant = $1 AND connection = $2",
                &[&tenant, &connection],
            )
            .await?,
        )
    }

    pub async fn cursors(
        &self,
        tenant: &str,
        connection: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.rows(
            "SELECT stream, sealed FROM cursors WHERE tenant = $1 AND connection = $2
             ORDER BY stream",
            &[&tenant, &connection],
        )
        .await?
        .iter()
        .map(|row| {
            let stream: String = row.get(0);
            let aad = Aad::new(tenant, connection, &cursor_field(&stream));
            let plain = self.open(&aad, row.get(1))?;
            Ok((
                stream,
                String::from_utf8(plain.to_vec())
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            ))
        })
        .collect()
    }

    pub async fn delete_cursor(
        &self,
        tenant: &str,
        connection: &str,
        stream: &str,
    ) -> Result<bool, StoreError> {
        Ok(self
            .execute(
                "DELETE FROM cursors WHERE tenant = $1 AND connection = $2 AND stream = $3",
                &[&tenant, &connection, &stream],
            )
            .await?
            > 0)
    }

    pub async fn sealed_credential(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.sealed(&Aad::new(tenant, id, CREDENTIAL_FIELD)).await
    }

    pub async fn put_sealed_credential(
        &self,
        tenant: &str,
        id: &str,
        sealed: &[u8],
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        put_secret(&client, &Aad::new(tenant, id, CREDENTIAL_FIELD), sealed).await?;
        let topic = connection_topic(tenant, id);
        notify(&client, &topic).await?;
        self.forget(&topic);
        Ok(())
    }

    /// A session advisory lock on a connection taken out of the pool (see `refresh_lock.rs`).
    pub async fn refresh_lock(
        &self,
        tenant: &str,
        connection: &str,
    ) -> Result<RefreshLock, StoreError> {
        let client = self.client().await?;
        let key = lock_key(tenant, connection);
        client
            .execute("SELECT pg_advisory_lock($1)", &[&key])
            .await?;
        Ok(RefreshLock(Some(deadpool_postgres::Object::take(client))))
    }

    /// Writes the sealed credential and its expiry together, when the connection exists and
    /// (given `expected`) the stored credential is still that version: the row is locked
    /// from the check to the commit, so two hosts' refreshes cannot both pass it.
    pub async fn write_credential(
        &self,
        tenant: &str,
        id: &str,
        expected: Option<&CredentialVersion>,
        credential: &BoundCredential,
    ) -> Result<(), StoreError> {
        let aad = Aad::new(tenant, id, CREDENTIAL_FIELD);
        let sealed = self.seal_credential(&aad, credential)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        if one(
            &tx,
            "SELECT 1 FROM connections WHERE tenant = $1 AND id = $2 FOR UPDATE",
            &[&tenant, &id],
        )
        .await?
        .is_none()
        {
            return Err(StoreError::NotFound);
        }
        if let Some(expected) = expected {
            let current = one(
                &tx,
                "SELECT sealed FROM secrets WHERE tenant = $1 AND owner = $2 AND field = $3",
                &[&aad.tenant, &aad.connection, &aad.field],
            )
            .await?
            .map(|row| CredentialVersion::of(row.get(0)));
            if current.as_ref() != Some(expected) {
                return Err(StoreError::Conflict);
            }
        }
        put_secret(&tx, &aad, &sealed).await?;
        set_expiry(&tx, tenant, id, expiry_of(credential)).await?;
        let topic = connection_topic(tenant, id);
        notify(&tx, &topic).await?;
        tx.commit().await?;
        self.forget(&topic);
        Ok(())
    }

    pub async fn seed_connections(
        &self,
        entries: &[(ConnectionRecord, BoundCredential)],
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        for (record, credential) in entries {
            let aad = Aad::new(&record.tenant, &record.id, CREDENTIAL_FIELD);
            let sealed = self.seal_credential(&aad, credential)?;
            execute(
                &tx,
                "INSERT INTO connections (tenant, id, connector, record) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (tenant, id) DO UPDATE SET record = excluded.record",
                &[
                    &record.tenant,
                    &record.id,
                    &record.connector,
                    &encode(record)?,
                ],
            )
            .await?;
            put_secret(&tx, &aad, &sealed).await?;
        }
        let topic = "*".to_owned();
        notify(&tx, &topic).await?;
        tx.commit().await?;
        self.forget(&topic);
        Ok(())
    }

    pub async fn tokens_due(&self, deadline: u64) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self
            .rows(
                "SELECT tenant, connection FROM token_expiry WHERE expires_at <= $1
                 ORDER BY expires_at",
                &[&int(deadline)],
            )
            .await?
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect())
    }
}

/// Writes a sealed secret under its AAD.
pub(super) async fn put_secret<C: GenericClient>(
    client: &C,
    aad: &Aad,
    sealed: &[u8],
) -> Result<(), StoreError> {
    execute(
        client,
        "INSERT INTO secrets (tenant, owner, field, sealed) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant, owner, field) DO UPDATE SET sealed = excluded.sealed",
        &[&aad.tenant, &aad.connection, &aad.field, &sealed],
    )
    .await?;
    Ok(())
}

/// The connection's entry in the token expiry index becomes `expiry` (`None` removes it).
async fn set_expiry<C: GenericClient>(
    client: &C,
    tenant: &str,
    connection: &str,
    expiry: Option<u64>,
) -> Result<(), StoreError> {
    match expiry {
        Some(expiry) => {
            execute(
                client,
                "INSERT INTO token_expiry (tenant, connection, expires_at) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant, connection) DO UPDATE SET expires_at = excluded.expires_at",
                &[&tenant, &connection, &int(expiry)],
            )
            .await?;
        }
        None => {
            execute(
                client,
                "DELETE FROM token_expiry WHERE tenant = $1 AND connection = $2",
                &[&tenant, &connection],
            )
            .await?;
        }
    }
    Ok(())
}
