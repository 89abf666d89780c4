//! The services every use case and every worker stands on: the plugin runtime and loader, the
//! store, the usage meter, the OAuth flow and token refresher, the per-source limiter of the unauthenticated
//! surfaces, and the wake-ups of the background loops. Built once in the composition root
//! (`server`); one `Arc`, so a clone is one atomic increment.
//!
//! Workers (`syncs`, `tenant_webhooks`, `vendor_webhooks`) take these and their own settings;
//! none of them reaches a face (`api`, `console`, `mcp`) or the application layer (`app`).

use std::sync::Arc;

use tokio::sync::Notify;

use crate::credentials::{OAuthFlow, Refresher};
use crate::loader::Loader;
use crate::runtime::Runtime;
use crate::source_limit::{FailureGate, LogSampler, SourceLimiter, SourceRate};
use crate::store::Store;
use crate::usage::UsageMeter;

/// Wakes the background loops when a use case gives them work, so a "run now" or a test event
/// does not wait for the next tick.
#[derive(Clone, Default)]
pub struct Background {
    /// The sync scheduler.
    pub syncs: Arc<Notify>,
    /// The tenant webhook dispatcher.
    pub deliveries: Arc<Notify>,
    /// The vendor webhook worker.
    pub inbound: Arc<Notify>,
}

/// The shared services; see the module docs.
#[derive(Clone)]
pub struct Services(Arc<ServicesParts>);

/// What [`Services`] shares; reached through `Deref`.
pub struct ServicesParts {
    /// The plugin runtime.
    pub runtime: Runtime,
    /// The hot-load transactions.
    pub loader: Loader,
    /// The store.
    pub store: Store,
    /// Usage counts per tenant and connection, and the monthly call limits.
    pub usage: UsageMeter,
    /// The OAuth flow.
    pub oauth: Arc<OAuthFlow>,
    /// The token refresher.
    pub refresher: Arc<Refresher>,
    /// Wake-ups of the background loops.
    pub background: Background,
    /// The per-source limit in front of every surface that needs no credentials.
    pub sources: SourceLimiter,
    /// Sources refused before any lookup after too many wrong API keys.
    pub auth_failures: FailureGate,
    /// The sampled log line of refusals on those surfaces.
    pub refusal_log: LogSampler,
    /// This host's public base URL (`public_url`, else `http://LISTEN`), for links it hands
    /// out.
    pub public_url: String,
}

impl Services {
    /// Services over `loader`'s runtime and `store`.
    pub fn new(
        loader: Loader,
        store: Store,
        usage: UsageMeter,
        oauth: Arc<OAuthFlow>,
        refresher: Arc<Refresher>,
        sources: SourceRate,
        public_url: String,
    ) -> Self {
        let cluster = loader.runtime().cluster_view().clone();
        let auth_failures = FailureGate::new(sources, cluster.clone());
        let sources = SourceLimiter::new(sources, cluster);
        Self(Arc::new(ServicesParts {
            runtime: loader.runtime().clone(),
            loader,
            store,
            usage,
            oauth,
            refresher,
            background: Background::default(),
            sources,
            auth_failures,
            refusal_log: LogSampler::default(),
            public_url,
        }))
    }
}

impl std::ops::Deref for Services {
    type Target = ServicesParts;

    fn deref(&self) -> &ServicesParts {
        &self.0
    }
}
