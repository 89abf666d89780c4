//! The use cases of webhook endpoints, checked: what the REST handlers run.

use serde::Deserialize;
use tokio::sync::Notify;

use super::TenantWebhooks;
use super::destination::{self, DestinationError};
use super::signing;
use crate::error::{ApiError, ErrorCode};
use crate::store::{
    DeliveryRecord, DeliveryStatus, EndpointRecord, EndpointSecrets, EventType, OutboxEvent,
    now_rfc3339, unix_now_ms,
};

/// Longest description.
const MAX_DESCRIPTION: usize = 500;

/// `POST /api/v1/webhook-endpoints`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    /// Where deliveries go: `https://...`.
    pub url: String,
    /// Event types to deliver (`records.changed`, ...); `["*"]` for all of them.
    pub events: Vec<String>,
    /// A note for the tenant.
    pub description: Option<String>,
}

/// `PATCH /api/v1/webhook-endpoints/{id}`: fields left out stay. `enabled: true` re-enables
/// an endpoint a 410 disabled, and closes its breaker.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointPatch {
    /// A new URL, checked like a new one.
    pub url: Option<String>,
    /// New event types.
    pub events: Option<Vec<String>>,
    /// A new note.
    pub description: Option<String>,
    /// Enable or disable it.
    pub enabled: Option<bool>,
}

fn destination_error(error: DestinationError) -> ApiError {
    match error {
        DestinationError::Invalid(message) => ApiError::new(ErrorCode::Validation, message),
        DestinationError::Denied(message) => ApiError::new(ErrorCode::EgressDenied, message),
    }
}

async fn checked_url(state: &TenantWebhooks, url: &str) -> Result<String, ApiError> {
    let allow_private = state.settings.allow_private_endpoints;
    let parsed = destination::parse(url, allow_private).map_err(destination_error)?;
    destination::check(&parsed, allow_private)
        .await
        .map_err(destination_error)?;
    Ok(parsed.to_string())
}

fn event_types(names: &[String]) -> Result<Vec<EventType>, ApiError> {
    if names.iter().any(|n| n == "*") {
        return Ok(EventType::SUBSCRIBABLE.to_vec());
    }
    if names.is_empty() {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "events must name at least one event type (or `*`)",
        ));
    }
    let mut types = Vec::new();
    for name in names {
        let kind = EventType::subscribable(name).ok_or_else(|| {
            let known: Vec<&str> = EventType::SUBSCRIBABLE.iter().map(|k| k.as_str()).collect();
            ApiError::new(
                ErrorCode::Validation,
                format!("unknown event type `{name}`; known: {}", known.join(", ")),
            )
        })?;
        if !types.contains(&kind) {
            types.push(kind);
        }
    }
    Ok(types)
}

fn description(text: Option<String>) -> Result<Option<String>, ApiError> {
    match text {
        Some(text) if text.chars().count() > MAX_DESCRIPTION => Err(ApiError::new(
            ErrorCode::Validation,
            format!("description must be at most {MAX_DESCRIPTION} characters"),
        )),
        other => Ok(other),
    }
}

fn endpoint_not_found(id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("webhook endpoint `{id}` not found"),
    )
}

fn internal(error: anyhow::Error) -> ApiError {
    ApiError::new(ErrorCode::InternalError, error.to_string())
}

/// The tenant's endpoint, or 404 (another tenant's answers the same).
pub async fn load(
    state: &TenantWebhooks,
    tenant: &str,
    id: &str,
) -> Result<EndpointRecord, ApiError> {
    state
        .store
        .endpoint(tenant, id)
        .await?
        .ok_or_else(|| endpoint_not_found(id))
}

/// Registers an endpoint; returns it with its secret (shown this once).
pub async fn create(
    state: &TenantWebhooks,
    tenant: &str,
    new: NewEndpoint,
) -> Result<(EndpointRecord, String), ApiError> {
    let events = event_types(&new.events)?;
    let description = description(new.description)?;
    let max = state.settings.max_endpoints_per_tenant;
    if state.store.endpoints(tenant).await?.len() >= max {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("a tenant may have {max} webhook endpoints"),
        ));
    }
    let url = checked_url(state, &new.url).await?;
    let secret = signing::new_secret().map_err(internal)?;
    let now = now_rfc3339();
    let endpoint = EndpointRecord {
        id: format!("we_{}", uuid::Uuid::new_v4().simple()),
        tenant: tenant.to_owned(),
        url,
        events,
        description,
        enabled: true,
        disabled_reason: None,
        created_at: now.clone(),
        updated_at: now,
        consecutive_failures: 0,
        breaker_open_until_ms: None,
    };
    let secrets = EndpointSecrets {
        current: secret.clone(),
        previous: None,
        previous_until_ms: None,
    };
    state.store.create_endpoint(&endpoint, &secrets).await?;
    Ok((endpoint, secret))
}

