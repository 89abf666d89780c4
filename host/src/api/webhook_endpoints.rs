//! `/api/v1/webhook-endpoints`: where a tenant's events are delivered, signed as Standard
//! Webhooks describes, with each endpoint's delivery log. Thin: the use cases are in
//! `crate::tenant_webhooks`.

use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::extract::{ApiJson, ApiPath};
use super::openapi::{ErrorEnvelope, ErrorResponses, Success};
use super::{ApiError, App, Envelope, ErrorCode};
use crate::app::audit::audit;
use crate::app::callers::TenantCaller;
use crate::store::{
    DeliveryAttempt, DeliveryRecord, DeliveryStatus, EndpointRecord, EventType, rfc3339_of_ms,
};
use crate::tenant_webhooks::{self, EndpointPatch, NewEndpoint};

/// An endpoint as the API shows it; the secret only when it is made.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EndpointView {
    pub id: String,
    pub url: String,
    pub events: Vec<EventType>,
    pub description: Option<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Failed attempts in a row.
    pub consecutive_failures: u32,
    /// While set, deliveries wait for the breaker to close (RFC 3339).
    pub breaker_open_until: Option<String>,
    /// `whsec_...`: returned by create and rotate only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl EndpointView {
    fn of(endpoint: EndpointRecord, secret: Option<String>) -> Self {
        Self {
            id: endpoint.id,
            url: endpoint.url,
            events: endpoint.events,
            description: endpoint.description,
            enabled: endpoint.enabled,
            disabled_reason: endpoint.disabled_reason,
            created_at: endpoint.created_at,
            updated_at: endpoint.updated_at,
            consecutive_failures: endpoint.consecutive_failures,
            breaker_open_until: endpoint.breaker_open_until_ms.map(rfc3339_of_ms),
            secret,
        }
    }
}

/// A delivery as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    /// The `webhook-id` of every attempt.
    pub id: String,
    pub endpoint_id: String,
    pub event_type: EventType,
    pub status: DeliveryStatus,
    pub attempts: Vec<DeliveryAttempt>,
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
    /// The body sent.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

impl From<DeliveryRecord> for DeliveryView {
    fn from(record: DeliveryRecord) -> Self {
        Self {
            payload: serde_json::from_str(&record.body).unwrap_or(serde_json::Value::Null),
            id: record.id,
            endpoint_id: record.endpoint_id,
            event_type: record.event_type,
            status: record.status,
            attempts: record.attempts,
            next_attempt_at: record.next_attempt_at_ms.map(rfc3339_of_ms),
            created_at: record.created_at,
            delivered_at: record.delivered_at,
        }
    }
}

