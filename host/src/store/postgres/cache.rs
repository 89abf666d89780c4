//! What every call reads (the API key, the connection, its credential), kept per host so a
//! call in the steady state makes no round trip to the database.
//!
//! Every write of those records sends `NOTIFY store_changed` with what changed, inside its
//! transaction, so the notice goes out when (and only if) the write commits. Each host listens
//! on a connection of its own and drops what a notice names; a host drops the entries it wrote
//! itself at once. While the listening connection is down (the database restarted, the network
//! broke) nothing is served from the cache and it is emptied, so a notice missed meanwhile
//! can never leave a stale entry behind; when it is back, the cache fills again.
//!
//! An entry is put only when no notice arrived between the read and the put (a generation
//! count), so a read that raced a write never caches the older value. Another host's write
//! reaches this host's cache within the notice's delay (milliseconds on one network). The
//! refresher's compare-and-swap reads the credential from the database, never from here.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt as _;

use crate::store::{ApiKeyRecord, BoundCredential, ConnectionRecord};

/// The channel writes notify on.
pub(super) const CHANNEL: &str = "store_changed";

/// Most entries kept; past it the cache starts again empty (it refills with what is read).
const MAX_ENTRIES: usize = 50_000;

/// Longest an entry is served: a bound on staleness even for a change no notice announced (a
/// row edited by hand in the database).
const MAX_AGE: Duration = Duration::from_secs(30);

/// What a notice names: `k:<key digest>`, `c:<tenant>/<connection>` (the record and the
/// credential), or `*` (everything, after a bulk change).
pub(super) fn connection_topic(tenant: &str, connection: &str) -> String {
    format!("c:{tenant}/{connection}")
}

pub(super) fn api_key_topic(digest: &str) -> String {
    format!("k:{digest}")
}

#[derive(Clone)]
pub(super) enum Entry {
    ApiKey(ApiKeyRecord),
    Connection(ConnectionRecord),
    Credential(BoundCredential),
}

/// The entries one topic invalidates together, by record kind, with when each was put.
type Slot = HashMap<u8, (std::time::Instant, Entry)>;

pub(super) struct ReadCache {
    /// The listener is connected and listening: only then is anything served or kept.
    live: AtomicBool,
    /// Bumped by every invalidation; a read puts its result only if it did not move.
    generation: AtomicU64,
    /// By topic, so a notice drops its entries without looking at any other.
    entries: Mutex<HashMap<String, Slot>>,
}

impl ReadCache {
    pub fn new() -> Self {
        Self {
            live: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The entry, when the cache is live and holds it.
    pub fn get(&self, topic: &str, kind: u8) -> Option<Entry> {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        self.map()
            .get(topic)
            .and_then(|slot| slot.get(&kind))
            .filter(|(put_at, _)| put_at.elapsed() < MAX_AGE)
            .map(|(_, entry)| entry.clone())
    }

    /// Where a read starts: put its result with this generation.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps what a read found, unless a notice arrived since it began.
    pub fn put(&self, topic: String, kind: u8, entry: Entry, read_at: u64) {
        if !self.live.load(Ordering::Acquire) {
            return;
        }
        let mut map = self.map();
        // Checked under the lock invalidations take, so none slips between check and put.
        if self.generation.load(Ordering::Acquire) != read_at {
            return;
        }
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.entry(topic)
            .or_default()
            .insert(kind, (std::time::Instant::now(), entry));
    }

    /// Drops what `topic` names (`*`: everything).
    pub fn invalidate(&self, topic: &str) {
        let mut map = self.map();
        self.generation.fetch_add(1, Ordering::AcqRel);
        if topic == "*" {
            map.clear();
        } else {
            map.remove(topic);
        }
    }

    fn set_live(&self, live: bool) {
        let mut map = self.map();
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.clear();
        self.live.store(live, Ordering::Release);
    }
}

/// Listens for notices for as long as the store lives: connects, `LISTEN`s, goes live; on any
/// failure goes dark (empty, unused) and connects again after a pause.
pub(super) async fn listen<T>(
    cache: std::sync::Weak<super::Inner>,
    config: tokio_postgres::Config,
    tls: T,
) where
    T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket> + Clone + Send + 'static,
    T::Stream: Send,
    T::TlsConnect: Send,
    <T::TlsConnect as tokio_postgres::tls::TlsConnect<tokio_postgres::Socket>>::Future: Send,
{
    let mut pause = Duration::from_millis(100);
    loop {
        let Some(inner) = cache.upgrade() else {
            return;
        };
        match config.connect(tls.clone()).await {
            Ok((client, mut connection)) => {
                let (sender, mut notices) = futures::channel::mpsc::unbounded();
                let driver = tokio::spawn(async move {
                    let mut messages =
                        futures::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(tokio_postgres::AsyncMessage::Notification(notice)) => {
                                if sender.unbounded_send(notice.payload().to_owned()).is_err() {
                                    return;
                                }
                            }
                            Ok(_) => {}
                            Err(_) => return,
                        }
                    }
                });
                if client
                    .batch_execute(&format!("LISTEN {CHANNEL}"))
                    .await
                    .is_ok()
                {
                    inner.cache.set_live(true);
                    pause = Duration::from_millis(100);
                    drop(inner);
                    while let Some(topic) = notices.next().await {
                        let Some(inner) = cache.upgrade() else {
                            return;
                        };
                        inner.cache.invalidate(&topic);
                    }
                } else {
                    drop(inner);
                }
                driver.abort();
                drop(client);
            }
            Err(error) => {
                tracing::warn!(%error, "the store's change listener could not connect");
                drop(inner);
            }
        }
        if let Some(inner) = cache.upgrade() {
            inner.cache.set_live(false);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}
