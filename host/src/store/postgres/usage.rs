//! Usage counters in PostgreSQL: a batch is one `INSERT ... ON CONFLICT DO UPDATE` adding to
//! the existing counts, atomic against every other host's.

use super::{Postgres, int, uint};
use crate::store::StoreError;
use crate::store::usage::UsageCount;

impl Postgres {
    /// Adds each amount to its counter (the amounts name distinct counters).
    pub async fn add_usage(&self, amounts: &[UsageCount]) -> Result<(), StoreError> {
        if amounts.is_empty() {
            return Ok(());
        }
        let tenants: Vec<&str> = amounts.iter().map(|a| a.tenant.as_str()).collect();
        let hours: Vec<i64> = amounts.iter().map(|a| int(a.hour)).collect();
        let connections: Vec<&str> = amounts.iter().map(|a| a.connection.as_str()).collect();
        let metrics: Vec<&str> = amounts.iter().map(|a| a.metric.as_str()).collect();
        let counts: Vec<i64> = amounts.iter().map(|a| int(a.count)).collect();
        self.execute(
            "INSERT INTO usage (tenant, hour, connection, metric, count)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[])
             ON CONFLICT (tenant, hour, connection, metric)
             DO UPDATE SET count = usage.count + excluded.count",
            &[&tenants, &hours, &connections, &metrics, &counts],
        )
        .await?;
        Ok(())
    }

    /// The counters of `tenant` (every tenant's when `None`) for hours `from..to`.
    pub async fn usage(
        &self,
        tenant: Option<&str>,
        from_hour: u64,
        to_hour: u64,
    ) -> Result<Vec<UsageCount>, StoreError> {
        let rows = self
            .rows(
                "SELECT tenant, hour, connection, metric, count FROM usage
                 WHERE ($1::text IS NULL OR tenant = $1) AND hour >= $2 AND hour < $3
                 ORDER BY tenant, hour, connection, metric",
                &[&tenant, &int(from_hour), &int(to_hour)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| UsageCount {
                tenant: row.get(0),
                hour: uint(row.get(1)),
                connection: row.get(2),
                metric: row.get(3),
                count: uint(row.get(4)),
            })
            .collect())
    }

    /// Deletes counters of hours before `before_hour`; how many.
    pub async fn prune_usage(&self, before_hour: u64) -> Result<usize, StoreError> {
        Ok(self
            .execute("DELETE FROM usage WHERE hour < $1", &[&int(before_hour)])
            .await? as usize)
    }
}

impl Postgres {
    /// The queues' depths at `now_ms`, in one statement.
    pub async fn queue_depths(&self, now_ms: u64) -> Result<crate::store::QueueDepths, StoreError> {
        let rows = self
            .rows(
                "SELECT (SELECT count(*) FROM syncs WHERE NOT paused AND next_run_at_ms <= $1),
                        (SELECT count(*) FROM webhook_deliveries WHERE pending AND due_ms <= $1),
                        (SELECT count(*) FROM inbound_webhooks)",
                &[&int(now_ms)],
            )
            .await?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::Corrupt("the queue counts answered no row".into()))?;
        Ok(crate::store::QueueDepths {
            syncs_due: uint(row.get(0)),
            deliveries_due: uint(row.get(1)),
            inbound_queued: uint(row.get(2)),
        })
    }
}
