//! The dispatcher: fans the outbox's events out to subscribed endpoints, then makes the due
//! attempts. Each endpoint is served by a task of its own (up to `concurrency` at once, and
//! `concurrency_per_tenant` of one tenant), one endpoint's deliveries in due order, one at a
//! time, so an open breaker holds back the rest of them at once. The loop never waits for an
//! endpoint: a slow receiver holds its own task, not a round that other tenants' deliveries
//! wait behind; and answers slower than `slow_answer` count towards its breaker.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, oneshot};
use tokio::task::JoinSet;

use super::backoff;
use super::destination;
use super::settings::WebhookSettings;
use super::signing;
use crate::background_task::BackgroundTask;
use crate::store::{
    DeliveryAttempt, DeliveryRecord, DeliveryStatus, DueDelivery, Store, StoreError, now_rfc3339,
    unix_now_ms,
};

/// Outbox events fanned out per round.
const FAN_OUT_BATCH: usize = 200;
/// Bytes of a receiver's answer read (and dropped): enough to reuse the connection.
const MAX_ANSWER_BYTES: usize = 64 << 10;
/// Due deliveries of one endpoint taken into one task; the rest wait for its next turn.
const PER_ENDPOINT_BATCH: usize = 16;
/// Queue entries looked at per round at most, so a backlog costs a bounded read.
const QUEUE_SCAN: usize = 10_000;

/// The running dispatcher; [`Dispatcher::stop`] ends it.
pub struct Dispatcher(BackgroundTask);

impl Dispatcher {
    /// Starts delivering from `store`.
    pub fn start(
        store: Store,
        usage: crate::usage::UsageMeter,
        settings: WebhookSettings,
        wake: Arc<Notify>,
    ) -> anyhow::Result<Self> {
        let client = destination::client(settings.allow_private_endpoints, settings.timeout)?;
        let worker = Arc::new(Worker {
            slots: Arc::new(Semaphore::new(settings.concurrency.max(1))),
            store,
            usage,
            settings,
            client,
            busy: Mutex::default(),
        });
        Ok(Self(BackgroundTask::spawn(|stopped| {
            worker.serve(wake, stopped)
        })))
    }

    /// Stops after the attempts in flight (a delivery stopped mid-attempt is retried after a
    /// restart: it is still queued).
    pub async fn stop(self) {
        self.0.stop().await;
    }
}

struct Worker {
    store: Store,
    /// Counts the deliveries each tenant's endpoints accepted.
    usage: crate::usage::UsageMeter,
    settings: WebhookSettings,
    client: reqwest::Client,
    /// One per endpoint being delivered to.
    slots: Arc<Semaphore>,
    /// The endpoints being delivered to, and how many of each tenant's.
    busy: Mutex<Busy>,
}

#[derive(Default)]
struct Busy {
    endpoints: HashSet<(String, String)>,
    per_tenant: HashMap<String, usize>,
}

impl Worker {
    fn busy(&self) -> std::sync::MutexGuard<'_, Busy> {
        self.busy
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What one attempt came to.
enum Answer {
    Delivered,
    /// 410: the receiver wants nothing more.
    Gone,
    /// Try again after the receiver's `Retry-After`, or the backoff.
    Retry(Option<Duration>),
}

impl Worker {
    async fn serve(self: Arc<Self>, wake: Arc<Notify>, mut stopped: oneshot::Receiver<()>) {
        let mut ticker = tokio::time::interval(self.settings.tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut endpoints = JoinSet::new();
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                _ = ticker.tick() => {}
                _ = wake.notified() => {}
                // An endpoint's turn ended: its next deliveries may be due.
                Some(_) = endpoints.join_next(), if !endpoints.is_empty() => {}
            }
            while endpoints.try_join_next().is_some() {}
            let round = async {
                if let Err(error) = self.fan_out().await {
                    tracing::warn!(%error, "could not fan webhook events out");
                }
                if let Err(error) = self.start_due(&mut endpoints).await {
                    tracing::warn!(%error, "could not read due webhook deliveries");
                }
            };
            tokio::select! {
                _ = &mut stopped => break,
                _ = round => {}
            }
        }
        // Attempts cut short stay queued and are made again after a restart.
        endpoints.shutdown().await;
    }

