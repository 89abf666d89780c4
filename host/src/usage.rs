//! Usage metering: what each tenant and connection used, counted per hour in the store, for
//! billing and for monthly limits.
//!
//! Counting happens where the work happens (the call path, the tool invocation, the sync
//! worker, the webhook workers) and costs one short lock and a map update: counts are summed in
//! memory and added to the store every `usage.flush_interval_ms` as one batch of atomic
//! increments, so several hosts on one database count exactly. Only authenticated work is
//! counted, under tenants and connections that exist and a fixed set of metric names, so no
//! request can grow the counters with names of its own.
//!
//! A tenant's monthly limit on plugin calls is checked before each call against the month's
//! count: the store's (read again at most every flush interval) plus this host's calls since.
//! Across hosts the limit may be passed by what the others counted within one interval.

mod calendar;
mod settings;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::background_task::BackgroundTask;
use crate::credentials::unix_now;
use crate::error::{ApiError, ErrorCode};
use crate::runtime::CallUsage;
use crate::store::{Store, StoreError, UsageCount};

pub use calendar::{day_start, hour_of_rfc3339, month_of, rfc3339_of_hour};
pub use settings::UsageSettings;

/// The metrics counted. Plugin calls are `calls.{operation}.{outcome}`.
pub mod metric {
    /// Requests plugins sent to vendors (redirect hops included).
    pub const EGRESS_REQUESTS: &str = "egress.requests";
    /// Bytes of vendor responses plugins read.
    pub const EGRESS_BYTES: &str = "egress.bytes";
    /// Agent tool invocations (REST and MCP).
    pub const TOOL_INVOCATIONS: &str = "tools.invocations";
    /// Items syncs found created, updated or deleted.
    pub const SYNC_ITEMS: &str = "sync.items";
    /// Webhook deliveries the tenant's endpoints accepted.
    pub const WEBHOOKS_DELIVERED: &str = "webhooks.delivered";
    /// Vendor webhook deliveries routed to a connection.
    pub const WEBHOOKS_RECEIVED: &str = "webhooks.received";
    /// The prefix of plugin call counters.
    pub const CALLS_PREFIX: &str = "calls.";
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Counter {
    tenant: String,
    connection: String,
    hour: u64,
    metric: String,
}

/// A tenant's monthly limit and this host's count of its calls this month, read from the store
/// at most every flush interval.
struct TenantQuota {
    /// The limit in force (the tenant's own, else the default); none: not counted here.
    limit: Option<u64>,
    month: (u64, u64),
    /// The store's count (and this host's unflushed calls) when read.
    base: u64,
    /// Calls this host counted since.
    since: u64,
    read_at: Instant,
}

/// Counts usage and flushes it to the store; cheap to clone.
#[derive(Clone)]
pub struct UsageMeter(Arc<Inner>);

struct Inner {
    store: Store,
    settings: UsageSettings,
    pending: Mutex<HashMap<Counter, u64>>,
    quotas: Mutex<HashMap<String, TenantQuota>>,
}

impl UsageMeter {
    /// A meter over `store`.
    pub fn new(store: Store, settings: UsageSettings) -> Self {
        Self(Arc::new(Inner {
            store,
            settings,
            pending: Mutex::default(),
            quotas: Mutex::default(),
        }))
    }

    /// The settings in force.
    pub fn settings(&self) -> &UsageSettings {
        &self.0.settings
    }

    /// Adds `count` to `metric` of `tenant` (and `connection`, or `""`) this hour.
    pub fn add(&self, tenant: &str, connection: &str, metric: &str, count: u64) {
        self.add_all(tenant, connection, &[(metric, count)]);
    }

    /// Adds each `(metric, count)` of `tenant`'s `connection` this hour, under one lock.
    fn add_all(&self, tenant: &str, connection: &str, amounts: &[(&str, u64)]) {
        if tenant.is_empty() {
            return;
        }
        let hour = calendar::hour_of(unix_now());
        let Ok(mut pending) = self.0.pending.lock() else {
            return;
        };
        for (metric, count) in amounts.iter().filter(|(_, count)| *count > 0) {
            let counter = Counter {
                tenant: tenant.to_owned(),
                connection: connection.to_owned(),
                hour,
                metric: (*metric).to_owned(),
            };
            *pending.entry(counter).or_default() += count;
        }
    }

    /// Counts one plugin call and what it sent and read.
    pub fn call(
        &self,
        tenant: &str,
        connection: &str,
        operation: &str,
        outcome: &str,
        usage: &CallUsage,
    ) {
        let calls = format!("{}{operation}.{outcome}", metric::CALLS_PREFIX);
        self.add_all(
            tenant,
            connection,
            &[
                (&calls, 1),
                (metric::EGRESS_REQUESTS, u64::from(usage.egress_requests)),
                (metric::EGRESS_BYTES, usage.egress_bytes),
            ],
        );
        if let Ok(mut quotas) = self.0.quotas.lock()
            && let Some(quota) = quotas.get_mut(tenant)
        {
            quota.since += 1;
        }
    }

