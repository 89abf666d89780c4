//! Usage counters for metering: per tenant, hour, connection (empty for what is the tenant's
//! own, such as a tool call that named no connection) and metric, a count. Hosts add to them in
//! batches (the meter sums in memory and flushes); adding is an atomic increment in both
//! backends, so several hosts on one database count exactly.
//!
//! Embedded layout: `tenant/HOUR/connection/metric` (the hour as ten decimal digits, so keys
//! sort by time) -> count (8 bytes, big endian).

use super::{Sled, StoreError};

/// One counter, or an amount to add to it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UsageCount {
    /// The tenant.
    pub tenant: String,
    /// Hours since the Unix epoch.
    pub hour: u64,
    /// The connection, or empty.
    pub connection: String,
    /// What was counted (`calls.items.ok`, `egress.bytes`, ...).
    pub metric: String,
    /// How many (or how much).
    pub count: u64,
}

fn key(tenant: &str, hour: u64, connection: &str, metric: &str) -> String {
    format!("{tenant}/{hour:010}/{connection}/{metric}")
}

/// Reads a key back; `None` for one this module did not write.
pub(super) fn parse_key(key: &[u8]) -> Option<(String, u64, String, String)> {
    let text = std::str::from_utf8(key).ok()?;
    let mut parts = text.splitn(4, '/');
    let tenant = parts.next()?.to_owned();
    let hour = parts.next()?.parse().ok()?;
    let connection = parts.next()?.to_owned();
    let metric = parts.next()?.to_owned();
    Some((tenant, hour, connection, metric))
}

pub(super) fn be_count(bytes: &[u8]) -> u64 {
    bytes.try_into().map(u64::from_be_bytes).unwrap_or_default()
}

impl Sled {
    /// Adds each amount to its counter.
    pub async fn add_usage(&self, amounts: &[UsageCount]) -> Result<(), StoreError> {
        for amount in amounts {
            let key = key(
                &amount.tenant,
                amount.hour,
                &amount.connection,
                &amount.metric,
            );
            self.usage.update_and_fetch(key, |old| {
                let total = old.map(be_count).unwrap_or_default() + amount.count;
                Some(total.to_be_bytes().to_vec())
            })?;
        }
        self.flush().await
    }

    /// The counters of `tenant` (every tenant's when `None`) for hours `from..to`.
    pub fn usage(
        &self,
        tenant: Option<&str>,
        from_hour: u64,
        to_hour: u64,
    ) -> Result<Vec<UsageCount>, StoreError> {
        let mut out = Vec::new();
        let mut read = |entry: (sled::IVec, sled::IVec)| {
            if let Some((tenant, hour, connection, metric)) = parse_key(&entry.0)
                && (from_hour..to_hour).contains(&hour)
            {
                out.push(UsageCount {
                    tenant,
                    hour,
                    connection,
                    metric,
                    count: be_count(&entry.1),
                });
            }
        };
        match tenant {
            Some(tenant) => {
                let start = format!("{tenant}/{from_hour:010}/");
                let end = format!("{tenant}/{to_hour:010}/");
                for entry in self.usage.range(start.as_bytes()..end.as_bytes()) {
                    read(entry?);
                }
            }
            None => {
                for entry in self.usage.iter() {
                    read(entry?);
                }
            }
        }
        Ok(out)
    }

    /// Deletes counters of hours before `before_hour`; how many.
    pub fn prune_usage(&self, before_hour: u64) -> Result<usize, StoreError> {
        let mut pruned = 0;
        for entry in self.usage.iter() {
            let (key, _) = entry?;
            if parse_key(&key).is_none_or(|(_, hour, _, _)| hour < before_hour) {
                self.usage.remove(key)?;
                pruned += 1;
            }
        }
        Ok(pruned)
    }
}

/// How much work waits in the store's queues, for the operator's gauges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepths {
    /// Syncs due and not paused.
    pub syncs_due: u64,
    /// Deliveries to tenants' endpoints due.
    pub deliveries_due: u64,
    /// Verified vendor deliveries waiting for their plugin.
    pub inbound_queued: u64,
}

impl Sled {
    /// The queues' depths at `now_ms`.
    pub fn queue_depths(&self, now_ms: u64) -> Result<QueueDepths, StoreError> {
        let mut syncs_due = 0;
        for value in self.syncs.iter().values() {
            if let Ok(sync) = serde_json::from_slice::<super::SyncRecord>(&value?)
                && !sync.paused
                && sync.next_run_at_ms <= now_ms
            {
                syncs_due += 1;
            }
        }
        let deliveries_due = self
            .delivery_queue
            .range(..(now_ms + 1).to_be_bytes().to_vec())
            .count() as u64;
        Ok(QueueDepths {
            syncs_due,
            deliveries_due,
            inbound_queued: self.inbound_webhooks.len() as u64,
        })
    }
}
