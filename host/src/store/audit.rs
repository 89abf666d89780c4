use serde::{Deserialize, Serialize};

use super::{Store, StoreError, now_rfc3339, tenant_prefix};

/// Tenant id under which host-wide events (plugin loads) are recorded.
pub const SYSTEM_TENANT: &str = "_system";

/// One audited action. Never holds a secret: only ids and outcomes.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEvent {
    /// Increasing sequence number, also the page cursor.
    pub seq: u64,
    pub at: String,
    pub tenant: String,
    /// Who acted: `admin`, `key:<id>`, `host`.
    pub actor: String,
    /// `credential.create`, `credential.rotate`, `credential.delete`, `api_key.issue`,
    /// `oauth.grant`, `plugin.load`, `keys.rotate`, ...
    pub action: String,
    /// What it acted on (a connection id, a plugin id).
    pub target: String,
    /// Whether the attempt succeeded; refused and failed attempts are recorded too.
    #[serde(default)]
    pub outcome: AuditOutcome,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// Whether an audited attempt succeeded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    #[default]
    Success,
    Failure,
}

/// An event to append (see [`AuditEvent`] for the fields).
pub struct NewAuditEvent<'a> {
    /// `None`: the host's own log.
    pub tenant: Option<&'a str>,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub outcome: AuditOutcome,
    pub details: serde_json::Value,
}

impl Store {
    /// Appends a successful event to the tenant's audit log (`None` tenant: the host's own log).
    pub async fn audit(
        &self,
        tenant: Option<&str>,
        actor: &str,
        action: &str,
        target: &str,
        details: serde_json::Value,
    ) -> Result<(), StoreError> {
        self.record_audit(NewAuditEvent {
            tenant,
            actor,
            action,
            target,
            outcome: AuditOutcome::Success,
            details,
        })
        .await
    }

    /// Appends an event to the audit log.
    pub async fn record_audit(&self, new: NewAuditEvent<'_>) -> Result<(), StoreError> {
        let tenant = new.tenant.unwrap_or(SYSTEM_TENANT);
        let seq = self.db.generate_id()?;
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
        let mut key = tenant_prefix(tenant);
        key.extend_from_slice(&seq.to_be_bytes());
        self.audit.insert(key, serde_json::to_vec(&event)?)?;
        Ok(())
    }

    /// A tenant's events after `after` (a previous page's last `seq`), oldest first.
    pub fn audit_events(
        &self,
        tenant: &str,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let prefix = tenant_prefix(tenant);
        let mut start = prefix.clone();
        start.extend_from_slice(&after.map_or(0, |s| s + 1).to_be_bytes());
        let mut end = prefix;
        end.extend_from_slice(&u64::MAX.to_be_bytes());
        self.audit
            .range(start..=end)
            .values()
            .take(limit)
            .map(|v| Ok(serde_json::from_slice(&v?)?))
            .collect()
    }
}
