//! The audit log: one row per event, numbered from the store's sequence.

use super::{Postgres, count, decode, encode, int};
use crate::store::{AuditEvent, NewAuditEvent, SYSTEM_TENANT, StoreError, now_rfc3339};

impl Postgres {
    pub async fn record_audit(&self, new: NewAuditEvent<'_>) -> Result<(), StoreError> {
        let tenant = new.tenant.unwrap_or(SYSTEM_TENANT);
        let seq = self.next_id().await?;
        let event = AuditEvent {
            seq,
            at: now_rfc3339(),
            tenant: tenant.to_owned(),
            actor: new.actor.to_owned(),
            action: new.action.to_owned(),
            target: new.target.to_owned(),
            outcome: new.outcome,
            details: new.details,
        };
        self.execute(
            "INSERT INTO audit (seq, tenant, at_ms, record) VALUES ($1, $2, $3, $4)",
            &[
                &int(seq),
                &tenant,
                &int(crate::store::unix_now_ms()),
                &encode(&event)?,
            ],
        )
        .await?;
        Ok(())
    }

    /// Retention in one statement: each tenant's events beyond its newest `max_per_tenant`,
    /// and any older than `max_age`.
    pub async fn sweep_audit(
        &self,
        now: std::time::SystemTime,
        max_age: Option<std::time::Duration>,
        max_per_tenant: usize,
    ) -> Result<usize, StoreError> {
        let cutoff_ms = max_age
            .and_then(|age| now.checked_sub(age))
            .and_then(|cutoff| cutoff.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |since| since.as_millis() as u64);
        let row = self
            .one(
                "WITH gone AS (
                     DELETE FROM audit WHERE seq IN (
                         SELECT seq FROM (
                             SELECT seq, at_ms, row_number() OVER
                                 (PARTITION BY tenant ORDER BY seq DESC) AS newer
                             FROM audit
                         ) ranked WHERE newer > $1 OR at_ms < $2
                     ) RETURNING 1
                 )
                 SELECT count(*) FROM gone",
                &[&int(max_per_tenant as u64), &int(cutoff_ms)],
            )
            .await?;
        count(row)
    }

    pub async fn audit_events(
        &self,
        tenant: &str,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.rows(
            "SELECT record FROM audit WHERE tenant = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[&tenant, &after.map_or(-1, int), &int(limit as u64)],
        )
        .await?
        .iter()
        .map(|row| decode(row, "record"))
        .collect()
    }
}