/// Changes an endpoint.
pub async fn patch(
    state: &TenantWebhooks,
    tenant: &str,
    id: &str,
    patch: EndpointPatch,
) -> Result<EndpointRecord, ApiError> {
    load(state, tenant, id).await?;
    let url = match &patch.url {
        Some(url) => Some(checked_url(state, url).await?),
        None => None,
    };
    let events = patch.events.as_deref().map(event_types).transpose()?;
    let description = description(patch.description)?;
    let now = now_rfc3339();
    state
        .store
        .update_endpoint(tenant, id, |endpoint| {
            if let Some(url) = &url {
                endpoint.url = url.clone();
            }
            if let Some(events) = &events {
                endpoint.events = events.clone();
            }
            if let Some(text) = &description {
                endpoint.description = Some(text.clone());
            }
            match patch.enabled {
                Some(true) => {
                    endpoint.enabled = true;
                    endpoint.disabled_reason = None;
                    endpoint.consecutive_failures = 0;
                    endpoint.breaker_open_until_ms = None;
                }
                Some(false) => {
                    endpoint.enabled = false;
                    endpoint.disabled_reason = Some("disabled by the tenant".into());
                }
                None => {}
            }
            endpoint.updated_at = now.clone();
        })
        .await?
        .ok_or_else(|| endpoint_not_found(id))
}

/// Deletes an endpoint with its secrets and deliveries.
pub async fn delete(state: &TenantWebhooks, tenant: &str, id: &str) -> Result<(), ApiError> {
    load(state, tenant, id).await?;
    state.store.delete_endpoint(tenant, id).await?;
    Ok(())
}

/// A new secret; the previous one keeps signing too for `rotation_overlap`. Returns the new
/// secret (shown this once) and until when the old one signs.
pub async fn rotate_secret(
    state: &TenantWebhooks,
    tenant: &str,
    id: &str,
) -> Result<(String, u64), ApiError> {
    load(state, tenant, id).await?;
    let old = state.store.endpoint_secrets(tenant, id).await?;
    let secret = signing::new_secret().map_err(internal)?;
    let until = unix_now_ms() + state.settings.rotation_overlap.as_millis() as u64;
    let secrets = EndpointSecrets {
        current: secret.clone(),
        previous: Some(old.current),
        previous_until_ms: Some(until),
    };
    state
        .store
        .put_endpoint_secrets(tenant, id, &secrets)
        .await?;
    let now = now_rfc3339();
    state
        .store
        .update_endpoint(tenant, id, |endpoint| endpoint.updated_at = now.clone())
        .await?;
    Ok((secret, until))
}

/// Queues a `webhook.test` delivery to the endpoint.
pub async fn send_test(
    state: &TenantWebhooks,
    wake: &Notify,
    tenant: &str,
    id: &str,
) -> Result<DeliveryRecord, ApiError> {
    let endpoint = load(state, tenant, id).await?;
    let now = unix_now_ms();
    let event = OutboxEvent {
        seq: 0,
        tenant: tenant.to_owned(),
        kind: EventType::WebhookTest,
        data: serde_json::json!({"endpoint_id": endpoint.id, "message": "a test event from connector-host"}),
        created_at: now_rfc3339(),
    };
    let record = DeliveryRecord::new(
        state.store.next_delivery_id().await?,
        &endpoint,
        &event,
        now,
    );
    state.store.queue_delivery(&record, now).await?;
    wake.notify_one();
    Ok(record)
}

/// Sends a delivery again, with its `webhook-id` (receivers deduplicate by it); a delivery
/// still pending answers 409.
pub async fn replay(
    state: &TenantWebhooks,
    wake: &Notify,
    tenant: &str,
    endpoint: &str,
    delivery: &str,
) -> Result<DeliveryRecord, ApiError> {
    load(state, tenant, endpoint).await?;
    let mut record = state
        .store
        .delivery(tenant, endpoint, delivery)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("delivery `{delivery}` not found"),
            )
        })?;
    if record.status == DeliveryStatus::Pending {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("delivery `{delivery}` is still pending"),
        ));
    }
    let now = unix_now_ms();
    record.status = DeliveryStatus::Pending;
    record.next_attempt_at_ms = Some(now);
    state.store.save_delivery(None, &record, Some(now)).await?;
    wake.notify_one();
    Ok(record)
}
