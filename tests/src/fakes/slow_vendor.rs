//! A vendor that accepts a probe connection at once (`/me`), then takes its time on listings:
//! for tarpit tests (fair slots, status writes racing a PATCH).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse as _;
use axum::routing::get;
use serde_json::json;

use super::FakeServer;

/// The running fake and how many listings reached it.
pub struct SlowVendor {
    pub server: FakeServer,
    started: Arc<AtomicUsize>,
    /// Listings being held now, and the most ever held at once.
    concurrency: Arc<Concurrency>,
}

#[derive(Default)]
struct Concurrency {
    now: AtomicUsize,
    peak: AtomicUsize,
}

/// Counts one held listing while it lives.
struct Held(Arc<Concurrency>);

impl Held {
    fn new(concurrency: &Arc<Concurrency>) -> Self {
        let now = concurrency.now.fetch_add(1, Ordering::SeqCst) + 1;
        concurrency.peak.fetch_max(now, Ordering::SeqCst);
        Self(concurrency.clone())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

impl SlowVendor {
    /// Holds every `/containers` request for `hold`, then answers `status` (an empty list on
    /// 200, a plain-text error otherwise).
    pub async fn start(hold: Duration, status: StatusCode) -> Self {
        let started = Arc::new(AtomicUsize::new(0));
        let counter = started.clone();
        let concurrency = Arc::new(Concurrency::default());
        let counted = concurrency.clone();
        let router = Router::new()
            .route(
                "/me",
                get(|| async { axum::Json(json!({"id": "u-1", "name": "Slow"})) }),
            )
            .route(
                "/containers",
                get(move || {
                    let counter = counter.clone();
                    let counted = counted.clone();
                    async move {
                        counter.fetch_add(1, Ordering::SeqCst);
                        let _held = Held::new(&counted);
                        tokio::time::sleep(hold).await;
                        if status.is_success() {
                            (status, axum::Json(json!([]))).into_response()
                        } else {
                            (status, "refused after a while").into_response()
                        }
                    }
                }),
            );
        Self {
            server: FakeServer::start(router).await,
            started,
            concurrency,
        }
    }

    pub fn origin(&self) -> String {
        self.server.origin()
    }

    /// Waits until at least `count` listings are being held (panics after 5 s).
    pub async fn wait_for_held(&self, count: usize) {
        for _ in 0..200 {
            if self.started.load(Ordering::SeqCst) >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("only {} slow calls started", self.held());
    }

    /// How many listings reached the fake.
    pub fn held(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }

    /// How many listings are being held now.
    pub fn held_now(&self) -> usize {
        self.concurrency.now.load(Ordering::SeqCst)
    }

    /// The most listings ever held at once.
    pub fn peak(&self) -> usize {
        self.concurrency.peak.load(Ordering::SeqCst)
    }
}
