//! Webhook deliveries: one record per (endpoint, event) in `webhook_deliveries`
//! (`tenant/endpoint/delivery`) with every attempt, and the queue of due attempts in
//! `delivery_queue`, ordered by due time. A record and its queue entry change in one
//! transaction, so a delivery is never both lost and marked pending.

use serde::{Deserialize, Serialize};
use sled::Transactional as _;

use super::{EndpointRecord, OutboxEvent, Sled, StoreError, scoped_key};

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for an attempt.
    Pending,
    /// The endpoint accepted it.
    Delivered,
    /// Every attempt failed.
    Failed,
}

/// One attempt to deliver.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeliveryAttempt {
    /// When it was made (RFC 3339).
    pub at: String,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<u16>,
    /// Why the attempt failed without an answer (timeout, refused address, ...).
    pub error: Option<String>,
    /// How long the attempt took.
    pub duration_ms: u64,
}

/// A delivery of one event to one endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeliveryRecord {
    /// `msg_` and a sequence number in hex: the `webhook-id` of every attempt.
    pub id: String,
    /// The tenant.
    pub tenant: String,
    /// The endpoint it goes to.
    pub endpoint_id: String,
    /// The event's type.
    pub event_type: super::EventType,
    /// The exact body sent (the Standard Webhooks payload: `type`, `timestamp`, `data`).
    pub body: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Every attempt so far.
    pub attempts: Vec<DeliveryAttempt>,
    /// When the next attempt is due (unix milliseconds), while pending.
    pub next_attempt_at_ms: Option<u64>,
    /// When it was queued.
    pub created_at: String,
    /// When the endpoint accepted it.
    pub delivered_at: Option<String>,
}

/// A queue entry that is due.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    /// The key of its queue entry.
    pub queue_key: Vec<u8>,
    /// The tenant.
    pub tenant: String,
    /// The endpoint.
    pub endpoint: String,
    /// The delivery's id.
    pub delivery: String,
}

/// Attempts kept in a record; older ones are dropped (the count stays in `attempt_count`).
const MAX_KEPT_ATTEMPTS: usize = 50;

fn delivery_key(tenant: &str, endpoint: &str, delivery: &str) -> Vec<u8> {
    scoped_key(tenant, &format!("{endpoint}/{delivery}"))
}

fn queue_key(due_ms: u64, tenant: &str, endpoint: &str, delivery: &str) -> Vec<u8> {
    let mut key = due_ms.to_be_bytes().to_vec();
    key.extend_from_slice(format!("{tenant}/{endpoint}/{delivery}").as_bytes());
    key
}

/// The payload of an event as Standard Webhooks recommends: `type`, `timestamp`, `data`.
pub fn payload(kind: super::EventType, created_at: &str, data: &serde_json::Value) -> String {
    serde_json::json!({"type": kind.as_str(), "timestamp": created_at, "data": data}).to_string()
}

impl DeliveryRecord {
    /// A pending delivery of an event, due at once.
    pub fn new(id: String, endpoint: &EndpointRecord, event: &OutboxEvent, now_ms: u64) -> Self {
        Self {
            id,
            tenant: endpoint.tenant.clone(),
            endpoint_id: endpoint.id.clone(),
            event_type: event.kind,
            body: payload(event.kind, &event.created_at, &event.data),
            status: DeliveryStatus::Pending,
            attempts: Vec::new(),
            next_attempt_at_ms: Some(now_ms),
            created_at: super::now_rfc3339(),
            delivered_at: None,
        }
    }

    /// Records an attempt, keeping the newest [`MAX_KEPT_ATTEMPTS`].
    pub fn push_attempt(&mut self, attempt: DeliveryAttempt) {
        self.attempts.push(attempt);
        if self.attempts.len() > MAX_KEPT_ATTEMPTS {
            self.attempts.remove(0);
        }
    }
}

impl Sled {
    /// A fresh delivery id (`msg_...`), greater than every earlier one.
    pub fn next_delivery_id(&self) -> Result<String, StoreError> {
        Ok(format!("msg_{:016x}", self.db.generate_id()?))
    }

