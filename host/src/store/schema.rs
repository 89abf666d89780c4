//! The store's schema version: the layout of its trees and records as this host writes them.
//! Every change of layout is one numbered migration, run in order when the store opens and
//! recorded as it completes, so a host started on an older store brings it up to date once,
//! and one interrupted mid-way resumes where it stopped (each migration is idempotent).
//!
//! A store written by a newer host (a higher version than this one knows) is refused at open,
//! naming both versions: after a rollback of the binary the older host never reads records it
//! does not understand, nor writes over them.

use anyhow::{Context as _, bail};

use super::Sled;

/// The schema this host writes.
pub const SCHEMA_VERSION: u64 = 2;

/// Where the version is kept, in the `meta` tree.
const VERSION_KEY: &[u8] = b"schema_version";

/// One step of layout: the version it brings the store to, what it does, and how.
struct Migration {
    to: u64,
    what: &'static str,
    run: fn(&Sled) -> anyhow::Result<()>,
}

/// Every migration, in order; a store without a recorded version is at version 1 (the layout
/// before versions were kept).
const MIGRATIONS: &[Migration] = &[Migration {
    to: 2,
    what: "index API keys issued before the id index existed",
    run: |store| Ok(store.index_legacy_api_keys()?),
}];

impl Sled {
    /// The schema version recorded in the store: 1 when none is recorded (a store written
    /// before versions were kept), `None` for a store that holds nothing yet.
    fn schema_version(&self, existed: bool) -> anyhow::Result<Option<u64>> {
        match self.meta.get(VERSION_KEY)? {
            Some(bytes) => {
                let bytes: [u8; 8] = bytes
                    .as_ref()
                    .try_into()
                    .context("the store's schema version is unreadable")?;
                Ok(Some(u64::from_be_bytes(bytes)))
            }
            None if existed => Ok(Some(1)),
            None => Ok(None),
        }
    }

    fn record_schema_version(&self, version: u64) -> anyhow::Result<()> {
        self.meta.insert(VERSION_KEY, &version.to_be_bytes())?;
        self.db.flush().context("recording the schema version")?;
        Ok(())
    }

    /// Brings the store to [`SCHEMA_VERSION`], or refuses one a newer host wrote. `existed`:
    /// the store was on disk before this open.
    pub(super) fn migrate(&self, existed: bool) -> anyhow::Result<()> {
        let Some(found) = self.schema_version(existed)? else {
            // A new store starts at the current layout: nothing to migrate.
            return self.record_schema_version(SCHEMA_VERSION);
        };
        if found > SCHEMA_VERSION {
            bail!(
                "the store has schema version {found}, written by a newer connector-host; this \
                 host reads versions up to {SCHEMA_VERSION}: run the newer host, or restore the \
                 backup taken before the upgrade"
            );
        }
        for migration in MIGRATIONS.iter().filter(|m| m.to > found) {
            tracing::info!(
                to = migration.to,
                what = migration.what,
                "migrating the store"
            );
            (migration.run)(self)
                .with_context(|| format!("migrating the store to version {}", migration.to))?;
            self.record_schema_version(migration.to)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::KeyRing;

    fn open(dir: &std::path::Path) -> anyhow::Result<Sled> {
        Sled::open(&dir.join("db"), KeyRing::load(dir, None)?)
    }

    #[test]
    fn a_store_written_by_a_newer_host_is_refused_and_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).unwrap();
        assert_eq!(
            store.schema_version(true).unwrap(),
            Some(SCHEMA_VERSION),
            "a new store starts at the current version"
        );
        store.record_schema_version(SCHEMA_VERSION + 1).unwrap();
        drop(store);
        let error = open(dir.path()).err().expect("refused").to_string();
        assert!(
            error.contains(&format!("schema version {}", SCHEMA_VERSION + 1))
                && error.contains("newer connector-host"),
            "{error}"
        );
        // Nothing was rewritten: the newer host still finds its version.
        let db = sled::open(dir.path().join("db")).unwrap();
        let meta = db.open_tree("meta").unwrap();
        let version = meta.get(VERSION_KEY).unwrap().unwrap();
        assert_eq!(version.as_ref(), (SCHEMA_VERSION + 1).to_be_bytes());
    }

    #[test]
    fn an_unversioned_store_is_migrated_once_and_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).unwrap();
        // As a store written before versions were kept.
        store.meta.remove(VERSION_KEY).unwrap();
        store.db.flush().unwrap();
        drop(store);
        let store = open(dir.path()).unwrap();
        assert_eq!(store.schema_version(true).unwrap(), Some(SCHEMA_VERSION));
    }
}
