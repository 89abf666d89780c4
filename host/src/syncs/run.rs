//! One run of a sync: lists the container's items page by page (from the stored cursor, or
//! every item on a full pass), classifies them, and commits each page's changes with the
//! checkpoint that follows it, so the cursor moves only past what is durable. A run that stops
//! early (its turn used up, rate limit, error, lost lease, crash) leaves the pass in the
//! checkpoint, and the next run resumes it at the page after the last one committed. A run
//! lists at most `max_pages_per_turn` pages or `max_turn` before yielding its slot, and a sync
//! tracks at most `max_items_per_sync` items.

use super::Syncs;
use super::classify::{self, PageDiff};
use super::settings::SyncSettings;
use crate::connection::{self, CallOptions, load};
use crate::error::{ApiError, ErrorCode};
use crate::runtime::wit::PageRequest;
use crate::runtime::{Operation, OperationOutput};
use crate::store::{
    EventType, PageCommit, PassState, RunCounts, RunRecord, RunStatus, Store, StoreError,
    SyncCheckpoint, SyncRecord, Tenure, now_rfc3339, rfc3339_of_ms, unix_now_ms,
};

/// Run records kept per sync (the newest); older ones are deleted as new runs start.
const RUNS_KEPT: usize = 100;

/// Deletions found at the end of a full pass are committed in pages of this many.
const DELETION_BATCH: usize = 500;

/// Who runs the sync, for renewing its lease.
pub struct Runner<'a> {
    pub state: &'a Syncs,
    pub settings: &'a SyncSettings,
    /// The runner's tenure of the sync's lease; every write checks it.
    pub tenure: &'a Tenure,
}

/// How a run ended, for the scheduler's log.
#[derive(Debug)]
pub struct RunOutcome {
    pub status: RunStatus,
    pub counts: RunCounts,
}

