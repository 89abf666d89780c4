//! The composition root: reads the configuration, builds the store, runtime, loader, the
//! shared services, the workers and the application, serves the faces, and stops them all in
//! order. The only module that stands above every other.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

mod http;

pub use http::ServerLimits;

use crate::api::{metrics_handle, metrics_router};
use crate::app::{App, AuthSettings, KeyRateLimit};
use crate::background_task::BackgroundTask;
use crate::config::HostConfig;
use crate::credentials::{OAuthFlow, Refresher, TokenClient};
use crate::egress::EgressClient;
use crate::loader::{Loader, PluginDirWatcher};
use crate::runtime::{CacheKey, Membership, Runtime, RuntimeOptions};
use crate::services::Services;
use crate::store::{KeyRing, Store};
use crate::syncs::{SyncScheduler, Syncs};
use crate::tenant_webhooks::{Dispatcher, TenantWebhooks};
use crate::vendor_webhooks::{InboundWorker, VendorWebhooks};

/// Installs the process-wide rustls crypto provider (ring). Without one, the first HTTPS
/// request panics. Calling it again is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Opens the configured store with the configured key ring (shared by `serve` and the
/// offline CLI): the embedded one under `DATA_DIR/store`, or PostgreSQL.
pub async fn open_store(config: &HostConfig) -> anyhow::Result<Store> {
    let settings = &config.store;
    if !settings.is_embedded() && !settings.is_postgres() {
        anyhow::bail!(
            "store.url must be `sled` or a PostgreSQL URL (postgres://user:password@host:port/database)"
        );
    }
    // Hosts sharing a database must seal with the same key: one generated into this host's
    // data dir would seal what no other host can open.
    if settings.is_postgres() && config.master_key.is_none() {
        anyhow::bail!(
            "a PostgreSQL store needs master_key (CONNECTOR_HOST_MASTER_KEY), the same on every host"
        );
    }
    let keys = KeyRing::load(
        &config.data_dir,
        config.master_key.as_ref().map(|k| k.expose()),
    )?;
    if settings.is_postgres() {
        Store::connect(settings, keys).await
    } else {
        Store::open(&config.store_dir(), keys)
    }
}

/// Where the admin token comes from.
pub enum AdminTokenSource {
    Configured,
    File(PathBuf),
}

/// The configured admin token, or the one in `DATA_DIR/admin-token`, generated (mode 0600)
/// on first start.
fn admin_token(config: &HostConfig) -> anyhow::Result<(String, AdminTokenSource)> {
    if let Some(token) = &config.admin_token {
        anyhow::ensure!(
            token.expose().len() >= 16,
            "admin_token must be at least 16 characters"
        );
        return Ok((token.expose().to_owned(), AdminTokenSource::Configured));
    }
    let path = config.data_dir.join("admin-token");
    if let Ok(token) = std::fs::read_to_string(&path) {
        return Ok((token.trim().to_owned(), AdminTokenSource::File(path)));
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| anyhow::anyhow!("no randomness available"))?;
    let token = format!("cha_{}", URL_SAFE_NO_PAD.encode(bytes));
    write_private(&path, &token)?;
    Ok((token, AdminTokenSource::File(path)))
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// A running server: its address, runtime, store, and a handle to stop it.
pub struct Server {
    /// The address the host listens on.
    pub local_addr: SocketAddr,
    /// The plugin runtime.
    pub runtime: Runtime,
    /// The store.
    pub store: Store,
    /// Where the admin token was read or generated, when it came from a file.
    pub admin_token_file: Option<PathBuf>,
    /// The address `/metrics` is served on by itself, when `metrics_listen` is set.
    pub metrics_addr: Option<SocketAddr>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    metrics_task: Option<(oneshot::Sender<()>, JoinHandle<std::io::Result<()>>)>,
    sweeper: JoinHandle<()>,
    watcher: Option<PluginDirWatcher>,
    /// Applies other hosts' plugin registry changes (shared store only).
    registry_follower: Option<BackgroundTask>,
    /// Flushes usage counts to the store.
    usage_task: Option<BackgroundTask>,
    /// This host's share of the call caps (shared store only).
    membership: Option<Membership>,
    syncs: Option<SyncScheduler>,
    dispatcher: Option<Dispatcher>,
    inbound: Option<InboundWorker>,
}

/// What the sweeper keeps bounded besides OAuth authorizations.
#[derive(Clone, Copy)]
struct Retention {
    audit_max_age: Option<Duration>,
    audit_max_events_per_tenant: usize,
}

/// Every `interval`: samples the queues' depths for the gauges, refreshes tokens of idle OAuth
/// connections before they lapse, and deletes
/// expired OAuth authorizations and console sessions and audit events past retention, so
/// abandoned flows and old records do not grow the store.
fn spawn_sweeper(
    refresher: Arc<Refresher>,
    store: Store,
    interval: Duration,
    retention: Retention,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match store.queue_depths(crate::store::unix_now_ms()).await {
                Ok(depths) => {
                    metrics::gauge!("sync_runs_due").set(depths.syncs_due as f64);
                    metrics::gauge!("webhook_deliveries_due").set(depths.deliveries_due as f64);
                    metrics::gauge!("vendor_webhooks_queued").set(depths.inbound_queued as f64);
                }
                Err(error) => tracing::warn!(%error, "could not read the queues' depths"),
            }
            let refreshed = refresher.sweep(interval).await;
            if refreshed > 0 {
                tracing::info!(refreshed, "refreshed tokens of idle connections");
            }
            match store
                .sweep_oauth_sessions(crate::credentials::unix_now())
                .await
            {
                Ok(0) => {}
                Ok(swept) => tracing::info!(swept, "expired OAuth authorizations deleted"),
                Err(error) => tracing::warn!(%error, "could not sweep OAuth authorizations"),
            }
            if let Err(error) = store
                .sweep_console_sessions(crate::credentials::unix_now())
                .await
            {
                tracing::warn!(%error, "could not sweep console sessions");
            }
            if let Err(error) = store.sweep_mcp_grants(crate::credentials::unix_now()).await {
                tracing::warn!(%error, "could not sweep MCP clients' grants");
            }
            match store
                .sweep_audit(
                    std::time::SystemTime::now(),
                    retention.audit_max_age,
                    retention.audit_max_events_per_tenant,
                )
                .await
            {
                Ok(0) => {}
                Ok(swept) => tracing::info!(swept, "audit events past retention deleted"),
                Err(error) => tracing::warn!(%error, "could not apply audit retention"),
            }
        }
    })
}

