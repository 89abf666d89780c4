use serde::{Deserialize, Serialize};

use super::{Sled, StoreError, now_rfc3339, tenant_prefix};

/// Tenant id under which host-wide events (plugin loads) are recorded.
pub const SYSTEM_TENANT: &str = "_system";

/// One audited action. Never holds a secret: only ids and outcomes.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEvent {
    /// Increasing sequence number, also the page cursor.
    pub seq: u64,
    /// When it happened (RFC 3339).
    pub at: String,
    /// The tenant it concerns, or `_host` for the host's own log.
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
    /// Particulars, never a secret.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// Whether an audited attempt succeeded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// It was done.
    #[default]
    Success,
    /// It was refused or failed.
    Failure,
}

/// An event to append (see [`AuditEvent`] for the fields).
pub struct NewAuditEvent<'a> {
    /// `None`: the host's own log.
    pub tenant: Option<&'a str>,
    /// Who did it (`key:<id>`, `admin`, `console`).
    pub actor: &'a str,
    /// What was done (`credential.create`).
    pub action: &'a str,
    /// What it was done to.
    pub target: &'a str,
    /// Whether it was done.
    pub outcome: AuditOutcome,
    /// Particulars, never a secret.
    pub details: serde_json::Value,
}

impl Sled {
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

    /// Retention: deletes each tenant's oldest events beyond `max_per_tenant`, and events older
    /// than `max_age` (`None`: no age limit). Events of a tenant are in time order under its
    /// prefix, so each tenant's scan stops at its first event kept. Returns how many went.
    pub fn sweep_audit(
        &self,
        now: std::time::SystemTime,
        max_age: Option<std::time::Duration>,
        max_per_tenant: usize,
    ) -> Result<usize, StoreError> {
        let mut counts: std::collections::BTreeMap<Vec<u8>, usize> = Default::default();
        for key in self.audit.iter().keys() {
            let key = key?;
            // `tenant/` then the 8-byte sequence number.
            if key.len() > 8 {
                *counts.entry(key[..key.len() - 8].to_vec()).or_default() += 1;
            }
        }
        let cutoff = max_age.and_then(|age| now.checked_sub(age));
        let mut removed = 0;
        for (prefix, mut count) in counts {
            for entry in self.audit.scan_prefix(&prefix) {
                let (key, bytes) = entry?;
                let too_many = count > max_per_tenant;
                let too_old = cutoff.is_some_and(|cutoff| {
                    serde_json::from_slice::<AuditEvent>(&bytes)
                        .ok()
                        .and_then(|event| humantime::parse_rfc3339(&event.at).ok())
                        .is_none_or(|at| at < cutoff)
                });
                if !too_many && !too_old {
                    break;
                }
                self.audit.remove(key)?;
                count -= 1;
                removed += 1;
            }
        }
        Ok(removed)
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