impl Runner<'_> {
    fn store(&self) -> &Store {
        &self.state.store
    }

    /// Runs `sync` once. Errors are the store's; a vendor's or plugin's error ends the run
    /// with its record saying why.
    pub async fn run(&self, sync: SyncRecord) -> Result<RunOutcome, StoreError> {
        let span = crate::otel_span!(
            "sync run",
            sync.id = sync.id.as_str(),
            tenant.id = sync.tenant.as_str(),
            connection.id = sync.connection.as_str(),
            sync.status = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        let outcome = tracing::Instrument::instrument(self.run_pages(sync), span.clone()).await;
        match &outcome {
            Ok(outcome) => {
                span.record("sync.status", outcome.status.as_str());
                if outcome.status == RunStatus::Failed {
                    span.record("otel.status_code", "error");
                }
            }
            Err(_) => {
                span.record("otel.status_code", "error");
            }
        }
        outcome
    }

    /// [`Self::run`] inside its span; each page is a child span of it.
    async fn run_pages(&self, sync: SyncRecord) -> Result<RunOutcome, StoreError> {
        let store = self.store();
        let mut checkpoint = store.sync_checkpoint(&sync).await?;
        let now = unix_now_ms();
        let run_id = store.next_run_id().await?;
        let mut pass = match checkpoint.pass.take() {
            Some(mut pass) => {
                // The run that was working on this pass did not finish it: the host stopped.
                if let Some(mut earlier) = store.run(&sync, &pass.run_id).await?
                    && earlier.status == RunStatus::Running
                {
                    earlier.status = RunStatus::Interrupted;
                    earlier.finished_at = Some(now_rfc3339());
                    store.put_run(&sync, &earlier).await?;
                }
                pass.run_id = run_id.clone();
                pass
            }
            None => {
                let full = checkpoint.updated_since.is_none()
                    || sync.last_full_pass_at_ms.is_none_or(|at| {
                        at + sync.full_pass_interval_secs.saturating_mul(1000) <= now
                    });
                PassState {
                    id: store.next_pass_id().await?,
                    started_at_ms: now,
                    full,
                    updated_since: if full {
                        None
                    } else {
                        checkpoint.updated_since.clone()
                    },
                    page_cursor: None,
                    run_id: run_id.clone(),
                }
            }
        };
        let mut run = RunRecord {
            id: run_id,
            sync_id: sync.id.clone(),
            status: RunStatus::Running,
            full_pass: pass.full,
            started_at: now_rfc3339(),
            finished_at: None,
            counts: RunCounts::default(),
            error_code: None,
            error: None,
            retry_after_ms: None,
        };
        store.put_run(&sync, &run).await?;
        store.trim_runs(&sync, RUNS_KEPT).await?;

        // A turn: the run gives its slot up after this many pages or this long, so one
        // tenant's huge (or endless) listing never holds what other tenants' syncs need.
        let turn_started = std::time::Instant::now();
        let mut pages_this_turn = 0u32;
        if checkpoint.tracked.is_none() {
            checkpoint.tracked = Some(store.seen_count(&sync).await?);
        }
        loop {
            if !self.renew_lease(&sync).await? {
                return self
                    .stop(&sync, checkpoint, pass, run, RunStatus::Interrupted, None)
                    .await;
            }
            let record = match load(self.state, &sync.tenant, &sync.connection).await {
                Ok(record) => record,
                Err(error) => {
                    return self
                        .stop(&sync, checkpoint, pass, run, RunStatus::Failed, Some(error))
                        .await;
                }
            };
            let operation = Operation::Items {
                container_id: sync.container.clone(),
                updated_since: pass.updated_since.clone(),
                page: PageRequest {
                    cursor: pass.page_cursor.clone(),
                    limit: self.settings.page_size,
                    include_raw: false,
                },
            };
            let options = CallOptions {
                background: true,
                ..CallOptions::default()
            };
            // Open until the page is committed (or the run stops on it).
            let page_span = crate::otel_span!(
                "sync page",
                sync.page.created = tracing::field::Empty,
                sync.page.updated = tracing::field::Empty,
                sync.page.deleted = tracing::field::Empty,
            );
            let answer = tracing::Instrument::instrument(
                connection::call(self.state, record, operation, options),
                page_span.clone(),
            )
            .await;
            let page = match answer.map(|(_, answer)| answer.value) {
                Ok(OperationOutput::Items(page)) => page,
                Ok(other) => {
                    let error = ApiError::new(
                        ErrorCode::PluginFault,
                        format!("the plugin answered items with {other:?}"),
                    );
                    return self
                        .stop(&sync, checkpoint, pass, run, RunStatus::Failed, Some(error))
                        .await;
                }
                Err(error) => {
                    let status = if error.code == ErrorCode::RateLimited {
                        RunStatus::RateLimited
                    } else {
                        RunStatus::Failed
                    };
                    return self
                        .stop(&sync, checkpoint, pass, run, status, Some(error))
                        .await;
                }
            };
            let next_cursor = page.next_cursor.clone();
            if next_cursor.is_some() && next_cursor == pass.page_cursor {
                // The vendor (or the connector) names the page it just served as the next one:
                // the pass would page forever, a turn at a time, and never finish.
                let error = ApiError::new(
                    ErrorCode::PluginFault,
                    "the connector answered a page whose next cursor is the same next page it \
                     was asked for: the listing would never end, so this run stops",
                );
                return self
                    .stop(&sync, checkpoint, pass, run, RunStatus::Failed, Some(error))
                    .await;
            }
            let diff = classify::classify(store, &sync, &pass, page, unix_now_ms()).await?;
            page_span.record("sync.page.created", diff.counts.created);
            page_span.record("sync.page.updated", diff.counts.updated);
            page_span.record("sync.page.deleted", diff.counts.deleted);
            let items = diff.counts.created + diff.counts.updated + diff.counts.deleted;
            let limit = self.settings.max_items_per_sync;
            let tracked = checkpoint.tracked.unwrap_or_default();
            if tracked + diff.counts.created > limit {
                // Nothing of this page is written: the checkpoint stays before it.
                let error = ApiError::new(
                    ErrorCode::Conflict,
                    format!(
                        "this sync tracks {tracked} items and the next page brings {} more; \
                         its quota is {limit} (syncs.max_items_per_sync): sync a narrower \
                         container or ask the operator for more",
                        diff.counts.created
                    ),
                )
                .with_details(serde_json::json!({
                    "quota": "max_items_per_sync", "limit": limit,
                }));
                return self
                    .stop(&sync, checkpoint, pass, run, RunStatus::Failed, Some(error))
                    .await;
            }
            checkpoint.tracked =
                Some((tracked + diff.counts.created).saturating_sub(diff.forget.len() as u64));
            pass.page_cursor = next_cursor.clone();
            let last = next_cursor.is_none();
            self.commit(&sync, &checkpoint, &pass, &mut run, diff)
                .await?;
            self.state.usage.add(
                &sync.tenant,
                &sync.connection,
                crate::usage::metric::SYNC_ITEMS,
                items,
            );
            if last {
                break;
            }
            pages_this_turn += 1;
            if pages_this_turn >= self.settings.max_pages_per_turn
                || turn_started.elapsed() >= self.settings.max_turn
            {
                metrics::counter!("sync_turns_yielded_total").increment(1);
                return self
                    .stop(&sync, checkpoint, pass, run, RunStatus::Yielded, None)
                    .await;
            }
        }

        if pass.full {
            self.commit_deletions(&sync, &mut checkpoint, &pass, &mut run)
                .await?;
        }
        let overlap = self.settings.cursor_overlap.as_millis() as u64;
        checkpoint.updated_since = Some(rfc3339_of_ms(pass.started_at_ms.saturating_sub(overlap)));
        run.status = RunStatus::Succeeded;
        run.finished_at = Some(now_rfc3339());
        let finished_at = unix_now_ms();
        let interval = sync.interval_secs.saturating_mul(1000);
        let full = pass.full;
        let data = serde_json::json!({
            "connection_id": sync.connection,
            "sync_id": sync.id,
            "container_id": sync.container,
            "run_id": run.id,
            "full_pass": full,
            "counts": run.counts,
        });
        store
            .finish_run(
                &sync,
                self.tenure,
                &checkpoint,
                &run,
                Some((EventType::SyncCompleted, data)),
                |current, run| {
                    current.last_run = Some(run.clone());
                    current.next_run_at_ms = finished_at + interval;
                    if full {
                        current.last_full_pass_at_ms = Some(finished_at);
                    }
                },
            )
            .await?;
        Ok(RunOutcome {
            status: run.status,
            counts: run.counts,
        })
    }

    /// Commits one page's diff with the checkpoint after it.
    async fn commit(
        &self,
        sync: &SyncRecord,
        checkpoint: &SyncCheckpoint,
        pass: &PassState,
        run: &mut RunRecord,
        diff: PageDiff,
    ) -> Result<(), StoreError> {
        run.counts.pages += 1;
        run.counts.created += diff.counts.created;
        run.counts.updated += diff.counts.updated;
        run.counts.deleted += diff.counts.deleted;
        run.counts.unchanged += diff.counts.unchanged;
        let after = SyncCheckpoint {
            updated_since: checkpoint.updated_since.clone(),
            pass: Some(pass.clone()),
            tracked: checkpoint.tracked,
        };
        let changes = diff.changes.len();
        self.store()
            .commit_page(PageCommit {
                sync,
                seen: diff.seen,
                forget: diff.forget,
                changes: diff.changes,
                checkpoint: &after,
                run,
                tenure: self.tenure,
            })
            .await?;
        metrics::counter!("sync_changes_total").increment(changes as u64);
        Ok(())
    }

    /// At the end of a full pass: every item the sync saw that the pass did not is deleted.
    async fn commit_deletions(
        &self,
        sync: &SyncRecord,
        checkpoint: &mut SyncCheckpoint,
        pass: &PassState,
        run: &mut RunRecord,
    ) -> Result<(), StoreError> {
        let gone = self.store().unseen_in_pass(sync, pass.id).await?;
        let now = now_rfc3339();
        for batch in gone.chunks(DELETION_BATCH) {
            let mut diff = PageDiff::default();
            for (item, _) in batch {
                diff.forget.push(item.clone());
                diff.changes
                    .push(classify::deleted(sync, item.clone(), None, &now));
                diff.counts.deleted += 1;
            }
            run.counts.pages = run.counts.pages.saturating_sub(1);
            checkpoint.tracked = checkpoint
                .tracked
                .map(|n| n.saturating_sub(batch.len() as u64));
            self.commit(sync, checkpoint, pass, run, diff).await?;
        }
        Ok(())
    }

    /// Ends a run early, keeping the pass so the next run resumes it.
    async fn stop(
        &self,
        sync: &SyncRecord,
        mut checkpoint: SyncCheckpoint,
        pass: PassState,
        mut run: RunRecord,
        status: RunStatus,
        error: Option<ApiError>,
    ) -> Result<RunOutcome, StoreError> {
        let now = unix_now_ms();
        let retry_after = error
            .as_ref()
            .and_then(|e| e.retry_after_secs)
            .map(|secs| secs.saturating_mul(1000));
        run.status = status;
        run.finished_at = Some(now_rfc3339());
        run.error_code = error.as_ref().map(|e| error_code(e.code));
        run.error = error.as_ref().map(|e| e.message.clone());
        run.retry_after_ms = retry_after;
        checkpoint.pass = Some(pass);
        let next = match status {
            // The vendor's wait, or a minute when it named none.
            RunStatus::RateLimited => now + retry_after.unwrap_or(60_000),
            // Due again at once; the scheduler serves other tenants' due syncs first.
            RunStatus::Interrupted | RunStatus::Yielded => now,
            _ => now + sync.interval_secs.saturating_mul(1000),
        };
        let event = (status == RunStatus::Failed).then(|| {
            (
                EventType::SyncFailed,
                serde_json::json!({
                    "connection_id": sync.connection,
                    "sync_id": sync.id,
                    "container_id": sync.container,
                    "run_id": run.id,
                    "error": {"code": run.error_code, "message": run.error},
                }),
            )
        });
        self.store()
            .finish_run(
                sync,
                self.tenure,
                &checkpoint,
                &run,
                event,
                |current, run| {
                    current.last_run = Some(run.clone());
                    current.next_run_at_ms = next;
                },
            )
            .await?;
        Ok(RunOutcome {
            status,
            counts: run.counts,
        })
    }

    async fn renew_lease(&self, sync: &SyncRecord) -> Result<bool, StoreError> {
        let now = unix_now_ms();
        self.store()
            .renew_lease(
                &sync.tenant,
                &sync.connection,
                &sync.id,
                self.tenure,
                now,
                now + self.settings.lease.as_millis() as u64,
            )
            .await
    }
}

/// The envelope's name of an error code (`RATE_LIMITED`).
fn error_code(code: ErrorCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
