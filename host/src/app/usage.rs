//! Usage reports: what a tenant (or, for the operator, every tenant) used over a period, by
//! hour, day or month, by connection and by plugin operation; and the operator's monthly call
//! limit of a tenant.

use std::collections::BTreeMap;

use serde::Serialize;

use super::App;
use crate::credentials::unix_now;
use crate::error::{ApiError, ErrorCode};
use crate::store::{StoreError, UsageCount};
use crate::usage::{day_start, hour_of_rfc3339, metric, month_of, rfc3339_of_hour};

/// Longest period one report covers, in days.
const MAX_DAYS: u64 = 400;
/// Longest period reported by the hour, in days (a bounded number of buckets).
const MAX_HOURLY_DAYS: u64 = 31;
/// Period of a report that names none, in days.
const DEFAULT_DAYS: u64 = 30;

/// How a report's series is bucketed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// One bucket per hour.
    Hour,
    /// One per day (UTC).
    Day,
    /// One per calendar month (UTC).
    Month,
}

/// The period and bucketing a client asked for, checked.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    from_hour: u64,
    to_hour: u64,
    granularity: Granularity,
}

impl Period {
    /// `from` and `to` are RFC 3339 times or `YYYY-MM-DD` dates (UTC); `to` is exclusive.
    /// Defaults: the 30 days ending with today (UTC), by day.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        granularity: Option<&str>,
    ) -> Result<Self, ApiError> {
        let invalid = |field: &str, message: String| {
            ApiError::new(ErrorCode::Validation, message)
                .with_details(serde_json::json!({ "field": field }))
        };
        let time = |field: &str, text: &str| {
            hour_of_rfc3339(text).ok_or_else(|| {
                invalid(
                    field,
                    format!(
                        "`{field}` must be an RFC 3339 time or a YYYY-MM-DD date, not `{text}`"
                    ),
                )
            })
        };
        let to_hour = match to {
            Some(text) => time("to", text)?,
            None => day_start(unix_now() / 3600) + 24,
        };
        let from_hour = match from {
            Some(text) => time("from", text)?,
            None => to_hour.saturating_sub(DEFAULT_DAYS * 24),
        };
        let granularity = match granularity.unwrap_or("day") {
            "hour" => Granularity::Hour,
            "day" => Granularity::Day,
            "month" => Granularity::Month,
            other => {
                return Err(invalid(
                    "granularity",
                    format!("`granularity` is `hour`, `day` or `month`, not `{other}`"),
                ));
            }
        };
        if from_hour >= to_hour {
            return Err(invalid("from", "`from` must be before `to`".into()));
        }
        let days = (to_hour - from_hour).div_ceil(24);
        let most = if granularity == Granularity::Hour {
            MAX_HOURLY_DAYS
        } else {
            MAX_DAYS
        };
        if days > most {
            return Err(invalid(
                "from",
                format!(
                    "a report by {} covers at most {most} days; this one asks for {days}",
                    match granularity {
                        Granularity::Hour => "hour",
                        Granularity::Day => "day",
                        Granularity::Month => "month",
                    }
                ),
            ));
        }
        Ok(Self {
            from_hour,
            to_hour,
            granularity,
        })
    }

    fn bucket(&self, hour: u64) -> u64 {
        match self.granularity {
            Granularity::Hour => hour,
            Granularity::Day => day_start(hour),
            Granularity::Month => month_of(hour).0,
        }
    }
}

/// Counts of one period, bucket, connection or tenant.
#[derive(Debug, Default, Clone, Serialize, utoipa::ToSchema)]
pub struct UsageTotals {
    /// Plugin calls.
    pub calls: u64,
    /// Plugin calls that failed (any outcome but `ok`).
    pub failed_calls: u64,
    /// Requests plugins sent to vendors.
    pub egress_requests: u64,
    /// Bytes of vendor responses plugins read.
    pub egress_bytes: u64,
    /// Agent tool invocations (REST and MCP).
    pub tool_invocations: u64,
    /// Items syncs found created, updated or deleted.
    pub sync_items: u64,
    /// Webhook deliveries the tenant's endpoints accepted.
    pub webhooks_delivered: u64,
    /// Vendor webhook deliveries routed to the tenant's connections.
    pub webhooks_received: u64,
}

impl UsageTotals {
    fn add(&mut self, row: &UsageCount) {
        let count = row.count;
        match row.metric.as_str() {
            metric::EGRESS_REQUESTS => self.egress_requests += count,
            metric::EGRESS_BYTES => self.egress_bytes += count,
            metric::TOOL_INVOCATIONS => self.tool_invocations += count,
            metric::SYNC_ITEMS => self.sync_items += count,
            metric::WEBHOOKS_DELIVERED => self.webhooks_delivered += count,
            metric::WEBHOOKS_RECEIVED => self.webhooks_received += count,
            other if other.starts_with(metric::CALLS_PREFIX) => {
                self.calls += count;
                if !other.ends_with(".ok") {
                    self.failed_calls += count;
                }
            }
            _ => {}
        }
    }
}

/// One bucket of the series.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UsageBucket {
    /// Where the bucket starts (RFC 3339, UTC).
    pub start: String,
    /// Its counts.
    #[serde(flatten)]
    pub totals: UsageTotals,
}

