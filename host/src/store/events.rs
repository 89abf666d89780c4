//! The outbox of events for tenants' webhook endpoints. Producers write an event in the same
//! transaction as what it reports (a sync's page, a connection's creation), so the event exists
//! exactly when the fact does; the dispatcher later fans each one out to the endpoints that
//! subscribe to it, and removes it.

use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use super::{Sled, StoreError, now_rfc3339};

/// The events a tenant's endpoint can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum EventType {
    /// A connection was created.
    #[serde(rename = "connection.created")]
    ConnectionCreated,
    /// A connection's grant died; it must be authorized again.
    #[serde(rename = "connection.needs_reauth")]
    ConnectionNeedsReauth,
    /// A connection was deleted.
    #[serde(rename = "connection.deleted")]
    ConnectionDeleted,
    /// A sync run completed.
    #[serde(rename = "sync.completed")]
    SyncCompleted,
    /// A sync run failed.
    #[serde(rename = "sync.failed")]
    SyncFailed,
    /// A sync or a vendor delivery changed records.
    #[serde(rename = "records.changed")]
    RecordsChanged,
    /// A verified vendor webhook delivery turned into changes.
    #[serde(rename = "vendor.event")]
    VendorEvent,
    /// Sent on request to one endpoint (`POST .../test`), never fanned out.
    #[serde(rename = "webhook.test")]
    WebhookTest,
}

impl EventType {
    /// Every type an endpoint may name in `events`.
    pub const SUBSCRIBABLE: [EventType; 7] = [
        Self::ConnectionCreated,
        Self::ConnectionNeedsReauth,
        Self::ConnectionDeleted,
        Self::SyncCompleted,
        Self::SyncFailed,
        Self::RecordsChanged,
        Self::VendorEvent,
    ];

    /// The wire name (`records.changed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConnectionCreated => "connection.created",
            Self::ConnectionNeedsReauth => "connection.needs_reauth",
            Self::ConnectionDeleted => "connection.deleted",
            Self::SyncCompleted => "sync.completed",
            Self::SyncFailed => "sync.failed",
            Self::RecordsChanged => "records.changed",
            Self::VendorEvent => "vendor.event",
            Self::WebhookTest => "webhook.test",
        }
    }

    /// The type of a wire name, among those an endpoint may subscribe to.
    pub fn subscribable(name: &str) -> Option<Self> {
        Self::SUBSCRIBABLE
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

/// An event waiting to be fanned out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxEvent {
    /// The event's sequence number.
    pub seq: u64,
    /// The tenant.
    pub tenant: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// What it says.
    pub data: serde_json::Value,
    /// When it happened (RFC 3339).
    pub created_at: String,
}

/// Writes an event inside a transaction.
pub(crate) fn put(
    outbox: &TransactionalTree,
    seq: u64,
    tenant: &str,
    kind: EventType,
    data: serde_json::Value,
) -> Result<(), ConflictableTransactionError<StoreError>> {
    let event = OutboxEvent {
        seq,
        tenant: tenant.to_owned(),
        kind,
        data,
        created_at: now_rfc3339(),
    };
    let bytes =
        serde_json::to_vec(&event).map_err(|e| ConflictableTransactionError::Abort(e.into()))?;
    outbox.insert(&seq.to_be_bytes(), bytes)?;
    Ok(())
}

impl Sled {
    /// Records an event for the tenant's endpoints (durable when this returns).
    pub async fn emit_event(
        &self,
        tenant: &str,
        kind: EventType,
        data: serde_json::Value,
    ) -> Result<(), StoreError> {
        let seq = self.db.generate_id()?;
        let event = OutboxEvent {
            seq,
            tenant: tenant.to_owned(),
            kind,
            data,
            created_at: now_rfc3339(),
        };
        self.outbox
            .insert(seq.to_be_bytes(), serde_json::to_vec(&event)?)?;
        self.flush().await
    }

    /// The oldest events waiting, at most `limit`.
    pub fn outbox_events(&self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
        self.outbox
            .iter()
            .values()
            .take(limit)
            .map(|bytes| Ok(serde_json::from_slice(&bytes?)?))
            .collect()
    }
}