#[derive(Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// A delivery id: deliveries made before it (the page cursor).
    pub cursor: Option<String>,
    /// Default 25, at most 100.
    pub limit: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveriesPage {
    pub entries: Vec<DeliveryView>,
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/webhook-endpoints`.
#[utoipa::path(post, path = "/api/v1/webhook-endpoints", tag = "webhooks", request_body = NewEndpoint, responses((status = 201, description = "the endpoint with its secret, shown once", body = Success<EndpointView>), (status = 403, description = "EGRESS_DENIED: the URL resolves to a refused address", body = ErrorEnvelope), ErrorResponses), security(("tenant_key" = [])))]
pub async fn create(
    State(state): State<App>,
    caller: TenantCaller,
    ApiJson(body): ApiJson<NewEndpoint>,
) -> Result<Envelope<EndpointView>, ApiError> {
    let (endpoint, secret) =
        tenant_webhooks::create(&state.tenant_webhooks, &caller.tenant, body).await?;
    audit(
        &state,
        &caller,
        "webhook_endpoint.create",
        &endpoint.id,
        serde_json::Value::Null,
    )
    .await;
    Ok(Envelope::created(EndpointView::of(endpoint, Some(secret))))
}

/// `GET /api/v1/webhook-endpoints`.
#[utoipa::path(get, path = "/api/v1/webhook-endpoints", tag = "webhooks", responses((status = 200, description = "the tenant's endpoints", body = Success<Vec<EndpointView>>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn list(
    State(state): State<App>,
    caller: TenantCaller,
) -> Result<Envelope<Vec<EndpointView>>, ApiError> {
    let endpoints = state.store.endpoints(&caller.tenant).await?;
    Ok(Envelope::ok(
        endpoints
            .into_iter()
            .map(|e| EndpointView::of(e, None))
            .collect(),
    ))
}

/// `GET /api/v1/webhook-endpoints/{eid}`.
#[utoipa::path(get, path = "/api/v1/webhook-endpoints/{eid}", tag = "webhooks", params(("eid" = String, Path, description = "endpoint id")), responses((status = 200, description = "one endpoint", body = Success<EndpointView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn get(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(eid): ApiPath<String>,
) -> Result<Envelope<EndpointView>, ApiError> {
    let endpoint = tenant_webhooks_load(&state, &caller, &eid).await?;
    Ok(Envelope::ok(EndpointView::of(endpoint, None)))
}

/// `PATCH /api/v1/webhook-endpoints/{eid}`.
#[utoipa::path(patch, path = "/api/v1/webhook-endpoints/{eid}", tag = "webhooks", params(("eid" = String, Path, description = "endpoint id")), request_body = EndpointPatch, responses((status = 200, description = "the endpoint", body = Success<EndpointView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn patch(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(eid): ApiPath<String>,
    ApiJson(body): ApiJson<EndpointPatch>,
) -> Result<Envelope<EndpointView>, ApiError> {
    let endpoint =
        tenant_webhooks::patch(&state.tenant_webhooks, &caller.tenant, &eid, body).await?;
    audit(
        &state,
        &caller,
        "webhook_endpoint.update",
        &eid,
        serde_json::Value::Null,
    )
    .await;
    Ok(Envelope::ok(EndpointView::of(endpoint, None)))
}

/// `DELETE /api/v1/webhook-endpoints/{eid}`.
#[utoipa::path(delete, path = "/api/v1/webhook-endpoints/{eid}", tag = "webhooks", params(("eid" = String, Path, description = "endpoint id")), responses((status = 200, description = "deleted with its secrets and deliveries", body = Success<serde_json::Value>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn delete(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(eid): ApiPath<String>,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    tenant_webhooks::delete(&state.tenant_webhooks, &caller.tenant, &eid).await?;
    audit(
        &state,
        &caller,
        "webhook_endpoint.delete",
        &eid,
        serde_json::Value::Null,
    )
    .await;
    Ok(Envelope::ok(json!({"id": eid, "deleted": true})))
}

/// `POST /api/v1/webhook-endpoints/{eid}/rotate-secret`.
#[utoipa::path(post, path = "/api/v1/webhook-endpoints/{eid}/rotate-secret", tag = "webhooks", params(("eid" = String, Path, description = "endpoint id")), responses((status = 200, description = "the new secret; deliveries carry both signatures until `previous_valid_until`", body = Success<serde_json::Value>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn rotate(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(eid): ApiPath<String>,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    let (secret, until) =
        tenant_webhooks::rotate_secret(&state.tenant_webhooks, &caller.tenant, &eid).await?;
    audit(
        &state,
        &caller,
        "webhook_endpoint.rotate_secret",
        &eid,
        serde_json::Value::Null,
    )
    .await;
    Ok(Envelope::ok(
        json!({"id": eid, "secret": secret, "previous_valid_until": rfc3339_of_ms(until)}),
    ))
}

/// `POST /api/v1/webhook-endpoints/{eid}/test`.
#[utoipa::path(post, path = "/api/v1/webhook-endpoints/{eid}/test", tag = "webhooks", params(("eid" = String, Path, description = "endpoint id")), responses((status = 202, description = "a `webhook.test` delivery, queued", body = Success<DeliveryView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn test(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(eid): ApiPath<String>,
) -> Result<Envelope<DeliveryView>, ApiError> {
    let record = tenant_webhooks::send_test(
        &state.tenant_webhooks,
        &state.background.deliveries,
        &caller.tenant,
        &eid,
    )
    .await?;
    Ok(Envelope {
        served_by: None,
        data: record.into(),
        status: axum::http::StatusCode::ACCEPTED,
    })
}

/// `GET /api/v1/webhook-endpoints/{eid}/deliveries`.
#[utoipa::path(get, path = "/api/v1/webhook-endpoints/{eid}/deliveries", tag = "webhooks", params(("eid" = String, Path, description = "endpoint id"), DeliveriesQuery), responses((status = 200, description = "deliveries, newest first, with every attempt", body = Success<DeliveriesPage>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn deliveries(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath(eid): ApiPath<String>,
    Query(query): Query<DeliveriesQuery>,
) -> Result<Envelope<DeliveriesPage>, ApiError> {
    tenant_webhooks_load(&state, &caller, &eid).await?;
    let limit = crate::app::resources::limit(query.limit)? as usize;
    let entries = state
        .store
        .deliveries(&caller.tenant, &eid, query.cursor.as_deref(), limit)
        .await?;
    let next_cursor = (entries.len() == limit)
        .then(|| entries.last().map(|d| d.id.clone()))
        .flatten();
    Ok(Envelope::ok(DeliveriesPage {
        entries: entries.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

/// `GET /api/v1/webhook-endpoints/{eid}/deliveries/{did}`.
#[utoipa::path(get, path = "/api/v1/webhook-endpoints/{eid}/deliveries/{did}", tag = "webhooks", params(("eid" = String, Path, description = "endpoint id"), ("did" = String, Path, description = "delivery id")), responses((status = 200, description = "one delivery", body = Success<DeliveryView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn delivery(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath((eid, did)): ApiPath<(String, String)>,
) -> Result<Envelope<DeliveryView>, ApiError> {
    tenant_webhooks_load(&state, &caller, &eid).await?;
    let record = state
        .store
        .delivery(&caller.tenant, &eid, &did)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("delivery `{did}` not found")))?;
    Ok(Envelope::ok(record.into()))
}

/// `POST /api/v1/webhook-endpoints/{eid}/deliveries/{did}/replay`.
#[utoipa::path(post, path = "/api/v1/webhook-endpoints/{eid}/deliveries/{did}/replay", tag = "webhooks", params(("eid" = String, Path, description = "endpoint id"), ("did" = String, Path, description = "delivery id")), responses((status = 202, description = "queued again with the same webhook-id", body = Success<DeliveryView>), ErrorResponses), security(("tenant_key" = [])))]
pub async fn replay(
    State(state): State<App>,
    caller: TenantCaller,
    ApiPath((eid, did)): ApiPath<(String, String)>,
) -> Result<Envelope<DeliveryView>, ApiError> {
    let record = tenant_webhooks::replay(
        &state.tenant_webhooks,
        &state.background.deliveries,
        &caller.tenant,
        &eid,
        &did,
    )
    .await?;
    audit(
        &state,
        &caller,
        "webhook_delivery.replay",
        &did,
        serde_json::Value::Null,
    )
    .await;
    Ok(Envelope {
        served_by: None,
        data: record.into(),
        status: axum::http::StatusCode::ACCEPTED,
    })
}

async fn tenant_webhooks_load(
    state: &App,
    caller: &TenantCaller,
    eid: &str,
) -> Result<EndpointRecord, ApiError> {
    tenant_webhooks::load(&state.tenant_webhooks, &caller.tenant, eid).await
}