    async fn fan_out(&self) -> Result<(), StoreError> {
        loop {
            let events = self.store.outbox_events(FAN_OUT_BATCH).await?;
            if events.is_empty() {
                return Ok(());
            }
            for event in &events {
                let endpoints = self.store.endpoints(&event.tenant).await?;
                let made = self.store.fan_out(event, &endpoints, unix_now_ms()).await?;
                metrics::counter!("webhook_deliveries_created_total").increment(made as u64);
            }
            if events.len() < FAN_OUT_BATCH {
                return Ok(());
            }
        }
    }

    /// Starts a task for each endpoint with due deliveries that is not served already, while
    /// slots and the tenant's share allow.
    async fn start_due(self: &Arc<Self>, endpoints: &mut JoinSet<()>) -> Result<(), StoreError> {
        // A copy of the endpoints being served: the lock is not held across the store's await.
        let busy = self.busy().endpoints.clone();
        let due = self
            .store
            .due_deliveries(
                unix_now_ms(),
                self.settings.concurrency * PER_ENDPOINT_BATCH,
                PER_ENDPOINT_BATCH,
                QUEUE_SCAN,
                &busy,
            )
            .await?;
        let mut by_endpoint: BTreeMap<(String, String), Vec<DueDelivery>> = BTreeMap::new();
        for entry in due {
            by_endpoint
                .entry((entry.tenant.clone(), entry.endpoint.clone()))
                .or_default()
                .push(entry);
        }
        for (key, entries) in by_endpoint {
            let Ok(permit) = self.slots.clone().try_acquire_owned() else {
                break;
            };
            {
                let mut busy = self.busy();
                let tenant_count = busy.per_tenant.get(&key.0).copied().unwrap_or(0);
                if tenant_count >= self.settings.per_tenant() {
                    continue;
                }
                busy.per_tenant.insert(key.0.clone(), tenant_count + 1);
                busy.endpoints.insert(key.clone());
            }
            let worker = self.clone();
            endpoints.spawn(async move { worker.serve_endpoint(key, entries, permit).await });
        }
        Ok(())
    }