/// The HTTP server's limits in force.
fn server_limits(config: &HostConfig) -> ServerLimits {
    ServerLimits {
        header_read_timeout: Duration::from_millis(config.server.header_read_timeout_ms),
        max_connections: config.server.max_connections.max(1),
        ..ServerLimits::default()
    }
}

impl Server {
    /// Opens the store, builds the runtime, loads the plugins dir, binds and starts serving.
    pub async fn start(config: HostConfig) -> anyhow::Result<Self> {
        install_crypto_provider();
        config.check()?;
        let store = open_store(&config).await?;
        let (token, token_source) = admin_token(&config)?;
        let auth = AuthSettings::new(&token, config.trust_tenant_header)
            .with_gateway_secret(config.gateway_secret.as_ref().map(|s| s.expose()))
            .with_key_rate(KeyRateLimit {
                per_second: config.limits.api_key_requests_per_second,
                burst: config.limits.api_key_burst,
            })?;
        drop(token);

        let egress = EgressClient::new(config.egress_policy()?)?;
        let runtime_egress = egress.clone();
        let options = RuntimeOptions {
            limits: config.runtime_limits(),
            sql: config.sql.clone().bounded(),
            pooling: config.pooling_allocator,
            profiler: config.wasm_profiler,
            cache_dir: config.compile_cache.then(|| {
                config
                    .compile_cache_dir
                    .clone()
                    .unwrap_or_else(|| config.data_dir.join("compile-cache"))
            }),
            cache_key: Some(CacheKey::new(match config.compile_cache_key()? {
                Some(key) => key,
                None => store.keys().derive_key("compile-cache-mac"),
            })),
            oauth_pinned: config
                .oauth
                .iter()
                .filter(|(_, settings)| settings.token_url.is_some())
                .map(|(id, _)| id.clone())
                .collect(),
        };
        let runtime = Runtime::new(options, runtime_egress)?;
        let auth = auth.with_cluster(runtime.cluster_view().clone());
        // On a shared store the call caps are shared by the live hosts.
        let membership = match store.backend() {
            "postgres" => Some(Membership::join(store.clone(), &runtime).await?),
            _ => None,
        };
        let loader = Loader::new(runtime.clone(), store.clone(), config.loader_settings()?);
        let plugins_dir = config.plugins_dir();
        let watcher = if plugins_dir.is_dir() {
            let plugins_dir = plugins_dir.canonicalize().unwrap_or(plugins_dir);
            let count = loader.load_dir(&plugins_dir, "host").await?;
            tracing::info!(dir = %plugins_dir.display(), count, "plugins loaded");
            if config.watch_plugins_dir {
                Some(PluginDirWatcher::start(
                    loader.clone(),
                    &plugins_dir,
                    Duration::from_millis(config.plugin_watch_debounce_ms),
                )?)
            } else {
                None
            }
        } else {
            tracing::warn!(dir = %plugins_dir.display(), "plugins dir does not exist; no connectors loaded (upload them with PUT /admin/v1/plugins/{{id}})");
            None
        };

        // The admin API's uploads, rollbacks and unloads, as the store recorded them, stand over
        // the directory's versions; on a shared store, other hosts' changes keep arriving.
        let changed = loader
            .follow_registry()
            .await
            .context("reading the plugin registry")?;
        if changed > 0 {
            tracing::info!(changed, "plugin registry changes from the store applied");
        }
        let registry_follower =
            (store.backend() == "postgres").then(|| loader.follow_registry_in_background());

        if let Some(membership) = &membership {
            membership.settled().await;
        }
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("could not listen on {}", config.listen))?;
        let local_addr = listener.local_addr()?;
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local_addr}"));
        let tokens = TokenClient::new(egress);
        let oauth = Arc::new(OAuthFlow::new(
            store.clone(),
            runtime.clone(),
            tokens.clone(),
            config.oauth.clone(),
            &public_url,
            Duration::from_secs(config.oauth_state_ttl_secs),
            config.quotas.max_pending_oauth_sessions_per_tenant,
        ));
        let refresher = Arc::new(Refresher::new(
            store.clone(),
            runtime.clone(),
            tokens,
            config.oauth.clone(),
            Duration::from_secs(config.oauth_refresh_margin_secs),
        ));
        let sweeper = spawn_sweeper(
            refresher.clone(),
            store.clone(),
            Duration::from_secs(config.oauth_sweep_interval_secs.max(1)),
            Retention {
                audit_max_age: (config.quotas.audit_max_age_days > 0)
                    .then(|| Duration::from_secs(config.quotas.audit_max_age_days * 86_400)),
                audit_max_events_per_tenant: config.quotas.audit_max_events_per_tenant.max(1),
            },
        );
        let usage = crate::usage::UsageMeter::new(store.clone(), config.usage.clone());
        let usage_task = usage.start();
        let services = Services::new(
            loader,
            store.clone(),
            usage,
            oauth,
            refresher,
            config.source_rate(),
            public_url.clone(),
        );
        let workers = (
            Syncs::new(services.clone(), config.syncs.clone().bounded()),
            TenantWebhooks::new(services.clone(), config.webhooks.clone().bounded()),
            VendorWebhooks::new(services.clone(), config.vendor_webhooks.clone().bounded()),
        );
        let state = App::new(
            services,
            workers,
            auth,
            metrics_handle(),
            config.app_settings(),
        )?;
        let syncs = if config.syncs.enabled {
            Some(SyncScheduler::start(state.syncs.clone()).await?)
        } else {
            None
        };
        let inbound = Some(InboundWorker::start(state.vendor_webhooks.clone()));
        let dispatcher = Some(Dispatcher::start(
            store.clone(),
            state.usage.clone(),
            (*state.tenant_webhooks.settings).clone(),
            state.background.deliveries.clone(),
        )?);
        let mut metrics_addr = None;
        let metrics_task = match config.metrics_listen {
            Some(address) => {
                let listener = TcpListener::bind(address)
                    .await
                    .with_context(|| format!("could not listen on {address} for metrics"))?;
                metrics_addr = Some(listener.local_addr()?);
                tracing::info!(address = %listener.local_addr()?, "metrics listening");
                let (stop, stopped) = oneshot::channel::<()>();
                let app = metrics_router(state.clone());
                let limits = server_limits(&config);
                let task = tokio::spawn(http::serve(listener, app, limits, stopped));
                Some((stop, task))
            }
            None => None,
        };
        let faces = crate::api::router()
            .merge(crate::console::router())
            .merge(crate::mcp::router(state.clone()));
        let app = crate::api::with_shared_layers(faces, state);
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(http::serve(listener, app, server_limits(&config), stopped));
        tracing::info!(%local_addr, "listening");
        let admin_token_file = match token_source {
            AdminTokenSource::File(path) => Some(path),
            AdminTokenSource::Configured => None,
        };
        Ok(Self {
            local_addr,
            runtime,
            store,
            admin_token_file,
            metrics_addr,
            shutdown: Some(shutdown),
            task,
            metrics_task,
            sweeper,
            watcher,
            registry_follower,
            membership,
            syncs,
            dispatcher,
            inbound,
            usage_task: Some(usage_task),
        })
    }

    /// Stops accepting, lets requests in flight finish, flushes the store, and returns.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        // Every task below holds the store (through the loader or the API state); an aborted
        // task is only freed when the runtime next polls it, so each one is awaited, and the
        // data dir is free for another host, or a restart in this process, when this returns.
        self.sweeper.abort();
        let _ = (&mut self.sweeper).await;
        if let Some(syncs) = self.syncs.take() {
            syncs.stop().await;
        }
        if let Some(dispatcher) = self.dispatcher.take() {
            dispatcher.stop().await;
        }
        if let Some(inbound) = self.inbound.take() {
            inbound.stop().await;
        }
        if let Some(watcher) = self.watcher.take() {
            watcher.stop().await;
        }
        if let Some(follower) = self.registry_follower.take() {
            follower.stop().await;
        }
        if let Some((stop, task)) = self.metrics_task.take() {
            let _ = stop.send(());
            let _ = task.await;
        }
        (&mut self.task)
            .await
            .context("server task failed")?
            .context("server failed")?;
        // After the last call: its usage is in the final flush.
        if let Some(usage) = self.usage_task.take() {
            usage.stop().await;
        }
        // Every call has finished: the others may take this host's share now.
        if let Some(membership) = self.membership.take() {
            membership.leave().await;
        }
        self.store.flush().await.context("flushing the store")?;
        Ok(())
    }
}
