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

use crate::api::{AppState, AuthSettings, router};
use crate::config::HostConfig;
use crate::credentials::{OAuthFlow, Refresher, TokenClient};
use crate::egress::EgressClient;
use crate::loader::{Loader, PluginDirWatcher};
use crate::runtime::{Runtime, RuntimeOptions};
use crate::store::{KeyRing, Store};

/// Installs the process-wide rustls crypto provider (ring). Without one, the first HTTPS
/// request panics. Calling it again is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Opens the store with the configured key ring (shared by `serve` and the offline CLI).
pub fn open_store(config: &HostConfig) -> anyhow::Result<Store> {
    let keys = KeyRing::load(
        &config.data_dir,
        config.master_key.as_ref().map(|k| k.expose()),
    )?;
    Store::open(&config.store_dir(), keys)
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
    pub local_addr: SocketAddr,
    pub runtime: Runtime,
    pub store: Store,
    /// Where the admin token was read or generated, when it came from a file.
    pub admin_token_file: Option<PathBuf>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    sweeper: JoinHandle<()>,
    _watcher: Option<PluginDirWatcher>,
}

/// Refreshes tokens of idle OAuth connections before they lapse, every `interval`.
fn spawn_sweeper(refresher: Arc<Refresher>, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let refreshed = refresher.sweep(interval).await;
            if refreshed > 0 {
                tracing::info!(refreshed, "refreshed tokens of idle connections");
            }
        }
    })
}

impl Server {
    /// Opens the store, builds the runtime, loads the plugins dir, binds and starts serving.
    pub async fn start(config: HostConfig) -> anyhow::Result<Self> {
        install_crypto_provider();
        let store = open_store(&config)?;
        let (token, token_source) = admin_token(&config)?;
        let auth = AuthSettings::new(&token, config.trust_tenant_header);
        drop(token);

        let egress = EgressClient::new(config.egress_policy()?)?;
        let runtime_egress = egress.clone();
        let options = RuntimeOptions {
            limits: config.runtime_limits(),
            pooling: config.pooling_allocator,
            cache_dir: config
                .compile_cache
                .then(|| config.data_dir.join("compile-cache")),
        };
        let runtime = Runtime::new(options, runtime_egress)?;
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
            Duration::from_secs(config.oauth_sweep_interval_secs.max(1)),
        );
        let app = router(AppState::new(loader, store.clone(), auth, oauth, refresher));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
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
            shutdown: Some(shutdown),
            task,
            sweeper,
            _watcher: watcher,
        })
    }

    /// Stops accepting, lets requests in flight finish, flushes the store, and returns.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.sweeper.abort();
        self.task
            .await
            .context("server task failed")?
            .context("server failed")?;
        self.store.flush().await.context("flushing the store")?;
        Ok(())
    }
}