    /// One endpoint's turn: its due deliveries in order, one at a time.
    async fn serve_endpoint(
        self: Arc<Self>,
        key: (String, String),
        entries: Vec<DueDelivery>,
        permit: OwnedSemaphorePermit,
    ) {
        // Released however the turn ends (aborted at shutdown included).
        struct Release<'a>(&'a Worker, &'a (String, String));
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                let mut busy = self.0.busy();
                busy.endpoints.remove(self.1);
                if let Some(count) = busy.per_tenant.get_mut(&self.1.0) {
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        busy.per_tenant.remove(&self.1.0);
                    }
                }
            }
        }
        let _release = Release(&self, &key);
        let _permit = permit;
        for entry in entries {
            if let Err(error) = self.attempt(&entry).await {
                tracing::warn!(%error, delivery = %entry.delivery, "webhook attempt not recorded");
            }
        }
    }

    async fn attempt(&self, due: &DueDelivery) -> Result<(), StoreError> {
        let store = &self.store;
        // Another host may have picked the same entry: one claims it, the other moves on.
        if !store.claim_delivery(due, unix_now_ms()).await? {
            return Ok(());
        }
        let Some(mut record) = store
            .delivery(&due.tenant, &due.endpoint, &due.delivery)
            .await?
        else {
            return store.drop_queue_entry(&due.queue_key).await;
        };
        if record.status != DeliveryStatus::Pending {
            return store.drop_queue_entry(&due.queue_key).await;
        }
        let now = unix_now_ms();
        let endpoint = match store.endpoint(&due.tenant, &due.endpoint).await? {
            Some(endpoint) if endpoint.enabled => endpoint,
            Some(endpoint) => {
                record.status = DeliveryStatus::Failed;
                record.next_attempt_at_ms = None;
                record.push_attempt(DeliveryAttempt {
                    at: now_rfc3339(),
                    status_code: None,
                    error: Some(format!(
                        "endpoint disabled: {}",
                        endpoint.disabled_reason.unwrap_or_default()
                    )),
                    duration_ms: 0,
                });
                return store
                    .save_delivery(Some(&due.queue_key), &record, None)
                    .await;
            }
            None => return store.drop_queue_entry(&due.queue_key).await,
        };
        if let Some(until) = endpoint.breaker_open_until_ms.filter(|until| *until > now) {
            record.next_attempt_at_ms = Some(until);
            return store
                .save_delivery(Some(&due.queue_key), &record, Some(until))
                .await;
        }
        let started = Instant::now();
        let span = crate::otel_span!(
            "webhook delivery out",
            otel.kind = "client",
            tenant.id = due.tenant.as_str(),
            webhook.endpoint.id = due.endpoint.as_str(),
            webhook.attempt = record.attempts.len() + 1,
            http.response.status_code = tracing::field::Empty,
            outcome = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        let (answer, status_code, error) =
            tracing::Instrument::instrument(self.send(&endpoint.url, &record), span.clone()).await;
        if let Some(code) = status_code {
            span.record("http.response.status_code", code);
        }
        let attempt = DeliveryAttempt {
            at: now_rfc3339(),
            status_code,
            error,
            duration_ms: started.elapsed().as_millis() as u64,
        };
        record.push_attempt(attempt);
        let failures = record
            .attempts
            .iter()
            .filter(|a| !a.status_code.is_some_and(|c| (200..300).contains(&c)))
            .count() as u32;
        let slow = started.elapsed() >= self.settings.slow_answer;
        let outcome = match answer {
            Answer::Delivered if slow => "slow",
            Answer::Delivered => "delivered",
            Answer::Gone => "gone",
            Answer::Retry(_) => "failed",
        };
        metrics::counter!("webhook_attempts_total", "outcome" => outcome).increment(1);
        span.record("outcome", outcome);
        if outcome != "delivered" {
            span.record("otel.status_code", "error");
        }
        drop(span);
        let settings = &self.settings;
        match answer {
            Answer::Delivered => {
                if slow {
                    // Done, but the receiver took most of the timeout: towards the breaker, so
                    // a receiver that is always slow gets a cooldown like one that always fails.
                    self.count_failure(due).await?;
                } else if endpoint.consecutive_failures > 0
                    || endpoint.breaker_open_until_ms.is_some()
                {
                    store
                        .update_endpoint(&due.tenant, &due.endpoint, |e| {
                            e.consecutive_failures = 0;
                            e.breaker_open_until_ms = None;
                        })
                        .await?;
                }
                record.status = DeliveryStatus::Delivered;
                self.usage
                    .add(&due.tenant, "", crate::usage::metric::WEBHOOKS_DELIVERED, 1);
                record.delivered_at = Some(now_rfc3339());
                record.next_attempt_at_ms = None;
                store
                    .save_delivery(Some(&due.queue_key), &record, None)
                    .await?;
            }
            Answer::Gone => {
                // The endpoint is disabled before the delivery is marked failed, so whoever
                // sees the failure also sees why.
                store
                    .update_endpoint(&due.tenant, &due.endpoint, |e| {
                        e.enabled = false;
                        e.disabled_reason = Some("the receiver answered 410 Gone".into());
                        e.updated_at = now_rfc3339();
                    })
                    .await?;
                record.status = DeliveryStatus::Failed;
                record.next_attempt_at_ms = None;
                store
                    .save_delivery(Some(&due.queue_key), &record, None)
                    .await?;
                tracing::info!(endpoint = %due.endpoint, "webhook endpoint disabled: its receiver answered 410");
            }
            Answer::Retry(wait) => {
                if failures >= settings.max_attempts {
                    record.status = DeliveryStatus::Failed;
                    record.next_attempt_at_ms = None;
                    store
                        .save_delivery(Some(&due.queue_key), &record, None)
                        .await?;
                } else {
                    let wait = wait.unwrap_or_else(|| backoff::delay(settings, failures));
                    let next = unix_now_ms() + wait.as_millis() as u64;
                    record.next_attempt_at_ms = Some(next);
                    store
                        .save_delivery(Some(&due.queue_key), &record, Some(next))
                        .await?;
                }
                self.count_failure(due).await?;
            }
        }
        Ok(())
    }

    /// One more failure in a row for the endpoint; its breaker opens at the threshold.
    async fn count_failure(&self, due: &DueDelivery) -> Result<(), StoreError> {
        let threshold = self.settings.breaker_threshold.max(1);
        let cooldown = self.settings.breaker_cooldown.as_millis() as u64;
        self.store
            .update_endpoint(&due.tenant, &due.endpoint, |e| {
                e.consecutive_failures = e.consecutive_failures.saturating_add(1);
                if e.consecutive_failures >= threshold {
                    e.breaker_open_until_ms = Some(unix_now_ms() + cooldown);
                }
            })
            .await
            .map(|_| ())
    }

    /// One signed POST of the record's body.
    async fn send(
        &self,
        url: &str,
        record: &DeliveryRecord,
    ) -> (Answer, Option<u16>, Option<String>) {
        let allow_private = self.settings.allow_private_endpoints;
        let parsed = match destination::parse(url, allow_private) {
            Ok(parsed) => parsed,
            Err(error) => return (Answer::Retry(None), None, Some(error.to_string())),
        };
        if let Err(error) = destination::check(&parsed, allow_private).await {
            return (Answer::Retry(None), None, Some(error.to_string()));
        }
        let secrets = match self
            .store
            .endpoint_secrets(&record.tenant, &record.endpoint_id)
            .await
        {
            Ok(secrets) => secrets,
            Err(error) => return (Answer::Retry(None), None, Some(format!("secret: {error}"))),
        };
        let timestamp = unix_now_ms() / 1000;
        let body = record.body.as_bytes();
        let signature = match signing::signature_header(
            &secrets.signing(unix_now_ms()),
            &record.id,
            timestamp,
            body,
        ) {
            Ok(signature) => signature,
            Err(error) => return (Answer::Retry(None), None, Some(error.to_string())),
        };
        let sent = self
            .client
            .post(parsed)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &record.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(record.body.clone())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                let message = if error.is_timeout() {
                    "timed out".to_owned()
                } else {
                    let error = error.without_url();
                    let mut message = error.to_string();
                    let mut source = std::error::Error::source(&error);
                    while let Some(cause) = source {
                        message = format!("{message}: {cause}");
                        source = cause.source();
                    }
                    message
                };
                return (Answer::Retry(None), None, Some(message));
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| backoff::retry_after(&self.settings, v));
        drain(response).await;
        match status {
            200..=299 => (Answer::Delivered, Some(status), None),
            410 => (Answer::Gone, Some(status), None),
            429 | 503 => (Answer::Retry(retry_after), Some(status), None),
            _ => (Answer::Retry(None), Some(status), None),
        }
    }
}

/// Reads a little of the answer, so the connection can be reused, and drops the rest.
async fn drain(mut response: reqwest::Response) {
    let mut read = 0;
    while let Ok(Some(chunk)) = response.chunk().await {
        read += chunk.len();
        if read > MAX_ANSWER_BYTES {
            break;
        }
    }
}
