//! Turns a queued, verified delivery into changes: the plugin's `webhook-event` (with the
//! connection's context when the route named it; without, for app-signed deliveries, which
//! the plugin's routing key then matches to a connection), its change events into the feed
//! with `records.changed` and `vendor.event`, the delivery off the queue, all at once. The
//! worker retries deliveries whose first processing failed.

use std::time::Duration;

use super::VendorWebhooks;
use crate::background_task::BackgroundTask;
use crate::connection::views::{CommentView, FromRecord as _, ItemView};
use crate::connection::{self, CallOptions};
use crate::runtime::wit::{self, webhooks};
use crate::runtime::{CallContext, Operation, OperationOutput};
use crate::store::{
    ChangeKind, ChangeObject, ConnectionRecord, InboundDelivery, NewChange, SYSTEM_TENANT,
    StoreError, now_rfc3339, unix_now_ms,
};

/// Why processing failed (the delivery stays queued).
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("connector `{0}` is not loaded")]
    NotLoaded(String),
    #[error("the plugin failed: {0}")]
    Plugin(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn change(event: wit::ChangeEvent) -> NewChange {
    NewChange {
        kind: match event.kind {
            wit::ChangeKind::Created => ChangeKind::Created,
            wit::ChangeKind::Updated => ChangeKind::Updated,
            wit::ChangeKind::Deleted => ChangeKind::Deleted,
        },
        object: match event.object {
            wit::ObjectKind::Container => ChangeObject::Container,
            wit::ObjectKind::Item => ChangeObject::Item,
            wit::ObjectKind::Comment => ChangeObject::Comment,
        },
        container_id: event.container_id.unwrap_or_default(),
        item_id: event.item_id.unwrap_or_default(),
        comment_id: event.comment_id,
        occurred_at: event.occurred_at.unwrap_or_else(now_rfc3339),
        sync_id: None,
        item: event
            .item
            .and_then(|item| serde_json::to_value(ItemView::from_record(item, false)).ok()),
        comment: event.comment.and_then(|comment| {
            serde_json::to_value(CommentView::from_record(comment, false)).ok()
        }),
    }
}

/// Processes one delivery; the vendor's expected reply, if any.
pub async fn process(
    state: &VendorWebhooks,
    delivery: &InboundDelivery,
) -> Result<Option<webhooks::Reply>, ProcessError> {
    let span = crate::otel_span!(
        "webhook delivery in",
        connector = delivery.connector.as_str(),
        otel.status_code = tracing::field::Empty,
    );
    let processed =
        tracing::Instrument::instrument(process_delivery(state, delivery), span.clone()).await;
    if processed.is_err() {
        span.record("otel.status_code", "error");
    }
    processed
}

/// [`process`] inside its span.
async fn process_delivery(
    state: &VendorWebhooks,
    delivery: &InboundDelivery,
) -> Result<Option<webhooks::Reply>, ProcessError> {
    let plugin = state
        .runtime
        .plugin(&delivery.connector)
        .ok_or_else(|| ProcessError::NotLoaded(delivery.connector.clone()))?;
    let vendor_delivery = webhooks::Delivery {
        headers: delivery.headers.clone(),
        body: delivery.body(),
    };
    let owner = match &delivery.route {
        Some(route) => match state
            .store
            .connection(&route.tenant, &route.connection)
            .await?
        {
            Some(record) => Some(record),
            // The connection was deleted after the delivery was queued: nothing to record.
            None => {
                state.store.take_inbound(delivery.seq).await?;
                return Ok(None);
            }
        },
        None => None,
    };
    let operation = Operation::WebhookEvent {
        delivery: vendor_delivery,
        routed: owner.is_some(),
    };
    let output = match &owner {
        Some(record) => connection::call_unsaved(
            state,
            &plugin,
            record,
            None,
            operation,
            CallOptions::default(),
        )
        .await
        .map(|answer| answer.value),
        None => {
            let context = CallContext {
                tenant: SYSTEM_TENANT.to_owned(),
                connection: "(webhook)".into(),
                ..CallContext::default()
            };
            state.runtime.call_on(&plugin, context, operation).await
        }
    };
    let outcome = match output {
        Ok(OperationOutput::Webhook(outcome)) => outcome,
        Ok(_) => {
            return Err(ProcessError::Plugin(
                "webhook-event answered something else".into(),
            ));
        }
        Err(error) => return Err(ProcessError::Plugin(error.to_string())),
    };
    let reply = outcome.reply.clone();
    let changes: Vec<NewChange> = outcome.events.into_iter().map(change).collect();
    let records: Vec<(ConnectionRecord, Vec<NewChange>)> = match owner {
        Some(record) => vec![(record, changes)],
        None => match &outcome.routing_key {
            Some(key) => routed(state, &plugin, key, changes).await?,
            None => Vec::new(),
        },
    };
    if records.is_empty() {
        // Nothing to route to (a url_verification, or a workspace no connection is for).
        state.store.take_inbound(delivery.seq).await?;
        if outcome.reply.is_none() {
            metrics::counter!("vendor_webhook_deliveries_total", "connector" => delivery.connector.clone(), "outcome" => "unrouted")
                .increment(1);
        }
        return Ok(reply);
    }
    if delivery.delivery_id.is_none()
        && let Some(id) = &outcome.delivery_id
    {
        let now = unix_now_ms();
        let window = state.settings.dedup_window.as_millis() as u64;
        if !state
            .store
            .first_delivery(
                &format!("{}/payload", delivery.connector),
                id,
                now,
                now + window,
            )
            .await?
        {
            state.store.take_inbound(delivery.seq).await?;
            metrics::counter!("vendor_webhook_deliveries_total", "connector" => delivery.connector.clone(), "outcome" => "replayed")
                .increment(1);
            return Ok(reply);
        }
    }
    let last = records.len() - 1;
    for (n, (record, changes)) in records.iter().enumerate() {
        let vendor = serde_json::json!({
            "connection_id": record.id,
            "connector": delivery.connector,
            "delivery_id": delivery.delivery_id.clone().or(outcome.delivery_id.clone()),
            "events": changes.len(),
        });
        // The delivery leaves the queue with the last connection's changes.
        let inbound = (n == last).then_some(delivery.seq);
        match state
            .store
            .append_changes(&record.tenant, &record.id, changes, vendor, inbound)
            .await
        {
            Ok(_) => state.usage.add(
                &record.tenant,
                &record.id,
                crate::usage::metric::WEBHOOKS_RECEIVED,
                1,
            ),
            // Another worker recorded this delivery already.
            Err(StoreError::Conflict) => return Ok(reply),
            Err(error) => return Err(error.into()),
        }
    }
    Ok(reply)
}

/// The connections an app-signed delivery with `key` reaches, each with the changes it may
/// see. Only what the vendor itself tied to a connection counts, never its config, which a
/// tenant types: the key must be one of the values the host learned under the connection's own
/// credential (Slack's team from `auth.test`, Atlassian's site and cloud id from
/// accessible-resources). For vendors whose subscriptions the host registers (Jira's dynamic
/// webhooks), the connection must also hold a registration, and gets only the changes in the
/// containers its registrations cover.
async fn routed(
    state: &VendorWebhooks,
    plugin: &crate::runtime::Plugin,
    key: &str,
    changes: Vec<NewChange>,
) -> Result<Vec<(ConnectionRecord, Vec<NewChange>)>, StoreError> {
    let registered = plugin
        .manifest
        .webhooks
        .as_ref()
        .is_some_and(|support| support.registration);
    let mut out = Vec::new();
    for record in state.store.connections_with_value(plugin.id(), key).await? {
        if !registered {
            out.push((record, changes.clone()));
            continue;
        }
        let registrations = state
            .store
            .registrations(&record.tenant, &record.id)
            .await?;
        let covered: Vec<NewChange> = changes
            .iter()
            .filter(|change| {
                registrations.iter().any(|r| {
                    r.container_id
                        .as_deref()
                        .is_none_or(|container| container == change.container_id)
                })
            })
            .cloned()
            .collect();
        if !covered.is_empty() || (changes.is_empty() && !registrations.is_empty()) {
            out.push((record, covered));
        }
    }
    Ok(out)
}

/// Retries queued deliveries whose first processing failed or ran out of time.
pub struct InboundWorker(BackgroundTask);

impl InboundWorker {
    /// Starts the worker that retries queued deliveries.
    pub fn start(state: VendorWebhooks) -> Self {
        let wake = state.background.inbound.clone();
        Self(BackgroundTask::spawn(|mut stopped| async move {
            let mut ticker = tokio::time::interval(Duration::from_millis(500));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_sweep = std::time::Instant::now();
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = ticker.tick() => {}
                    _ = wake.notified() => {}
                }
                let round = retry_round(&state);
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = round => {}
                }
                if last_sweep.elapsed() >= Duration::from_secs(60) {
                    last_sweep = std::time::Instant::now();
                    if let Err(error) = state.store.sweep_delivery_ids(unix_now_ms()).await {
                        tracing::warn!(%error, "could not sweep webhook delivery ids");
                    }
                    // Keyed limiters forget keys whose allowance is full again, so a scan
                    // from many addresses does not grow memory for good.
                    state.inbound.prune();
                    let sources = state.sources.prune();
                    state.auth_failures.prune();
                    metrics::gauge!("unauthenticated_sources_tracked").set(sources as f64);
                }
            }
        }))
    }

    /// Stops after the round in progress.
    pub async fn stop(self) {
        self.0.stop().await;
    }
}

async fn retry_round(state: &VendorWebhooks) {
    let settings = &state.settings;
    let queued = match state.store.inbound(50).await {
        Ok(queued) => queued,
        Err(error) => {
            tracing::warn!(%error, "could not read queued webhook deliveries");
            return;
        }
    };
    // The receiver is still working on the youngest ones.
    let settle = settings.answer_within.as_millis() as u64 * 2;
    let now = unix_now_ms();
    for mut delivery in queued
        .into_iter()
        .filter(|d| d.received_at_ms + settle <= now)
    {
        match process(state, &delivery).await {
            Ok(_) => {}
            Err(error) => {
                delivery.attempts += 1;
                if delivery.attempts >= settings.max_process_attempts {
                    tracing::warn!(connector = %delivery.connector, %error, "webhook delivery dropped after its last attempt");
                    let _ = state.store.take_inbound(delivery.seq).await;
                } else if let Err(error) = state.store.put_inbound(&delivery).await {
                    tracing::warn!(%error, "could not keep a webhook delivery queued");
                }
            }
        }
    }
}
