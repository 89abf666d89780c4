//! Leases: who runs a sync now. A lease is taken by compare-and-swap and lapses at its expiry,
//! so with several hosts on one store (later) each sync has one runner, and a runner that died
//! loses its syncs to the next host after the lease time. Holders are named by the store's
//! instance id, kept in the store, so a host restarted on its data dir takes its own leases back
//! at once instead of waiting for them to lapse.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, scoped_key};

/// A lease as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lease {
    /// The host instance holding it.
    pub holder: String,
    /// Unix milliseconds after which anyone may take it.
    pub until_ms: u64,
}

const INSTANCE_KEY: &[u8] = b"instance_id";

impl Store {
    /// This store's instance id, generated on first use.
    pub fn instance_id(&self) -> Result<String, StoreError> {
        let fresh = format!("host_{}", uuid::Uuid::new_v4().simple());
        match self.meta.compare_and_swap(
            INSTANCE_KEY,
            None as Option<&[u8]>,
            Some(fresh.as_bytes()),
        )? {
            Ok(()) => Ok(fresh),
            Err(existing) => Ok(String::from_utf8_lossy(
                existing.current.as_deref().unwrap_or_default(),
            )
            .into_owned()),
        }
    }

    /// Takes or renews the lease of a sync for `holder` until `until_ms`. `reclaim`: a lease
    /// this holder took before (in an earlier life) may be taken back before it lapses.
    /// Returns whether `holder` holds it now.
    pub fn take_lease(
        &self,
        tenant: &str,
        connection: &str,
        sync: &str,
        holder: &str,
        now_ms: u64,
        until_ms: u64,
    ) -> Result<bool, StoreError> {
        let key = scoped_key(tenant, &format!("{connection}/{sync}"));
        let new = serde_json::to_vec(&Lease {
            holder: holder.to_owned(),
            until_ms,
        })?;
        loop {
            let current = self.leases.get(&key)?;
            if let Some(bytes) = &current {
                let lease: Lease = serde_json::from_slice(bytes)?;
                if lease.holder != holder && lease.until_ms > now_ms {
                    return Ok(false);
                }
            }
            match self
                .leases
                .compare_and_swap(&key, current, Some(new.clone()))?
            {
                Ok(()) => return Ok(true),
                Err(_) => continue,
            }
        }
    }

    /// Gives a lease up, if `holder` still holds it.
    pub fn release_lease(
        &self,
        tenant: &str,
        connection: &str,
        sync: &str,
        holder: &str,
    ) -> Result<(), StoreError> {
        let key = scoped_key(tenant, &format!("{connection}/{sync}"));
        if let Some(bytes) = self.leases.get(&key)? {
            let lease: Lease = serde_json::from_slice(&bytes)?;
            if lease.holder == holder {
                let _ = self
                    .leases
                    .compare_and_swap(&key, Some(bytes), None as Option<&[u8]>)?;
            }
        }
        Ok(())
    }
}
