//! The event outbox, tenants' webhook endpoints and their deliveries. A due delivery is
//! claimed (`FOR UPDATE SKIP LOCKED`, then a claim time) by the host about to attempt it; the
//! claim ends when the attempt is saved, or lapses after [`CLAIM_MS`] if that host died.

use std::collections::{HashMap, HashSet};

use deadpool_postgres::GenericClient;

use super::connections::put_secret;
use super::{Postgres, count, decode, encode, execute, int, one};
use crate::store::webhook_endpoints::SECRET_FIELD;
use crate::store::{
    Aad, DeliveryRecord, DeliveryStatus, DueDelivery, EndpointRecord, EndpointSecrets, EventType,
    OutboxEvent, StoreError, now_rfc3339,
};

/// How long a host holds the deliveries it claimed before another may attempt them: longer
/// than one endpoint's batch of attempts takes.
const CLAIM_MS: u64 = 5 * 60 * 1000;

/// What a due delivery's `queue_key` holds here: the delivery's identity.
fn queue_key(tenant: &str, endpoint: &str, delivery: &str) -> Vec<u8> {
    format!("{tenant}/{endpoint}/{delivery}").into_bytes()
}

fn parse_queue_key(key: &[u8]) -> Option<(String, String, String)> {
    let text = std::str::from_utf8(key).ok()?;
    let mut parts = text.splitn(3, '/');
    Some((
        parts.next()?.to_owned(),
        parts.next()?.to_owned(),
        parts.next()?.to_owned(),
    ))
}

impl Postgres {
    /// Writes an event to the outbox inside the caller's transaction.
    pub(super) async fn put_event<C: GenericClient>(
        &self,
        client: &C,
        seq: u64,
        tenant: &str,
        kind: EventType,
        data: serde_json::Value,
    ) -> Result<(), StoreError> {
        let event = OutboxEvent {
            seq,
            tenant: tenant.to_owned(),
            kind,
            data,
            created_at: now_rfc3339(),
        };
        execute(
            client,
            "INSERT INTO outbox (seq, tenant, record) VALUES ($1, $2, $3)",
            &[&int(seq), &tenant, &encode(&event)?],
        )
        .await?;
        Ok(())
    }

    pub async fn emit_event(
        &self,
        tenant: &str,
        kind: EventType,
        data: serde_json::Value,
    ) -> Result<(), StoreError> {
        let seq = self.next_id().await?;
        let client = self.client().await?;
        self.put_event(&client, seq, tenant, kind, data).await
    }

    pub async fn outbox_events(&self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
        self.rows(
            "SELECT record FROM outbox ORDER BY seq LIMIT $1",
            &[&int(limit as u64)],
        )
        .await?
        .iter()
        .map(|row| decode(row, "record"))
        .collect()
    }

    pub async fn next_delivery_id(&self) -> Result<String, StoreError> {
        Ok(format!("msg_{:016x}", self.next_id().await?))
    }

