//! Moving an embedded store into PostgreSQL (`connector-host store migrate`): every sled tree
//! is copied row by row into its table, sealed values byte for byte (their AAD names the
//! same tenant, connection and field in both layouts, and the master key is the same), under
//! the same keys and sequence numbers, so cursors, run ids and feed positions stay valid.
//!
//! Each row is written with `ON CONFLICT DO NOTHING`: a migration run again (after an
//! interruption, or to check) adds what is missing and changes nothing. It ends by counting
//! every table against its tree and opening every sealed value with its AAD.

use std::collections::BTreeMap;

use anyhow::Context as _;
use serde::Serialize;

use super::{Postgres, int};
use crate::store::embedded::Sled;
use crate::store::{
    Aad, ApiKeyRecord, AuditEvent, ConnectionRecord, ConsoleSession, DeliveryRecord,
    DeliveryStatus, Lease, PluginBlob, SeenRecord, StoreError,
};

/// What a migration copied and checked: per table, rows in the embedded store and rows in
/// PostgreSQL after the copy.
#[derive(Debug, Default, Serialize)]
pub struct MigrationReport {
    /// Per table: `[rows in sled, rows in PostgreSQL]`.
    pub tables: BTreeMap<&'static str, [u64; 2]>,
    /// Sealed values opened with their AAD after the copy.
    pub sealed_values_opened: u64,
}

