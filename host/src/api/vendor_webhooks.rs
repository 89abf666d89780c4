//! Vendor webhooks: the public receiver `POST /webhooks/v1/{connector}/{route}` (no API key:
//! the signature is the authentication), and a connection's vendor-side subscriptions at
//! `/api/v1/connections/{id}/webhooks`. Thin: the use cases are in `crate::vendor_webhooks`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::extract::{ApiJson, ApiPath};
use super::openapi::{ErrorEnvelope, ErrorResponses, Success};
use super::{ApiError, App, Envelope, ErrorCode};
use crate::app::audit::audit;
use crate::app::callers::TenantCaller;
use crate::source_limit::PeerAddr;
use crate::store::WebhookRegistration;
use crate::vendor_webhooks::{self, NewWebhook, Refusal};

/// A vendor-side subscription as the API shows it (without its route token).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    pub id: String,
    pub connection_id: String,
    pub connector: String,
    /// The vendor's id of the subscription.
    pub vendor_id: String,
    pub container_id: Option<String>,
    pub events: Vec<String>,
    pub expires_at: Option<String>,
    pub created_at: String,
}

impl From<WebhookRegistration> for WebhookView {
    fn from(r: WebhookRegistration) -> Self {
        Self {
            id: r.id,
            connection_id: r.connection,
            connector: r.connector,
            vendor_id: r.vendor_id,
            container_id: r.container_id,
            events: r.events,
            expires_at: r.expires_at,
            created_at: r.created_at,
        }
    }
}

fn refusal(error: Refusal) -> ApiError {
    let message = error.to_string();
    match error {
        Refusal::UnknownConnector | Refusal::UnknownRoute => {
            ApiError::new(ErrorCode::NotFound, message)
        }
        Refusal::TooLarge(_) => {
            ApiError::new(ErrorCode::Validation, message).with_status(StatusCode::PAYLOAD_TOO_LARGE)
        }
        Refusal::Throttled | Refusal::SourceThrottled => {
            let mut error = ApiError::new(ErrorCode::RateLimited, message);
            error.retry_after_secs = Some(1);
            error
        }
        Refusal::Unverified(_) => ApiError::new(ErrorCode::Unauthorized, message),
        Refusal::Store(error) => error.into(),
    }
}

/// `POST /webhooks/v1/{connector}/{route}`: a vendor's delivery.
#[utoipa::path(post, path = "/webhooks/v1/{connector}/{route}", tag = "webhooks", params(("connector" = String, Path), ("route" = String, Path, description = "the registration's route token, or `app` for app-signed vendors")), request_body(content = String, description = "the payload as the vendor signed it", content_type = "application/json"), responses((status = 200, description = "verified and processed (or the vendor's expected reply)"), (status = 202, description = "verified and queued"), (status = 401, description = "UNAUTHORIZED: missing, wrong or stale signature", body = ErrorEnvelope), (status = 404, description = "unknown connector or route (also for a path the host could not have handed out)", body = ErrorEnvelope), (status = 413, description = "body too large", body = ErrorEnvelope), (status = 429, description = "too many requests from this address, or too many verified deliveries on this route", body = ErrorEnvelope), ErrorResponses))]
pub async fn receive(
    State(state): State<App>,
    PeerAddr(source): PeerAddr,
    Path((connector, route)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let pairs: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let received = vendor_webhooks::receive(
        &state.vendor_webhooks,
        source,
        &connector,
        &route,
        pairs,
        &body,
    )
    .await
    .map_err(refusal)?;
    let status = StatusCode::from_u16(received.status).unwrap_or(StatusCode::OK);
    let content_type = HeaderValue::from_str(&received.content_type)
        .unwrap_or(HeaderValue::from_static("application/json"));
    Ok((
        status,
        [(header::CONTENT_TYPE, content_type)],
        received.body,
    )
        .into_response())
}

/// `POST /api/v1/connections/{id}/webhooks`.
#[utoipa::path(post, path = "/api/v1/connections/{id}/webhooks", tag = "webhooks", params(("id" = String, Path, description = "connection id")), request_body = NewWebhook, responses((status = 201, description = "the subscription, created at the vendor", body = Success<WebhookView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn register(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NewWebhook>,
) -> Result<Envelope<WebhookView>, ApiError> {
    let registration =
        vendor_webhooks::register(&state.vendor_webhooks, &caller.tenant, &id, body).await?;
    audit(
        &state,
        &caller,
        "webhook.register",
        &registration.id,
        serde_json::Value::Null,
    )
    .await;
    Ok(Envelope::created(registration.into()))
}

/// `GET /api/v1/connections/{id}/webhooks`.
#[utoipa::path(get, path = "/api/v1/connections/{id}/webhooks", tag = "webhooks", params(("id" = String, Path, description = "connection id")), responses((status = 200, description = "the connection's vendor-side subscriptions", body = Success<Vec<WebhookView>>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn list(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Envelope<Vec<WebhookView>>, ApiError> {
    crate::connection::load(&state, &caller.tenant, &id).await?;
    let registrations = state.store.registrations(&caller.tenant, &id).await?;
    Ok(Envelope::ok(
        registrations.into_iter().map(Into::into).collect(),
    ))
}

/// `DELETE /api/v1/connections/{id}/webhooks/{wid}`.
#[utoipa::path(delete, path = "/api/v1/connections/{id}/webhooks/{wid}", tag = "webhooks", params(("id" = String, Path, description = "connection id"), ("wid" = String, Path, description = "webhook id")), responses((status = 200, description = "removed at the vendor and here", body = Success<serde_json::Value>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn unregister(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath((id, wid)): ApiPath<(String, String)>,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    vendor_webhooks::unregister(&state.vendor_webhooks, &caller.tenant, &id, &wid).await?;
    audit(
        &state,
        &caller,
        "webhook.unregister",
        &wid,
        serde_json::Value::Null,
    )
    .await;
    Ok(Envelope::ok(json!({"id": wid, "deleted": true})))
}
