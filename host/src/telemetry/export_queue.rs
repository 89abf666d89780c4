//! The span processor: finished spans go into a bounded queue and one task sends them in
//! batches. The SDK's `BatchSpanProcessor` does the same on its own thread but keeps its drop
//! count to itself (it logs it at shutdown); operators need it as a metric while the collector
//! is down, so this processor counts every span it could not send
//! (`telemetry_spans_dropped_total{reason}`) and every one it sent
//! (`telemetry_spans_exported_total`). Memory stays bounded: at most `max_queued_spans`
//! waiting plus one batch in flight, whatever the collector does.

use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter, SpanProcessor};
use tokio::sync::{mpsc, watch};

/// Queue and batch sizes, and the export deadlines.
#[derive(Debug, Clone, Copy)]
pub struct QueueLimits {
    /// Finished spans waiting; more are dropped.
    pub max_queued: usize,
    /// Most spans per export.
    pub max_batch: usize,
    /// Longest a span waits for its batch to fill.
    pub delay: Duration,
    /// Longest one export may take.
    pub timeout: Duration,
}

/// Feeds the export task; cheap to call from any thread (one `try_send`).
#[derive(Debug)]
pub struct ExportQueue {
    sender: mpsc::Sender<SpanData>,
    closing: watch::Sender<bool>,
    worker: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl ExportQueue {
    /// Starts the export task on the current tokio runtime.
    pub fn start<E: SpanExporter + 'static>(exporter: E, limits: QueueLimits) -> Self {
        let (sender, receiver) = mpsc::channel(limits.max_queued.max(1));
        let (closing, close_signal) = watch::channel(false);
        let worker = tokio::spawn(export_loop(exporter, receiver, close_signal, limits));
        Self {
            sender,
            closing,
            worker: std::sync::Mutex::new(Some(worker)),
        }
    }

    /// A handle that ends the export task: what is queued is sent (within `deadline`), then
    /// it stops.
    pub fn closer(&self) -> QueueCloser {
        QueueCloser {
            closing: self.closing.clone(),
            worker: self.worker.lock().ok().and_then(|mut worker| worker.take()),
        }
    }
}

/// Ends the export task (see [`ExportQueue::closer`]).
pub struct QueueCloser {
    closing: watch::Sender<bool>,
    worker: Option<tokio::task::JoinHandle<()>>,
}

impl QueueCloser {
    /// Sends what is queued, for at most `deadline`, and stops the task.
    pub async fn close(self, deadline: Duration) {
        self.closing.send_replace(true);
        if let Some(worker) = self.worker
            && tokio::time::timeout(deadline, worker).await.is_err()
        {
            tracing::warn!("telemetry: spans still queued at shutdown were not sent");
        }
    }
}

fn dropped(reason: &'static str, spans: usize) {
    metrics::counter!("telemetry_spans_dropped_total", "reason" => reason).increment(spans as u64);
}

impl SpanProcessor for ExportQueue {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &opentelemetry::Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        match self.sender.try_send(span) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => dropped("queue_full", 1),
            Err(mpsc::error::TrySendError::Closed(_)) => dropped("shut_down", 1),
        }
    }

    /// Nothing to do synchronously: the task sends on its own schedule, and a blocking flush
    /// from a runtime thread would stall it. Shutdown goes through [`QueueCloser::close`].
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        if self.closing.send_replace(true) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        Ok(())
    }
}

/// Resolves once closing (the guard `wait_for` answers is not held across an await).
async fn closed(closing: &mut watch::Receiver<bool>) {
    let _ = closing.wait_for(|closing| *closing).await;
}

/// Waits for a first span, gathers more until the batch is full or `delay` passed, sends.
/// Once closing, the queue takes no more spans (they count as `shut_down`); what it holds is
/// still sent, then the task ends.
async fn export_loop<E: SpanExporter>(
    exporter: E,
    mut receiver: mpsc::Receiver<SpanData>,
    mut closing: watch::Receiver<bool>,
    limits: QueueLimits,
) {
    let max = limits.max_batch.max(1);
    let mut batch = Vec::with_capacity(max);
    loop {
        let received = tokio::select! {
            received = receiver.recv_many(&mut batch, max) => received,
            () = closed(&mut closing) => {
                receiver.close();
                receiver.recv_many(&mut batch, max).await
            }
        };
        if received == 0 {
            return;
        }
        let deadline = tokio::time::Instant::now() + limits.delay;
        while batch.len() < max && !*closing.borrow() {
            let room = max - batch.len();
            let more = tokio::select! {
                more = tokio::time::timeout_at(deadline, receiver.recv_many(&mut batch, room)) => more,
                () = closed(&mut closing) => break,
            };
            match more {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        let spans = batch.len();
        let sent =
            tokio::time::timeout(limits.timeout, exporter.export(std::mem::take(&mut batch))).await;
        match sent {
            Ok(Ok(())) => {
                metrics::counter!("telemetry_spans_exported_total").increment(spans as u64);
            }
            Ok(Err(error)) => {
                dropped("export_failed", spans);
                tracing::debug!(%error, spans, "telemetry: export failed");
            }
            Err(_elapsed) => dropped("export_timeout", spans),
        }
        batch = Vec::with_capacity(max);
    }
}