impl MigrationReport {
    /// Whether every table holds at least what the embedded store held.
    pub fn complete(&self) -> bool {
        self.tables.values().all(|[sled, pg]| pg >= sled)
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn be_u64(bytes: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    let n = bytes.len().min(8);
    buf[8 - n..].copy_from_slice(&bytes[bytes.len() - n..]);
    u64::from_be_bytes(buf)
}

/// `a/b/c...` split in `n` parts (the last keeps any further `/`).
fn parts(key: &[u8], n: usize) -> Option<Vec<String>> {
    let key = text(key);
    let split: Vec<String> = key.splitn(n, '/').map(str::to_owned).collect();
    (split.len() == n).then_some(split)
}

/// A tree key of the form `prefix/` + 8 big-endian bytes: the prefix's parts and the number.
fn numbered(key: &[u8], n: usize) -> Option<(Vec<String>, u64)> {
    if key.len() < 9 {
        return None;
    }
    let (head, seq) = key.split_at(key.len() - 8);
    let head = head.strip_suffix(b"/")?;
    Some((parts(head, n)?, be_u64(seq)))
}

impl Postgres {
    /// Copies every record of `sled` into this database, then counts and opens them.
    pub(in crate::store) async fn import(&self, sled: &Sled) -> anyhow::Result<MigrationReport> {
        let mut client = self.pool.get().await.map_err(StoreError::from)?;
        let tx = client.transaction().await?;
        let mut copied: BTreeMap<&'static str, u64> = BTreeMap::new();
        macro_rules! copy {
            ($table:literal, $sql:literal, $($param:expr),+) => {{
                tx.execute($sql, &[$(&$param),+])
                    .await
                    .with_context(|| format!("copying into {}", $table))?;
                *copied.entry($table).or_default() += 1;
            }};
        }

        for entry in sled.tenants.iter() {
            let (key, value) = entry?;
            copy!(
                "tenants",
                "INSERT INTO tenants (id, record) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                text(&key),
                value.to_vec()
            );
        }
        for entry in sled.api_keys.iter() {
            let (digest, value) = entry?;
            let record: ApiKeyRecord = serde_json::from_slice(&value)?;
            copy!(
                "api_keys",
                "INSERT INTO api_keys (digest, tenant, id, record) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                text(&digest),
                record.tenant,
                record.id,
                value.to_vec()
            );
        }
        for entry in sled.connections.iter() {
            let (_, value) = entry?;
            let record: ConnectionRecord = serde_json::from_slice(&value)?;
            copy!(
                "connections",
                "INSERT INTO connections (tenant, id, connector, record) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                record.tenant,
                record.id,
                record.connector,
                value.to_vec()
            );
        }
        for entry in sled.secrets.iter() {
            let (key, sealed) = entry?;
            let aad = Aad::from_storage_key(&key)?;
            copy!(
                "secrets",
                "INSERT INTO secrets (tenant, owner, field, sealed) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                aad.tenant,
                aad.connection,
                aad.field,
                sealed.to_vec()
            );
        }
        for entry in sled.token_expiry_of.iter() {
            let (key, expiry) = entry?;
            let Some(p) = parts(&key, 2) else { continue };
            copy!(
                "token_expiry",
                "INSERT INTO token_expiry (tenant, connection, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                p[0],
                p[1],
                int(be_u64(&expiry))
            );
        }
        for entry in sled.cursors.iter() {
            let (key, sealed) = entry?;
            let aad = Aad::from_storage_key(&key)?;
            let stream = aad.field.trim_start_matches("cursor:").to_owned();
            copy!(
                "cursors",
                "INSERT INTO cursors (tenant, connection, stream, sealed) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                aad.tenant,
                aad.connection,
                stream,
                sealed.to_vec()
            );
        }
        // Pending sessions' tenants and expiries live in their index.
        let mut pending: BTreeMap<String, (String, u64)> = BTreeMap::new();
        for entry in sled.oauth_pending.iter() {
            let (key, expiry) = entry?;
            if let Some(p) = parts(&key, 2) {
                pending.insert(p[1].clone(), (p[0].clone(), be_u64(&expiry)));
            }
        }
        for entry in sled.oauth_sessions.iter() {
            let (key, sealed) = entry?;
            let aad = Aad::from_storage_key(&key)?;
            let Some((tenant, expiry)) = pending.get(&aad.connection) else {
                continue;
            };
            copy!(
                "oauth_sessions",
                "INSERT INTO oauth_sessions (id, tenant, expires_at, sealed) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                aad.connection,
                tenant,
                int(*expiry),
                sealed.to_vec()
            );
        }
        for entry in sled.usage.iter() {
            let (key, value) = entry?;
            let Some((tenant, hour, connection, metric)) = crate::store::usage::parse_key(&key)
            else {
                continue;
            };
            copy!(
                "usage",
                "INSERT INTO usage (tenant, hour, connection, metric, count) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                tenant,
                int(hour),
                connection,
                metric,
                int(crate::store::usage::be_count(&value))
            );
        }
        for entry in sled.console_sessions.iter() {
            let (digest, value) = entry?;
            let session: ConsoleSession = serde_json::from_slice(&value)?;
            copy!(
                "console_sessions",
                "INSERT INTO console_sessions (digest, tenant, expires_at, record) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                digest.to_vec(),
                session.tenant,
                int(session.expires_at),
                value.to_vec()
            );
        }
        for entry in sled.mcp_grants.iter() {
            let (_, value) = entry?;
            let grant: crate::store::McpGrant = serde_json::from_slice(&value)?;
            copy!(
                "mcp_grants",
                "INSERT INTO mcp_grants (id, tenant, generation, created_at, expires_at, record) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                grant.id,
                grant.tenant,
                int(grant.generation),
                int(grant.created_at),
                int(grant.expires_at),
                value.to_vec()
            );
        }
        let mut highest_id = 0;
        for entry in sled.audit.iter() {
            let (_, value) = entry?;
            let event: AuditEvent = serde_json::from_slice(&value)?;
            let at_ms = humantime::parse_rfc3339(&event.at)
                .ok()
                .and_then(|at| at.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |since| since.as_millis() as u64);
            highest_id = highest_id.max(event.seq);
            copy!(
                "audit",
                "INSERT INTO audit (seq, tenant, at_ms, record) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                int(event.seq),
                event.tenant,
                int(at_ms),
                value.to_vec()
            );
        }
        for entry in sled.syncs.iter() {
            let (key, value) = entry?;
            let Some(p) = parts(&key, 3) else { continue };
            copy!(
                "syncs",
                "INSERT INTO syncs (tenant, connection, id, record) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                p[0],
                p[1],
                p[2],
                value.to_vec()
            );
        }
        for entry in sled.sync_state.iter() {
            let (key, sealed) = entry?;
            let aad = Aad::from_storage_key(&key)?;
            let sync = aad.field.trim_start_matches("sync:").to_owned();
            copy!(
                "sync_state",
                "INSERT INTO sync_state (tenant, connection, sync, sealed) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                aad.tenant,
                aad.connection,
                sync,
                sealed.to_vec()
            );
        }
        for entry in sled.sync_seen.iter() {
            let (key, value) = entry?;
            let Some(p) = parts(&key, 4) else { continue };
            let seen: SeenRecord = serde_json::from_slice(&value)?;
            copy!(
                "sync_seen",
                "INSERT INTO sync_seen (tenant, connection, sync, item, pass, record) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                p[0],
                p[1],
                p[2],
                p[3],
                int(seen.pass),
                value.to_vec()
            );
        }
        for entry in sled.sync_runs.iter() {
            let (key, value) = entry?;
            let Some((p, seq)) = numbered(&key, 3) else {
                continue;
            };
            highest_id = highest_id.max(seq);
            copy!(
                "sync_runs",
                "INSERT INTO sync_runs (tenant, connection, sync, seq, record) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                p[0],
                p[1],
                p[2],
                int(seq),
                value.to_vec()
            );
        }
        for entry in sled.leases.iter() {
            let (key, value) = entry?;
            let Some(p) = parts(&key, 3) else { continue };
            let lease: Lease = serde_json::from_slice(&value)?;
            copy!(
                "leases",
                "INSERT INTO leases (tenant, connection, sync, holder, until_ms, epoch) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                p[0],
                p[1],
                p[2],
                lease.holder,
                int(lease.until_ms),
                int(lease.epoch)
            );
        }
        for entry in sled.changes.iter() {
            let (key, value) = entry?;
            let Some((p, seq)) = numbered(&key, 2) else {
                continue;
            };
            let recorded_at_ms =
                serde_json::from_slice::<serde_json::Value>(&value)?["recorded_at_ms"]
                    .as_u64()
                    .unwrap_or(0);
            copy!(
                "changes",
                "INSERT INTO changes (tenant, connection, seq, recorded_at_ms, record) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                p[0],
                p[1],
                int(seq),
                int(recorded_at_ms),
                value.to_vec()
            );
        }
        let mut counters: BTreeMap<Vec<u8>, (u64, u64)> = BTreeMap::new();
        for entry in sled.change_seq.iter() {
            let (key, value) = entry?;
            counters.entry(key.to_vec()).or_default().0 = be_u64(&value);
        }
        for entry in sled.changes_floor.iter() {
            let (key, value) = entry?;
            counters.entry(key.to_vec()).or_default().1 = be_u64(&value);
        }
        for (key, (last, floor)) in counters {
            let Some(p) = parts(&key, 2) else { continue };
            copy!(
                "change_counters",
                "INSERT INTO change_counters (tenant, connection, last, floor) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                p[0],
                p[1],
                int(last),
                int(floor)
            );
        }
        for entry in sled.outbox.iter() {
            let (key, value) = entry?;
            let seq = be_u64(&key);
            highest_id = highest_id.max(seq);
            let tenant = serde_json::from_slice::<serde_json::Value>(&value)?["tenant"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            copy!(
                "outbox",
                "INSERT INTO outbox (seq, tenant, record) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                int(seq),
                tenant,
                value.to_vec()
            );
        }
        for entry in sled.webhook_endpoints.iter() {
            let (key, value) = entry?;
            let Some(p) = parts(&key, 2) else { continue };
            copy!(
                "webhook_endpoints",
                "INSERT INTO webhook_endpoints (tenant, id, record) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                p[0],
                p[1],
                value.to_vec()
            );
        }
        for entry in sled.webhook_deliveries.iter() {
            let (_, value) = entry?;
            let record: DeliveryRecord = serde_json::from_slice(&value)?;
            let pending = record.status == DeliveryStatus::Pending;
            let due = if pending {
                record.next_attempt_at_ms.map(int)
            } else {
                None
            };
            copy!(
                "webhook_deliveries",
                "INSERT INTO webhook_deliveries (tenant, endpoint, id, due_ms, pending, record) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                record.tenant,
                record.endpoint_id,
                record.id,
                due,
                pending,
                value.to_vec()
            );
        }
        for entry in sled.webhook_registrations.iter() {
            let (key, value) = entry?;
            let Some(p) = parts(&key, 3) else { continue };
            copy!(
                "webhook_registrations",
                "INSERT INTO webhook_registrations (tenant, connection, id, record) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                p[0],
                p[1],
                p[2],
                value.to_vec()
            );
        }
        for entry in sled.webhook_routes.iter() {
            let (route, value) = entry?;
            let owner: crate::store::WebhookRoute = serde_json::from_slice(&value)?;
            copy!(
                "webhook_routes",
                "INSERT INTO webhook_routes (route, tenant, connection, registration, record) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                text(&route),
                owner.tenant,
                owner.connection,
                owner.registration,
                value.to_vec()
            );
        }
        for entry in sled.webhook_dedup.iter() {
            let (key, until) = entry?;
            copy!(
                "webhook_dedup",
                "INSERT INTO webhook_dedup (key, until_ms) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                text(&key),
                int(be_u64(&until))
            );
        }
        for entry in sled.inbound_webhooks.iter() {
            let (key, value) = entry?;
            let seq = be_u64(&key);
            highest_id = highest_id.max(seq);
            copy!(
                "inbound_webhooks",
                "INSERT INTO inbound_webhooks (seq, record) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                int(seq),
                value.to_vec()
            );
        }
        for entry in sled.plugin_blobs.iter() {
            let (sha256, value) = entry?;
            let blob: PluginBlob = serde_json::from_slice(&value)?;
            copy!(
                "plugin_blobs",
                "INSERT INTO plugin_blobs (sha256, wasm, signature, source) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                text(&sha256),
                blob.wasm,
                blob.signature,
                blob.source
            );
        }
        // Registry numbers continue above the database's, so running hosts see the entries.
        let registry_base: i64 = tx
            .query_one("SELECT seq FROM registry_version", &[])
            .await?
            .get(0);
        for entry in sled.registry_entries()? {
            copy!(
                "plugin_registry",
                "INSERT INTO plugin_registry (id, current_sha256, previous_sha256, seq) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                entry.id,
                entry.current,
                entry.previous,
                registry_base + int(entry.seq)
            );
        }
        tx.execute(
            "UPDATE registry_version SET seq = greatest(seq, (SELECT coalesce(max(seq), 0) FROM plugin_registry))",
            &[],
        )
        .await?;
        // New numbers continue above every number copied (and above sled's own counter).
        let next = highest_id.max(sled.db.generate_id()?);
        tx.execute(
            "SELECT setval('ids', greatest($1, (SELECT last_value FROM ids)))",
            &[&int(next)],
        )
        .await?;
        // Hosts already running on this database drop what they cached.
        tx.execute("SELECT pg_notify($1, '*')", &[&super::cache::CHANNEL])
            .await?;
        tx.commit().await?;

        let mut report = MigrationReport::default();
        for (table, sled_rows) in copied {
            let sql = format!("SELECT count(*) FROM {table}");
            let pg_rows: i64 = client.query_one(&sql, &[]).await?.get(0);
            report.tables.insert(table, [sled_rows, pg_rows as u64]);
        }
        report.sealed_values_opened = self.open_every_sealed_value().await?;
        Ok(report)
    }

    /// Opens every sealed value with its AAD: a value copied under the wrong key, tenant,
    /// connection or field fails here.
    async fn open_every_sealed_value(&self) -> anyhow::Result<u64> {
        let mut opened = 0;
        for (select, _) in super::SEALED_TABLES {
            for row in self.rows(select, &[]).await? {
                let aad = Aad::new(row.get("a"), row.get("b"), row.get("c"));
                let sealed: Vec<u8> = row.get("sealed");
                self.open(&aad, &sealed).with_context(|| {
                    format!(
                        "opening {}/{}/{} after the copy",
                        aad.tenant, aad.connection, aad.field
                    )
                })?;
                opened += 1;
            }
        }
        Ok(opened)
    }
}