/// Plugin calls of one operation and outcome.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallCount {
    /// The operation (`items`, `search`, ...).
    pub operation: String,
    /// `ok`, `connector_error`, `fault`, `egress_denied` or `error`.
    pub outcome: String,
    /// How many.
    pub count: u64,
}

/// One connection's (or, for the operator, one tenant's) counts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UsageOf {
    /// The connection id (empty for what named none, such as a tool call refused before it
    /// chose one), or the tenant id.
    pub id: String,
    /// Its counts.
    #[serde(flatten)]
    pub totals: UsageTotals,
}

/// The tenant's monthly call limit and where it stands.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallLimit {
    /// Plugin calls allowed per calendar month (UTC).
    pub monthly_calls: u64,
    /// Calls made this month.
    pub used: u64,
    /// When the count starts again (RFC 3339).
    pub resets_at: String,
}

/// A usage report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UsageReport {
    /// Start of the period (RFC 3339, inclusive).
    pub from: String,
    /// End of the period (RFC 3339, exclusive).
    pub to: String,
    /// How `series` is bucketed.
    pub granularity: Granularity,
    /// The whole period.
    pub totals: UsageTotals,
    /// Every bucket of the period, empty ones included, oldest first.
    pub series: Vec<UsageBucket>,
    /// By connection (the tenant's report) or by tenant (the operator's).
    pub breakdown: Vec<UsageOf>,
    /// Plugin calls by operation and outcome.
    pub calls: Vec<CallCount>,
    /// The tenant's monthly call limit, when one applies (the tenant's report only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<CallLimit>,
}

/// The report of `tenant` (every tenant's when `None`, broken down by tenant) over `period`.
/// What this host counted so far is flushed first, so a client reads its own calls.
pub async fn report(
    state: &App,
    tenant: Option<&str>,
    period: Period,
) -> Result<UsageReport, ApiError> {
    if let Err(error) = state.usage.flush().await {
        tracing::warn!(%error, "usage counts not flushed before a report");
    }
    let rows = state
        .store
        .usage(tenant, period.from_hour, period.to_hour)
        .await?;
    let mut totals = UsageTotals::default();
    let mut buckets: BTreeMap<u64, UsageTotals> = BTreeMap::new();
    let mut start = period.bucket(period.from_hour);
    while start < period.to_hour {
        buckets.insert(start, UsageTotals::default());
        start = match period.granularity {
            Granularity::Hour => start + 1,
            Granularity::Day => start + 24,
            Granularity::Month => month_of(start).1,
        };
    }
    let mut breakdown: BTreeMap<&str, UsageTotals> = BTreeMap::new();
    let mut calls: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for row in &rows {
        totals.add(row);
        buckets.entry(period.bucket(row.hour)).or_default().add(row);
        let by = if tenant.is_some() {
            row.connection.as_str()
        } else {
            row.tenant.as_str()
        };
        breakdown.entry(by).or_default().add(row);
        if let Some(rest) = row.metric.strip_prefix(metric::CALLS_PREFIX)
            && let Some((operation, outcome)) = rest.rsplit_once('.')
        {
            *calls.entry((operation, outcome)).or_default() += row.count;
        }
    }
    let limit = match tenant {
        Some(tenant) => call_limit(state, tenant).await?,
        None => None,
    };
    Ok(UsageReport {
        from: rfc3339_of_hour(period.from_hour),
        to: rfc3339_of_hour(period.to_hour),
        granularity: period.granularity,
        totals,
        series: buckets
            .into_iter()
            .map(|(start, totals)| UsageBucket {
                start: rfc3339_of_hour(start),
                totals,
            })
            .collect(),
        breakdown: breakdown
            .into_iter()
            .map(|(id, totals)| UsageOf {
                id: id.to_owned(),
                totals,
            })
            .collect(),
        calls: calls
            .into_iter()
            .map(|((operation, outcome), count)| CallCount {
                operation: operation.to_owned(),
                outcome: outcome.to_owned(),
                count,
            })
            .collect(),
        limit,
    })
}

async fn call_limit(state: &App, tenant: &str) -> Result<Option<CallLimit>, StoreError> {
    let own = state
        .store
        .tenant(tenant)
        .await?
        .and_then(|record| record.monthly_call_limit);
    let Some(monthly_calls) = own.or(state.usage.settings().default_monthly_call_limit) else {
        return Ok(None);
    };
    let month = month_of(unix_now() / 3600);
    let used = state.usage.stored_calls(tenant, month).await?;
    Ok(Some(CallLimit {
        monthly_calls,
        used,
        resets_at: rfc3339_of_hour(month.1),
    }))
}

/// Sets (or, with `None`, clears) a tenant's monthly call limit; the tenant as it is after.
pub async fn set_call_limit(
    state: &App,
    tenant: &str,
    monthly_calls: Option<u64>,
) -> Result<crate::store::Tenant, ApiError> {
    let mut record = state.store.tenant(tenant).await?.ok_or_else(|| {
        ApiError::new(ErrorCode::NotFound, format!("tenant `{tenant}` not found"))
    })?;
    record.monthly_call_limit = monthly_calls;
    state.store.update_tenant(&record).await?;
    state.usage.forget_quota(tenant);
    let _ = state
        .store
        .audit(
            Some(tenant),
            "admin",
            "tenant.usage_limit",
            tenant,
            serde_json::json!({ "monthly_calls": monthly_calls }),
        )
        .await;
    Ok(record)
}
