//! The plugin registry as the admin API left it, shared by every host: `plugin_registry`
//! (one row per plugin id), `plugin_blobs` (uploaded components by sha256) and the one-row
//! `registry_version`, whose number each change takes under its row lock, so numbers appear
//! in commit order and a host polling it never skips a change.

use super::{Postgres, execute, int, one, rows, uint};
use crate::store::{PluginBlob, RegistryEntry, StoreError};

impl Postgres {
    pub async fn registry_entries(&self) -> Result<Vec<RegistryEntry>, StoreError> {
        Ok(self
            .rows(
                "SELECT id, current_sha256, previous_sha256, seq FROM plugin_registry ORDER BY id",
                &[],
            )
            .await?
            .iter()
            .map(|row| RegistryEntry {
                id: row.get(0),
                current: row.get(1),
                previous: row.get(2),
                seq: uint(row.get(3)),
            })
            .collect())
    }

    pub async fn registry_seq(&self) -> Result<u64, StoreError> {
        Ok(self
            .one("SELECT seq FROM registry_version", &[])
            .await?
            .map_or(0, |row| uint(row.get(0))))
    }

    pub async fn plugin_blob(&self, sha256: &str) -> Result<Option<PluginBlob>, StoreError> {
        Ok(self
            .one(
                "SELECT wasm, signature, source FROM plugin_blobs WHERE sha256 = $1",
                &[&sha256],
            )
            .await?
            .map(|row| PluginBlob {
                wasm: row.get(0),
                signature: row.get(1),
                source: row.get(2),
            }))
    }

    pub async fn record_registry(
        &self,
        id: &str,
        current: Option<&str>,
        previous: Option<&str>,
        upload: Option<&(String, PluginBlob)>,
    ) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // The counter row's lock orders every registry change, across hosts.
        let seq = one(
            &tx,
            "UPDATE registry_version SET seq = seq + 1 RETURNING seq",
            &[],
        )
        .await?
        .map(|row| uint(row.get(0)))
        .ok_or_else(|| StoreError::Io("registry_version has no row".into()))?;
        if let Some((sha256, blob)) = upload {
            execute(
                &tx,
                "INSERT INTO plugin_blobs (sha256, wasm, signature, source) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (sha256) DO UPDATE SET signature = excluded.signature,
                     source = excluded.source",
                &[sha256, &blob.wasm, &blob.signature, &blob.source],
            )
            .await?;
        }
        execute(
            &tx,
            "INSERT INTO plugin_registry (id, current_sha256, previous_sha256, seq)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET current_sha256 = excluded.current_sha256,
                 previous_sha256 = excluded.previous_sha256, seq = excluded.seq",
            &[&id, &current, &previous, &int(seq)],
        )
        .await?;
        rows(
            &tx,
            "DELETE FROM plugin_blobs b WHERE NOT EXISTS (
                 SELECT 1 FROM plugin_registry r
                 WHERE r.current_sha256 = b.sha256 OR r.previous_sha256 = b.sha256)
             RETURNING sha256",
            &[],
        )
        .await?;
        tx.commit().await?;
        Ok(seq)
    }
}