    /// Fans an event out and takes it off the outbox in one transaction; when another host
    /// took it first, makes nothing (0).
    pub async fn fan_out(
        &self,
        event: &OutboxEvent,
        endpoints: &[EndpointRecord],
        now_ms: u64,
    ) -> Result<usize, StoreError> {
        let mut records = Vec::new();
        for endpoint in endpoints
            .iter()
            .filter(|e| e.enabled && e.events.contains(&event.kind))
        {
            records.push(DeliveryRecord::new(
                self.next_delivery_id().await?,
                endpoint,
                event,
                now_ms,
            ));
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        if execute(&tx, "DELETE FROM outbox WHERE seq = $1", &[&int(event.seq)]).await? == 0 {
            return Ok(0);
        }
        for record in &records {
            write_delivery(&tx, record, Some(now_ms)).await?;
        }
        tx.commit().await?;
        Ok(records.len())
    }

    /// Writes a delivery after an attempt, due again at `next_ms` when given; its claim ends.
    pub async fn save_delivery(
        &self,
        _old_queue_key: Option<&[u8]>,
        record: &DeliveryRecord,
        next_ms: Option<u64>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        write_delivery(&client, record, next_ms).await
    }

    /// Due entries no host holds a claim on, soonest first (see the embedded backend for
    /// `limit`, `per_endpoint`, `scan` and `busy`). Reading hands nothing out: each attempt
    /// claims its entry first ([`Postgres::claim_delivery`]).
    pub async fn due_deliveries(
        &self,
        now_ms: u64,
        limit: usize,
        per_endpoint: usize,
        scan: usize,
        busy: &HashSet<(String, String)>,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let candidates = self
            .rows(
                "SELECT tenant, endpoint, id FROM webhook_deliveries
                 WHERE due_ms <= $1 AND claimed_until_ms <= $1
                 ORDER BY due_ms LIMIT $2",
                &[&int(now_ms), &int(scan as u64)],
            )
            .await?;
        let mut due = Vec::new();
        let mut taken: HashMap<(String, String), usize> = HashMap::new();
        for row in candidates {
            if due.len() >= limit {
                break;
            }
            let (tenant, endpoint, delivery): (String, String, String) =
                (row.get(0), row.get(1), row.get(2));
            let key = (tenant, endpoint);
            if busy.contains(&key) {
                continue;
            }
            let count = taken.entry(key.clone()).or_default();
            if *count >= per_endpoint {
                continue;
            }
            *count += 1;
            due.push(DueDelivery {
                queue_key: queue_key(&key.0, &key.1, &delivery),
                tenant: key.0,
                endpoint: key.1,
                delivery,
            });
        }
        Ok(due)
    }

    /// Claims one due entry for [`CLAIM_MS`]: a row another host has locked is skipped, one it
    /// claimed (or saved as no longer due) does not match.
    pub async fn claim_delivery(&self, due: &DueDelivery, now_ms: u64) -> Result<bool, StoreError> {
        Ok(self
            .execute(
                "UPDATE webhook_deliveries SET claimed_until_ms = $4
                 WHERE (tenant, endpoint, id) IN (
                     SELECT tenant, endpoint, id FROM webhook_deliveries
                     WHERE tenant = $1 AND endpoint = $2 AND id = $3
                     AND due_ms <= $5 AND claimed_until_ms <= $5
                     FOR UPDATE SKIP LOCKED)",
                &[
                    &due.tenant,
                    &due.endpoint,
                    &due.delivery,
                    &int(now_ms + CLAIM_MS),
                    &int(now_ms),
                ],
            )
            .await?
            > 0)
    }

    pub async fn drop_queue_entry(&self, queue_key: &[u8]) -> Result<(), StoreError> {
        if let Some((tenant, endpoint, id)) = parse_queue_key(queue_key) {
            self.execute(
                "UPDATE webhook_deliveries SET due_ms = NULL, claimed_until_ms = 0
                 WHERE tenant = $1 AND endpoint = $2 AND id = $3",
                &[&tenant, &endpoint, &id],
            )
            .await?;
        }
        Ok(())
    }

    pub async fn delivery(
        &self,
        tenant: &str,
        endpoint: &str,
        id: &str,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        self.one(
            "SELECT record FROM webhook_deliveries
             WHERE tenant = $1 AND endpoint = $2 AND id = $3",
            &[&tenant, &endpoint, &id],
        )
        .await?
        .map(|row| decode(&row, "record"))
        .transpose()
    }

    pub async fn deliveries(
        &self,
        tenant: &str,
        endpoint: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        // Delivery ids are fixed-width hex, so text order is creation order.
        let rows = match before {
            Some(before) => {
                self.rows(
                    "SELECT record FROM webhook_deliveries
                     WHERE tenant = $1 AND endpoint = $2 AND id < $3
                     ORDER BY id DESC LIMIT $4",
                    &[&tenant, &endpoint, &before, &int(limit as u64)],
                )
                .await?
            }
            None => {
                self.rows(
                    "SELECT record FROM webhook_deliveries WHERE tenant = $1 AND endpoint = $2
                     ORDER BY id DESC LIMIT $3",
                    &[&tenant, &endpoint, &int(limit as u64)],
                )
                .await?
            }
        };
        rows.iter().map(|row| decode(row, "record")).collect()
    }

    pub async fn pending_deliveries(
        &self,
        tenant: &str,
        endpoint: &str,
    ) -> Result<usize, StoreError> {
        count(
            self.one(
                "SELECT count(*) FROM webhook_deliveries
                 WHERE tenant = $1 AND endpoint = $2 AND pending",
                &[&tenant, &endpoint],
            )
            .await?,
        )
    }

    pub async fn create_endpoint(
        &self,
        endpoint: &EndpointRecord,
        secrets: &EndpointSecrets,
    ) -> Result<(), StoreError> {
        let aad = Aad::new(&endpoint.tenant, &endpoint.id, SECRET_FIELD);
        let sealed = self.seal(&aad, &serde_json::to_vec(secrets)?)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let inserted = execute(
            &tx,
            "INSERT INTO webhook_endpoints (tenant, id, record) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&endpoint.tenant, &endpoint.id, &encode(endpoint)?],
        )
        .await?;
        if inserted == 0 {
            return Err(StoreError::Conflict);
        }
        put_secret(&tx, &aad, &sealed).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn endpoint(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<EndpointRecord>, StoreError> {
        self.one(
            "SELECT record FROM webhook_endpoints WHERE tenant = $1 AND id = $2",
            &[&tenant, &id],
        )
        .await?
        .map(|row| decode(&row, "record"))
        .transpose()
    }

    pub async fn endpoints(&self, tenant: &str) -> Result<Vec<EndpointRecord>, StoreError> {
        self.rows(
            "SELECT record FROM webhook_endpoints WHERE tenant = $1 ORDER BY id",
            &[&tenant],
        )
        .await?
        .iter()
        .map(|row| decode(row, "record"))
        .collect()
    }

    pub async fn update_endpoint(
        &self,
        tenant: &str,
        id: &str,
        change: impl Fn(&mut EndpointRecord),
    ) -> Result<Option<EndpointRecord>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(row) = one(
            &tx,
            "SELECT record FROM webhook_endpoints WHERE tenant = $1 AND id = $2 FOR UPDATE",
            &[&tenant, &id],
        )
        .await?
        else {
            return Ok(None);
        };
        let mut record: EndpointRecord = decode(&row, "record")?;
        change(&mut record);
        execute(
            &tx,
            "UPDATE webhook_endpoints SET record = $3 WHERE tenant = $1 AND id = $2",
            &[&tenant, &id, &encode(&record)?],
        )
        .await?;
        tx.commit().await?;
        Ok(Some(record))
    }

    pub async fn put_endpoint_secrets(
        &self,
        tenant: &str,
        id: &str,
        secrets: &EndpointSecrets,
    ) -> Result<(), StoreError> {
        let aad = Aad::new(tenant, id, SECRET_FIELD);
        let sealed = self.seal(&aad, &serde_json::to_vec(secrets)?)?;
        let client = self.client().await?;
        put_secret(&client, &aad, &sealed).await
    }

    pub async fn endpoint_secrets(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<EndpointSecrets, StoreError> {
        let plain = self
            .open_secret(&Aad::new(tenant, id, SECRET_FIELD))
            .await?;
        Ok(serde_json::from_slice(&plain)?)
    }

    pub async fn delete_endpoint(&self, tenant: &str, id: &str) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let existed = execute(
            &tx,
            "DELETE FROM webhook_endpoints WHERE tenant = $1 AND id = $2",
            &[&tenant, &id],
        )
        .await?
            > 0;
        execute(
            &tx,
            "DELETE FROM secrets WHERE tenant = $1 AND owner = $2 AND field = $3",
            &[&tenant, &id, &SECRET_FIELD],
        )
        .await?;
        execute(
            &tx,
            "DELETE FROM webhook_deliveries WHERE tenant = $1 AND endpoint = $2",
            &[&tenant, &id],
        )
        .await?;
        tx.commit().await?;
        Ok(existed)
    }
}

/// Writes a delivery's record, due at `due_ms` (`None`: not queued); any claim on it ends.
async fn write_delivery<C: GenericClient>(
    client: &C,
    record: &DeliveryRecord,
    due_ms: Option<u64>,
) -> Result<(), StoreError> {
    execute(
        client,
        "INSERT INTO webhook_deliveries (tenant, endpoint, id, due_ms, claimed_until_ms, pending, record)
         VALUES ($1, $2, $3, $4, 0, $5, $6)
         ON CONFLICT (tenant, endpoint, id) DO UPDATE
         SET due_ms = excluded.due_ms, claimed_until_ms = 0, pending = excluded.pending,
             record = excluded.record",
        &[
            &record.tenant,
            &record.endpoint_id,
            &record.id,
            &due_ms.map(int),
            &(record.status == DeliveryStatus::Pending),
            &encode(record)?,
        ],
    )
    .await?;
    Ok(())
}