    /// Turns an outbox event into one pending delivery per endpoint that subscribes to it, and
    /// removes it from the outbox, in one transaction. Returns the deliveries made.
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
                self.next_delivery_id()?,
                endpoint,
                event,
                now_ms,
            ));
        }
        let bytes: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> = records
            .iter()
            .map(|r| {
                Ok((
                    delivery_key(&r.tenant, &r.endpoint_id, &r.id),
                    queue_key(now_ms, &r.tenant, &r.endpoint_id, &r.id),
                    serde_json::to_vec(r)?,
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        (&self.outbox, &self.webhook_deliveries, &self.delivery_queue).transaction(
            |(outbox, deliveries, queue)| {
                for (key, due, record) in &bytes {
                    deliveries.insert(key.as_slice(), record.as_slice())?;
                    queue.insert(due.as_slice(), &[] as &[u8])?;
                }
                outbox.remove(&event.seq.to_be_bytes())?;
                Ok::<_, sled::transaction::ConflictableTransactionError<StoreError>>(())
            },
        )?;
        self.flush().await?;
        Ok(records.len())
    }

    /// Writes a delivery after an attempt: removes its old queue entry, and queues it again at
    /// `next_ms` when given.
    pub async fn save_delivery(
        &self,
        old_queue_key: Option<&[u8]>,
        record: &DeliveryRecord,
        next_ms: Option<u64>,
    ) -> Result<(), StoreError> {
        let key = delivery_key(&record.tenant, &record.endpoint_id, &record.id);
        let bytes = serde_json::to_vec(record)?;
        let next =
            next_ms.map(|due| queue_key(due, &record.tenant, &record.endpoint_id, &record.id));
        (&self.webhook_deliveries, &self.delivery_queue).transaction(|(deliveries, queue)| {
            if let Some(old) = old_queue_key {
                queue.remove(old)?;
            }
            deliveries.insert(key.as_slice(), bytes.as_slice())?;
            if let Some(next) = &next {
                queue.insert(next.as_slice(), &[] as &[u8])?;
            }
            Ok::<_, sled::transaction::ConflictableTransactionError<StoreError>>(())
        })?;
        self.flush().await
    }

    /// Queue entries due at `now_ms`, soonest first, at most `limit`, at most `per_endpoint`
    /// of one endpoint, none of an endpoint in `busy` (`(tenant, endpoint)`, being delivered to already).
    /// Looks at no more than `scan` entries, so one endpoint's backlog costs a bounded read
    /// and cannot hide the others' entries behind it for long.
    pub fn due_deliveries(
        &self,
        now_ms: u64,
        limit: usize,
        per_endpoint: usize,
        scan: usize,
        busy: &std::collections::HashSet<(String, String)>,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let mut due = Vec::new();
        let mut taken: std::collections::HashMap<(String, String), usize> = Default::default();
        for key in self
            .delivery_queue
            .range(..(now_ms + 1).to_be_bytes().to_vec())
            .keys()
            .take(scan)
        {
            if due.len() >= limit {
                break;
            }
            let key = key?;
            let rest = String::from_utf8_lossy(&key[8..]).into_owned();
            let mut parts = rest.splitn(3, '/');
            if let (Some(tenant), Some(endpoint), Some(delivery)) =
                (parts.next(), parts.next(), parts.next())
            {
                if busy.contains(&(tenant.to_owned(), endpoint.to_owned())) {
                    continue;
                }
                let count = taken
                    .entry((tenant.to_owned(), endpoint.to_owned()))
                    .or_default();
                if *count >= per_endpoint {
                    continue;
                }
                *count += 1;
                due.push(DueDelivery {
                    queue_key: key.to_vec(),
                    tenant: tenant.to_owned(),
                    endpoint: endpoint.to_owned(),
                    delivery: delivery.to_owned(),
                });
            } else {
                self.delivery_queue.remove(&key)?;
            }
        }
        Ok(due)
    }

    /// Claims a due entry for this host's attempt. One process serves the embedded store, and
    /// its dispatcher never hands one endpoint to two tasks: always granted.
    pub fn claim_delivery(&self, _due: &DueDelivery, _now_ms: u64) -> Result<bool, StoreError> {
        Ok(true)
    }

    /// Removes a queue entry whose delivery is gone.
    pub fn drop_queue_entry(&self, queue_key: &[u8]) -> Result<(), StoreError> {
        self.delivery_queue.remove(queue_key)?;
        Ok(())
    }

    /// One delivery of the tenant's endpoint.
    pub fn delivery(
        &self,
        tenant: &str,
        endpoint: &str,
        id: &str,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        match self
            .webhook_deliveries
            .get(delivery_key(tenant, endpoint, id))?
        {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    /// An endpoint's deliveries, newest first, before the delivery id `before` when given.
    pub fn deliveries(
        &self,
        tenant: &str,
        endpoint: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let prefix = scoped_key(tenant, &format!("{endpoint}/"));
        let upper = match before {
            Some(id) => delivery_key(tenant, endpoint, id),
            None => {
                let mut end = prefix.clone();
                end.push(0xff);
                end
            }
        };
        self.webhook_deliveries
            .range(prefix..upper)
            .values()
            .rev()
            .take(limit)
            .map(|bytes| Ok(serde_json::from_slice(&bytes?)?))
            .collect()
    }

    /// Whether any delivery of the endpoint is still pending.
    pub fn pending_deliveries(&self, tenant: &str, endpoint: &str) -> Result<usize, StoreError> {
        let mut count = 0;
        for bytes in self
            .webhook_deliveries
            .scan_prefix(scoped_key(tenant, &format!("{endpoint}/")))
            .values()
        {
            let record: DeliveryRecord = serde_json::from_slice(&bytes?)?;
            if record.status == DeliveryStatus::Pending {
                count += 1;
            }
        }
        Ok(count)
    }

    pub(super) fn delete_deliveries_of(
        &self,
        tenant: &str,
        endpoint: &str,
    ) -> Result<(), StoreError> {
        for bytes in self
            .webhook_deliveries
            .scan_prefix(scoped_key(tenant, &format!("{endpoint}/")))
        {
            let (key, bytes) = bytes?;
            let record: DeliveryRecord = serde_json::from_slice(&bytes)?;
            if let Some(due) = record.next_attempt_at_ms {
                self.delivery_queue
                    .remove(queue_key(due, tenant, endpoint, &record.id))?;
            }
            self.webhook_deliveries.remove(key)?;
        }
        Ok(())
    }
}
