//! Live hosts, for sharing the call caps: each host stamps its row with the database's clock
//! (so hosts' clocks never need to agree), and a host whose stamp is older than the lapse is
//! no longer counted.

use super::{Postgres, execute, rows};
use crate::store::StoreError;

impl Postgres {
    pub async fn heartbeat(&self, lapse_ms: u64) -> Result<(u32, u32), StoreError> {
        let client = self.client().await?;
        execute(
            &client,
            "INSERT INTO hosts (instance, seen_at) VALUES ($1, clock_timestamp())
             ON CONFLICT (instance) DO UPDATE SET seen_at = excluded.seen_at",
            &[&self.instance],
        )
        .await?;
        let lapse = super::int(lapse_ms);
        // Rows of hosts long gone go, so the table stays as small as the cluster.
        execute(
            &client,
            "DELETE FROM hosts WHERE seen_at < clock_timestamp() - make_interval(secs => $1::bigint * 10 / 1000.0)",
            &[&lapse],
        )
        .await?;
        let live: Vec<String> = rows(
            &client,
            "SELECT instance FROM hosts
             WHERE seen_at > clock_timestamp() - make_interval(secs => $1::bigint / 1000.0)
             ORDER BY instance",
            &[&lapse],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
        let rank = live.iter().position(|id| *id == self.instance);
        Ok(match rank {
            Some(rank) => (live.len() as u32, rank as u32),
            None => (live.len() as u32 + 1, live.len() as u32),
        })
    }

    pub async fn leave_cluster(&self) -> Result<(), StoreError> {
        self.execute("DELETE FROM hosts WHERE instance = $1", &[&self.instance])
            .await?;
        Ok(())
    }
}
