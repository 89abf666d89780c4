//! `GET /api/v1/usage` (the tenant's own), `GET /admin/v1/usage` (every tenant's) and
//! `PUT /admin/v1/tenants/{tenant}/usage-limit`. Thin: the use cases are `app::usage`.

use axum::extract::State;
use serde::Deserialize;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::openapi::{ErrorResponses, Success};
use super::{ApiError, App, Envelope};
use crate::app::callers::{Admin, TenantCaller};
use crate::app::usage::{self, Period, UsageReport};
use crate::store::Tenant;

/// The period of a report.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// Start, inclusive: an RFC 3339 time or a `YYYY-MM-DD` date (UTC). Default: 30 days
    /// before `to`.
    from: Option<String>,
    /// End, exclusive, the same way. Default: the end of today (UTC).
    to: Option<String>,
    /// `hour` (at most 31 days), `day` or `month` (at most 400 days). Default: `day`.
    granularity: Option<String>,
    /// The operator's report only: one tenant. Default: every tenant.
    tenant: Option<String>,
}

impl UsageQuery {
    fn period(&self) -> Result<Period, ApiError> {
        Period::parse(
            self.from.as_deref(),
            self.to.as_deref(),
            self.granularity.as_deref(),
        )
    }
}

/// `GET /api/v1/usage`: the tenant's usage by bucket, connection and operation, and its
/// monthly call limit.
#[utoipa::path(get, path = "/api/v1/usage", tag = "usage", params(UsageQuery), responses((status = 200, description = "the tenant's usage", body = Success<UsageReport>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn tenant_usage(
    State(state): State<App>,
    caller: TenantCaller,
    ApiQuery(query): ApiQuery<UsageQuery>,
) -> Result<Envelope<UsageReport>, ApiError> {
    if query.tenant.is_some() {
        return Err(ApiError::new(
            super::ErrorCode::Validation,
            "`tenant` is for the operator's report; yours is the tenant of your key",
        ));
    }
    Ok(Envelope::ok(
        usage::report(&state, Some(&caller.tenant), query.period()?).await?,
    ))
}

/// `GET /admin/v1/usage`: every tenant's usage (or one's, with `tenant`), by tenant.
#[utoipa::path(get, path = "/admin/v1/usage", tag = "admin", params(UsageQuery), responses((status = 200, description = "usage by tenant", body = Success<UsageReport>), ErrorResponses), security(("admin_token" = [])))]
pub async fn all_usage(
    State(state): State<App>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<UsageQuery>,
) -> Result<Envelope<UsageReport>, ApiError> {
    let period = query.period()?;
    Ok(Envelope::ok(
        usage::report(&state, query.tenant.as_deref(), period).await?,
    ))
}

/// A tenant's monthly call limit.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageLimit {
    /// Plugin calls allowed per calendar month (UTC); `null` to fall back to
    /// `usage.default_monthly_call_limit`.
    monthly_calls: Option<u64>,
}

/// `PUT /admin/v1/tenants/{tenant}/usage-limit`.
#[utoipa::path(put, path = "/admin/v1/tenants/{tenant}/usage-limit", tag = "admin", params(("tenant" = String, Path)), request_body = UsageLimit, responses((status = 200, description = "the tenant with its limit", body = Success<Tenant>), ErrorResponses), security(("admin_token" = [])))]
pub async fn set_limit(
    State(state): State<App>,
    _admin: Admin,
    ApiPath(tenant): ApiPath<String>,
    ApiJson(body): ApiJson<UsageLimit>,
) -> Result<Envelope<Tenant>, ApiError> {
    Ok(Envelope::ok(
        usage::set_call_limit(&state, &tenant, body.monthly_calls).await?,
    ))
}