    /// Refuses a plugin call of `tenant` once its calls this month reached its limit (its
    /// own, `PUT /admin/v1/tenants/{tenant}/usage-limit`, else
    /// `usage.default_monthly_call_limit`): 429 `QUOTA_EXCEEDED`, with the reset time in
    /// `details` and `Retry-After`.
    pub async fn admit_call(&self, tenant: &str) -> Result<(), ApiError> {
        let now = unix_now();
        let month = month_of(calendar::hour_of(now));
        let (limit, used) = self.month_calls(tenant, month).await?;
        let Some(limit) = limit.filter(|limit| used >= *limit) else {
            return Ok(());
        };
        let resets_at = rfc3339_of_hour(month.1);
        let mut error = ApiError::new(
            ErrorCode::QuotaExceeded,
            format!(
                "this tenant made {used} plugin calls this month and its limit is {limit}; \
                 calls work again at {resets_at}"
            ),
        )
        .with_details(serde_json::json!({
            "limit": limit, "used": used, "resets_at": resets_at,
        }));
        error.retry_after_secs = Some((month.1 * 3600).saturating_sub(now).max(1));
        Err(error)
    }

    /// The tenant's limit and its calls in `month`: the store's count read at most every
    /// flush interval, plus this host's calls since.
    async fn month_calls(
        &self,
        tenant: &str,
        month: (u64, u64),
    ) -> Result<(Option<u64>, u64), StoreError> {
        let fresh = self.flush_interval();
        if let Ok(quotas) = self.0.quotas.lock()
            && let Some(quota) = quotas.get(tenant)
            && quota.month == month
            && quota.read_at.elapsed() < fresh
        {
            return Ok((quota.limit, quota.base + quota.since));
        }
        let own = self
            .0
            .store
            .tenant(tenant)
            .await?
            .and_then(|tenant| tenant.monthly_call_limit);
        let limit = own.or(self.0.settings.default_monthly_call_limit);
        let base = match limit {
            Some(_) => self.stored_calls(tenant, month).await?,
            None => 0,
        };
        if let Ok(mut quotas) = self.0.quotas.lock() {
            quotas.insert(
                tenant.to_owned(),
                TenantQuota {
                    limit,
                    month,
                    base,
                    since: 0,
                    read_at: Instant::now(),
                },
            );
        }
        Ok((limit, base))
    }

    /// The tenant's calls in `month` (first and end hour) in the store and not yet flushed from
    /// this host.
    pub async fn stored_calls(&self, tenant: &str, month: (u64, u64)) -> Result<u64, StoreError> {
        let stored: u64 = self
            .0
            .store
            .usage(Some(tenant), month.0, month.1)
            .await?
            .iter()
            .filter(|row| row.metric.starts_with(metric::CALLS_PREFIX))
            .map(|row| row.count)
            .sum();
        let unflushed: u64 = self.0.pending.lock().map_or(0, |pending| {
            pending
                .iter()
                .filter(|(counter, _)| {
                    counter.tenant == tenant
                        && (month.0..month.1).contains(&counter.hour)
                        && counter.metric.starts_with(metric::CALLS_PREFIX)
                })
                .map(|(_, count)| count)
                .sum()
        });
        Ok(stored + unflushed)
    }

    /// Drops what this host read of `tenant`'s limit, so a changed limit applies at its next
    /// call here (other hosts read it again within a flush interval).
    pub fn forget_quota(&self, tenant: &str) {
        if let Ok(mut quotas) = self.0.quotas.lock() {
            quotas.remove(tenant);
        }
    }

    fn flush_interval(&self) -> Duration {
        Duration::from_millis(self.0.settings.flush_interval_ms.max(10))
    }

    /// Adds what was counted to the store. On failure the counts are kept for the next try, so
    /// a store outage delays counts without losing them.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let taken = match self.0.pending.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending),
            Err(_) => return Ok(()),
        };
        if taken.is_empty() {
            return Ok(());
        }
        let amounts: Vec<UsageCount> = taken
            .iter()
            .map(|(counter, count)| UsageCount {
                tenant: counter.tenant.clone(),
                hour: counter.hour,
                connection: counter.connection.clone(),
                metric: counter.metric.clone(),
                count: *count,
            })
            .collect();
        let added = self.0.store.add_usage(&amounts).await;
        if added.is_err()
            && let Ok(mut pending) = self.0.pending.lock()
        {
            for (counter, count) in taken {
                *pending.entry(counter).or_default() += count;
            }
        }
        added
    }

    /// Flushes every interval and deletes counters past the retention once an hour, until
    /// stopped; flushes once more on the way out.
    pub fn start(&self) -> BackgroundTask {
        let meter = self.clone();
        BackgroundTask::spawn(move |mut stop| async move {
            let mut tick = tokio::time::interval(meter.flush_interval());
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut pruned_at: Option<Instant> = None;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = &mut stop => break,
                }
                if let Err(error) = meter.flush().await {
                    tracing::warn!(%error, "usage counts not flushed; kept for the next try");
                }
                if pruned_at.is_none_or(|at| at.elapsed() >= Duration::from_secs(3600)) {
                    pruned_at = Some(Instant::now());
                    let keep_hours = meter.0.settings.retention_days.saturating_mul(24);
                    let before = calendar::hour_of(unix_now()).saturating_sub(keep_hours);
                    if let Err(error) = meter.0.store.prune_usage(before).await {
                        tracing::warn!(%error, "old usage counters not pruned");
                    }
                }
            }
            if let Err(error) = meter.flush().await {
                tracing::warn!(%error, "usage counts not flushed at stop");
            }
        })
    }
}
