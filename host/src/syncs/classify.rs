//! Compares a page of items with what a sync saw before: created, updated, unchanged, and
//! deleted (tombstones of items it saw). An item's identity is its id, its content the SHA-256
//! of its unified view (without the vendor's JSON, whose volatile fields would report changes
//! nobody can see).

use sha2::{Digest as _, Sha256};

use crate::connection::views::{FromRecord as _, ItemView};
use crate::runtime::wit;
use crate::store::{
    ChangeKind, ChangeObject, NewChange, PassState, RunCounts, SeenRecord, Store, StoreError,
    SyncRecord, now_rfc3339,
};

/// What a page changes.
#[derive(Default)]
pub struct PageDiff {
    pub seen: Vec<(String, SeenRecord)>,
    pub forget: Vec<String>,
    pub changes: Vec<NewChange>,
    pub counts: RunCounts,
}

/// Hex of the first 16 bytes of SHA-256 over `view`.
fn content_hash(view: &serde_json::Value) -> String {
    let bytes = serde_json::to_vec(view).unwrap_or_default();
    hex::encode(&Sha256::digest(&bytes)[..16])
}

/// Classifies one page of `sync`'s pass.
pub async fn classify(
    store: &Store,
    sync: &SyncRecord,
    pass: &PassState,
    page: wit::ItemPage,
    now_ms: u64,
) -> Result<PageDiff, StoreError> {
    let mut diff = PageDiff::default();
    let now = now_rfc3339();
    // An item may appear twice in one page (vendors reorder while paging): the last wins.
    let mut in_page = std::collections::HashMap::new();
    for item in page.entries {
        let id = item.id.clone();
        let updated_at = item.updated_at.clone();
        let view = serde_json::to_value(ItemView::from_record(item, false))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        in_page.insert(id, (view, updated_at));
    }
    let mut ids: Vec<_> = in_page.keys().cloned().collect();
    ids.sort();
    for id in ids {
        let Some((view, updated_at)) = in_page.remove(&id) else {
            continue;
        };
        let hash = content_hash(&view);
        let before = store.seen(sync, &id).await?;
        let kind = match &before {
            None => Some(ChangeKind::Created),
            Some(seen) if seen.hash != hash => Some(ChangeKind::Updated),
            Some(_) => None,
        };
        let pass_mark = if pass.full {
            pass.id
        } else {
            before.as_ref().map_or(pass.id, |seen| seen.pass)
        };
        match kind {
            Some(kind) => {
                if kind == ChangeKind::Created {
                    diff.counts.created += 1;
                } else {
                    diff.counts.updated += 1;
                }
                diff.changes.push(NewChange {
                    kind,
                    object: ChangeObject::Item,
                    container_id: sync.container.clone(),
                    item_id: id.clone(),
                    comment_id: None,
                    occurred_at: updated_at.unwrap_or_else(|| now.clone()),
                    sync_id: Some(sync.id.clone()),
                    item: Some(view),
                    comment: None,
                });
            }
            None => diff.counts.unchanged += 1,
        }
        // An unchanged item is written again only when a full pass must mark it seen.
        if kind.is_some() || before.as_ref().is_some_and(|seen| seen.pass != pass_mark) {
            diff.seen.push((
                id,
                SeenRecord {
                    hash,
                    container: sync.container.clone(),
                    last_seen_at_ms: now_ms,
                    pass: pass_mark,
                },
            ));
        }
    }
    for tombstone in page.deleted {
        let seen_now = diff.seen.iter().any(|(id, _)| *id == tombstone.id);
        // Only what this sync reported before can be reported gone; an item listed on this
        // very page is alive, whatever the tombstone says.
        if seen_now || store.seen(sync, &tombstone.id).await?.is_none() {
            continue;
        }
        if diff.forget.contains(&tombstone.id) {
            continue;
        }
        diff.counts.deleted += 1;
        diff.forget.push(tombstone.id.clone());
        diff.changes
            .push(deleted(sync, tombstone.id, tombstone.deleted_at, &now));
    }
    Ok(diff)
}

/// A deletion event of `item`.
pub fn deleted(
    sync: &SyncRecord,
    item: String,
    deleted_at: Option<String>,
    now: &str,
) -> NewChange {
    NewChange {
        kind: ChangeKind::Deleted,
        object: ChangeObject::Item,
        container_id: sync.container.clone(),
        item_id: item,
        comment_id: None,
        occurred_at: deleted_at.unwrap_or_else(|| now.to_owned()),
        sync_id: Some(sync.id.clone()),
        item: None,
        comment: None,
    }
}
